/**
 * Durations (`25s`, `10m`, `720h`, `30d`, `1w`, `1h30m`, `500ms`) and sizes (`100MB`, `4GiB`, plain
 * bytes). Decimal units (KB, MB, GB, TB) are powers of 1000, binary units (KiB, MiB, GiB, TiB) powers
 * of 1024.
 *
 * @module
 */

/** Milliseconds per duration unit (the configuration's units; PromQL adds `y`). */
export const DURATION_UNITS: Readonly<Record<string, number>> = {
  ms: 1,
  s: 1_000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 604_800_000,
};

const SIZE_UNITS: Readonly<Record<string, number>> = {
  b: 1,
  kb: 1e3,
  mb: 1e6,
  gb: 1e9,
  tb: 1e12,
  kib: 2 ** 10,
  mib: 2 ** 20,
  gib: 2 ** 30,
  tib: 2 ** 40,
  k: 2 ** 10,
  m: 2 ** 20,
  g: 2 ** 30,
  t: 2 ** 40,
};

/**
 * Parses a duration to milliseconds.
 *
 * @example
 * ```ts
 * import { parseDuration } from "./units.ts";
 * if (parseDuration("1h30m") !== 5_400_000) throw new Error();
 * if (parseDuration("1w") !== 7 * 86_400_000) throw new Error();
 * ```
 */
export function parseDuration(text: string): number {
  const s = text.trim().toLowerCase();
  if (s === "0") return 0;
  const re = /(\d+(?:\.\d+)?)(ms|s|m|h|d|w)/g;
  let total = 0;
  let consumed = 0;
  for (const match of s.matchAll(re)) {
    if (match.index !== consumed) break;
    total += Number(match[1]) * DURATION_UNITS[match[2]];
    consumed += match[0].length;
  }
  if (consumed === 0 || consumed !== s.length) {
    throw new RangeError(
      `"${text}" is not a duration: use a number with ms, s, m, h, d or w, like 25s, 10m, 720h, 30d, 1w`,
    );
  }
  return Math.round(total);
}

/**
 * Parses a size to bytes.
 *
 * @example
 * ```ts
 * import { parseSize } from "./units.ts";
 * if (parseSize("4GiB") !== 4 * 2 ** 30 || parseSize("100MB") !== 100e6 || parseSize("512") !== 512) throw new Error();
 * ```
 */
export function parseSize(text: string): number {
  const match = /^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$/.exec(text);
  const unit = match ? SIZE_UNITS[(match[2] || "b").toLowerCase()] : undefined;
  if (!match || unit === undefined) {
    throw new RangeError(`"${text}" is not a size: use bytes or a number with KB, MB, GB, TB, KiB, MiB, GiB, TiB`);
  }
  return Math.round(Number(match[1]) * unit);
}

/** A human-readable size with one decimal (`1.5 GiB`), for reports. */
export function humanSize(bytes: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let v = bytes;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return i === 0 ? `${v} B` : `${v.toFixed(1)} ${units[i]}`;
}
