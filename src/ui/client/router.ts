/// <reference no-default-lib="true" />
/// <reference lib="dom" />
/// <reference lib="dom.iterable" />
/// <reference lib="esnext" />
/**
 * The page and its state live in the URL's fragment (`#/chart?s=…&from=-24h`), so every view can be
 * bookmarked and shared and the browser's back button works.
 *
 * @module
 */

/** The current page and its parameters. */
export function currentRoute(): { page: string; params: URLSearchParams } {
  const hash = location.hash.replace(/^#\/?/, "");
  const q = hash.indexOf("?");
  const page = (q < 0 ? hash : hash.slice(0, q)) || "series";
  return { page, params: new URLSearchParams(q < 0 ? "" : hash.slice(q + 1)) };
}

/** The fragment for a page and its parameters. */
export function routeHref(page: string, params?: URLSearchParams): string {
  const q = params?.toString() ?? "";
  return `#/${page}${q ? "?" + q : ""}`;
}

/**
 * Goes to a page. `replace` rewrites the current history entry without re-rendering (state a page
 * already shows, like the SQL text it just ran).
 */
export function navigate(page: string, params?: URLSearchParams, replace = false): void {
  const href = routeHref(page, params);
  if (replace) history.replaceState(null, "", href);
  else location.hash = href;
}
