/**
 * The UI's pure helpers (no DOM): number, byte, time and unit formatting, series keys in the URL and
 * counter rates. Kept apart from the page code so unit tests can run them under Deno.
 *
 * @module
 */

/** A raw sample of `GET /api/v1/query?tier=raw`. */
export interface RawSample {
  t: number;
  kind: string;
  valid: boolean;
  value?: number;
  value_counter?: number | string;
  value_text?: string;
}

const SI = ["", "k", "M", "G", "T", "P", "E"];

/** A number with an SI prefix and 3 significant digits: 1234567 → "1.23 M". */
export function si(v: number | null | undefined, unit = ""): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return "–";
  const a = Math.abs(v);
  if (a < 1000) return `${Number(v.toPrecision(3))}${unit ? " " + unit : ""}`;
  let i = Math.min(SI.length - 1, Math.floor(Math.log10(a) / 3));
  let m = Number((v / 1000 ** i).toPrecision(3));
  if (Math.abs(m) >= 1000 && i < SI.length - 1) m = Number((v / 1000 ** ++i).toPrecision(3)); // 999,999 → 1 M
  return `${m} ${SI[i]}${unit}`;
}

/** Bytes in binary units: 1536 → "1.5 KiB". */
export function bytes(v: number | null | undefined): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return "–";
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let i = 0;
  let x = v;
  while (Math.abs(x) >= 1024 && i < units.length - 1) {
    x /= 1024;
    i++;
  }
  return `${i === 0 ? x : Number(x.toPrecision(3))} ${units[i]}`;
}

/** How long ago `ms` was: "12 s ago", "3 min ago", "2 h ago", "5 d ago". */
export function ago(ms: number, now = Date.now()): string {
  const s = Math.round((now - ms) / 1000);
  if (s < 0) return "in the future";
  if (s < 90) return `${s} s ago`;
  if (s < 90 * 60) return `${Math.round(s / 60)} min ago`;
  if (s < 36 * 3600) return `${Math.round(s / 3600)} h ago`;
  return `${Math.round(s / 86400)} d ago`;
}

/** A local date-time, to the second. */
export function localTime(ms: number): string {
  const d = new Date(ms);
  const p = (n: number) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${
    p(d.getSeconds())
  }`;
}

/** A duration in seconds, readable: 93784 → "1 d 2 h". */
export function duration(s: number): string {
  if (s < 60) return `${Math.round(s)} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${Math.round(s % 60)} s`;
  if (s < 86400) return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
  return `${Math.floor(s / 86400)} d ${Math.floor((s % 86400) / 3600)} h`;
}

/** A series' identity as the URL carries it: the three parts, each URI-encoded, joined by "|". */
export interface SeriesId {
  namespace: string;
  target: string;
  poller: string;
}

/** `SeriesId` → URL parameter value. */
export function seriesKey(s: SeriesId): string {
  return [s.namespace, s.target, s.poller].map(encodeURIComponent).join("|");
}

/** URL parameter value → `SeriesId`, or null when malformed. */
export function parseSeriesKey(v: string): SeriesId | null {
  const parts = v.split("|");
  if (parts.length !== 3) return null;
  try {
    const [namespace, target, poller] = parts.map(decodeURIComponent);
    return { namespace, target, poller };
  } catch {
    return null;
  }
}

/** The name of a series shown to people. */
export function seriesLabel(s: SeriesId): string {
  return `${s.namespace} / ${s.target} / ${s.poller}`;
}

/** The unit of a series: per second for counters, guessed from the poller's name for bytes and bits. */
export function unitOf(poller: string, rate: boolean): string {
  const base = /octets|bytes/i.test(poller) ? "B" : /bits|bps/i.test(poller) ? "bit" : "";
  return rate ? `${base}/s` : base;
}

/** Per-second rates between consecutive valid counter samples (a decrease is a reset: no rate). */
export function counterRates(samples: RawSample[]): { xs: number[]; values: (number | null)[] } {
  const xs: number[] = [];
  const values: (number | null)[] = [];
  let prev: { t: number; c: bigint } | null = null;
  for (const s of samples) {
    if (!s.valid || s.value_counter === undefined) continue;
    const c = BigInt(s.value_counter);
    if (prev && s.t > prev.t) {
      xs.push(s.t);
      values.push(c >= prev.c ? Number(c - prev.c) / ((s.t - prev.t) / 1000) : null);
    }
    prev = { t: s.t, c };
  }
  return { xs, values };
}

/** A unit as the chart page names it. */
export function describeUnit(unit: string): string {
  if (unit === "") return "no unit";
  if (unit === "/s") return "per second (a counter's rate)";
  return unit.endsWith("/s") ? `${unit} (a counter's rate)` : unit;
}
