/**
 * Flag parsing shared by `bench/run.ts` and the suites: `--key value`, `--key=value`, `--flag` and
 * `--no-flag` (booleans must be declared, so `--quick` never swallows the next argument; a boolean
 * takes a value only inline: `--report=PATH`).
 *
 * @module
 */

/** Parsed flags by name (without the dashes). */
export type Flags = Record<string, string | boolean>;

/**
 * Parses `argv`. Names listed in `booleans` take no value; every other flag needs one.
 *
 * @example
 * ```ts
 * import { parseFlags } from "./args.ts";
 * const f = parseFlags(["--quick", "--suite", "wal,ring", "--reps=50"], ["quick"]);
 * if (f.quick !== true || f.suite !== "wal,ring" || f.reps !== "50") throw new Error();
 * ```
 */
export function parseFlags(argv: readonly string[], booleans: readonly string[] = []): Flags {
  const out: Flags = {};
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (!arg.startsWith("--")) throw new RangeError(`Unexpected argument "${arg}": flags look like --name value`);
    const [name, inline] = arg.slice(2).split(/=(.*)/s, 2);
    if (booleans.includes(name)) {
      // `--report` / `--report=false` switch; `--report=PATH` gives the switch a value
      out[name] = inline === undefined || inline === "true" ? true : inline === "false" ? false : inline;
    } else if (name.startsWith("no-") && booleans.includes(name.slice(3))) out[name.slice(3)] = false;
    else if (inline !== undefined) out[name] = inline;
    else if (i + 1 < argv.length) out[name] = argv[++i];
    else throw new RangeError(`Flag --${name} needs a value`);
  }
  return out;
}

/** A numeric flag (underscores allowed: `5_000_000`), or `fallback`. */
export function numFlag(flags: Flags, name: string, fallback: number): number {
  const v = flags[name];
  if (v === undefined || typeof v === "boolean") return fallback;
  const n = Number(v.replaceAll("_", ""));
  if (!Number.isFinite(n)) throw new RangeError(`--${name} must be a number, got "${v}"`);
  return n;
}

/** A string flag, or `fallback`. */
export function strFlag(flags: Flags, name: string, fallback: string): string {
  const v = flags[name];
  return typeof v === "string" ? v : fallback;
}

/** A comma-separated list flag, or `fallback`. */
export function listFlag(flags: Flags, name: string, fallback: readonly string[]): string[] {
  const v = flags[name];
  if (typeof v !== "string") return [...fallback];
  return v.split(",").map((s) => s.trim()).filter((s) => s !== "");
}

/** A comma-separated list of numbers, or `fallback`. */
export function numListFlag(flags: Flags, name: string, fallback: readonly number[]): number[] {
  return listFlag(flags, name, fallback.map(String)).map((s) => {
    const n = Number(s);
    if (!Number.isFinite(n)) throw new RangeError(`--${name} must be numbers separated by commas, got "${s}"`);
    return n;
  });
}
