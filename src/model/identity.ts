/**
 * The order of series identities, the same everywhere (Parquet files, the series list, merges).
 *
 * @module
 */

/**
 * Orders identities as the Parquet files do: namespace, then target, then poller (code-unit order).
 *
 * @example
 * ```ts
 * import { compareIdentity } from "./identity.ts";
 * if (compareIdentity("a", "b", "c", "a", "c", "a") >= 0) throw new Error();
 * ```
 */
export function compareIdentity(an: string, at: string, ap: string, bn: string, bt: string, bp: string): number {
  if (an !== bn) return an < bn ? -1 : 1;
  if (at !== bt) return at < bt ? -1 : 1;
  if (ap !== bp) return ap < bp ? -1 : 1;
  return 0;
}
