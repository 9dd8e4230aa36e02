/**
 * The `q` search of `GET /api/v1/series`: whitespace-separated words that must all match,
 * case-insensitively, somewhere in a series' namespace, target or poller; `namespace:`, `target:` or
 * `poller:` before a word limits it to that field.
 *
 * @module
 */
import { HttpError } from "./errors.ts";

/** A series' identity, as the search sees it. */
export interface SeriesNames {
  namespace: string;
  target: string;
  poller: string;
}

const FIELDS = ["namespace", "target", "poller"] as const;

/** The predicate for a `q` parameter (everything matches an empty one). */
export function seriesSearch(q: string | undefined): (s: SeriesNames) => boolean {
  const terms = (q ?? "").trim().split(/\s+/).filter((t) => t !== "").map((t) => {
    const m = /^(\w+):(.*)$/.exec(t);
    if (m && (FIELDS as readonly string[]).includes(m[1])) {
      if (m[2] === "") throw new HttpError(400, "invalid_parameter", `q: "${t}" has no value after the colon`);
      return { field: m[1] as typeof FIELDS[number], text: m[2].toLowerCase() };
    }
    return { field: null, text: t.toLowerCase() };
  });
  if (terms.length === 0) return () => true;
  return (s) =>
    terms.every((t) =>
      t.field ? s[t.field].toLowerCase().includes(t.text) : FIELDS.some((f) => s[f].toLowerCase().includes(t.text))
    );
}
