/**
 * Five-field cron expressions (minute hour day-of-month month day-of-week), evaluated in UTC. Fields
 * accept `*`, numbers, lists (`1,15`), ranges (`1-5`) and steps (`*\/5`, `10-50/10`). Day of week is
 * 0-7 with 0 and 7 both Sunday. As in classic cron, when both day fields are restricted, a day matches
 * if either matches.
 *
 * @module
 */

/** A parsed cron expression. */
export interface Cron {
  readonly source: string;
  readonly minutes: ReadonlySet<number>;
  readonly hours: ReadonlySet<number>;
  readonly daysOfMonth: ReadonlySet<number>;
  readonly months: ReadonlySet<number>;
  readonly daysOfWeek: ReadonlySet<number>;
  readonly domRestricted: boolean;
  readonly dowRestricted: boolean;
}

const FIELDS: readonly { name: string; min: number; max: number }[] = [
  { name: "minute", min: 0, max: 59 },
  { name: "hour", min: 0, max: 23 },
  { name: "day of month", min: 1, max: 31 },
  { name: "month", min: 1, max: 12 },
  { name: "day of week", min: 0, max: 7 },
];

/**
 * Parses a five-field cron expression.
 *
 * @example
 * ```ts
 * import { nextCronTime, parseCron } from "./cron.ts";
 * const cron = parseCron("5 * * * *");
 * if (nextCronTime(cron, Date.UTC(2026, 0, 1, 10, 5)) !== Date.UTC(2026, 0, 1, 11, 5)) throw new Error();
 * ```
 */
export function parseCron(source: string): Cron {
  const parts = source.trim().split(/\s+/);
  if (parts.length !== 5) {
    throw new RangeError(`"${source}" is not a cron expression: expected 5 fields (minute hour day month weekday)`);
  }
  const sets = parts.map((part, i) => parseField(part, FIELDS[i], source));
  const dow = new Set([...sets[4]].map((d) => (d === 7 ? 0 : d)));
  return {
    source,
    minutes: sets[0],
    hours: sets[1],
    daysOfMonth: sets[2],
    months: sets[3],
    daysOfWeek: dow,
    domRestricted: parts[2] !== "*",
    dowRestricted: parts[4] !== "*",
  };
}

function parseField(part: string, field: { name: string; min: number; max: number }, source: string): Set<number> {
  const out = new Set<number>();
  for (const item of part.split(",")) {
    const m = /^(\*|(\d+)(?:-(\d+))?)(?:\/(\d+))?$/.exec(item);
    if (!m) throw new RangeError(`"${source}": cannot read ${field.name} "${item}"`);
    const step = m[4] ? Number(m[4]) : 1;
    let lo = field.min;
    let hi = field.max;
    if (m[1] !== "*") {
      lo = Number(m[2]);
      hi = m[3] !== undefined ? Number(m[3]) : m[4] ? field.max : lo;
    }
    if (lo < field.min || hi > field.max || lo > hi || step < 1) {
      throw new RangeError(`"${source}": ${field.name} "${item}" is outside ${field.min}-${field.max}`);
    }
    for (let v = lo; v <= hi; v += step) out.add(v);
  }
  return out;
}

/** The first matching minute strictly after `afterMs`, searching up to ~4 years ahead. */
export function nextCronTime(cron: Cron, afterMs: number): number {
  let t = Math.floor(afterMs / 60_000) * 60_000 + 60_000;
  const limit = t + 4 * 366 * 86_400_000;
  while (t < limit) {
    const d = new Date(t);
    if (!cron.months.has(d.getUTCMonth() + 1) || !dayMatches(cron, d)) {
      t = Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate() + 1);
      continue;
    }
    if (!cron.hours.has(d.getUTCHours())) {
      t = Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate(), d.getUTCHours() + 1);
      continue;
    }
    if (cron.minutes.has(d.getUTCMinutes())) return t;
    t += 60_000;
  }
  throw new RangeError(`"${cron.source}" never matches`);
}

function dayMatches(cron: Cron, d: Date): boolean {
  const dom = cron.daysOfMonth.has(d.getUTCDate());
  const dow = cron.daysOfWeek.has(d.getUTCDay());
  if (cron.domRestricted && cron.dowRestricted) return dom || dow;
  return dom && dow;
}
