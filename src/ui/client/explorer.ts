/// <reference no-default-lib="true" />
/// <reference lib="dom" />
/// <reference lib="dom.iterable" />
/// <reference lib="esnext" />
/**
 * The series explorer: a search over namespace, target and poller (`cpu target:router-1`), the last
 * value and when it came, and a link from each series to its chart. Several series can be selected and
 * charted together.
 *
 * @module
 */
import { apiJson } from "./api.ts";
import { chartHref } from "./chart.ts";
import { errorBox, h } from "./dom.ts";
import { ago, localTime, seriesKey, seriesLabel } from "./format.ts";
import { navigate } from "./router.ts";

/** A row of `GET /api/v1/series`. */
export interface SeriesRow {
  namespace: string;
  target: string;
  poller: string;
  last_timestamp_ms: number;
  kind: string;
  valid: boolean;
  value?: number;
  value_counter?: number | string;
  value_text?: string;
  error?: string;
}

const LIMIT = 500;
const REFRESH_MS = 15_000;

function lastValue(r: SeriesRow): string {
  if (!r.valid) return `failed${r.error ? ": " + r.error : ""}`;
  if (r.value !== undefined) return String(Number(r.value.toPrecision(8)));
  if (r.value_counter !== undefined) return String(r.value_counter);
  if (r.value_text !== undefined) return r.value_text.length > 80 ? r.value_text.slice(0, 79) + "…" : r.value_text;
  return "–";
}

/** Renders the explorer. */
export function renderExplorer(root: HTMLElement, params: URLSearchParams): () => void {
  let q = params.get("q") ?? "";
  const selected = new Map<string, SeriesRow>();
  const search = h("input", {
    id: "series-search",
    type: "search",
    value: q,
    placeholder: "cpu  target:router-1  namespace:prod",
    "aria-describedby": "series-help",
    autocomplete: "off",
  });
  const chartSelected = h("button", { type: "button", class: "primary", disabled: true }, "Chart selected");
  const summary = h("p", { class: "muted", id: "series-summary", "aria-live": "polite" });
  const body = h("div", { class: "table-wrap" });
  root.append(
    h("h1", {}, "Series"),
    h(
      "form",
      { class: "toolbar", role: "search", onsubmit: (e: Event) => e.preventDefault() },
      h("label", { for: "series-search", class: "sr-only" }, "Search series"),
      search,
      chartSelected,
    ),
    h(
      "p",
      { id: "series-help", class: "hint" },
      "Words match anywhere in namespace, target or poller (all must match); ",
      h("code", {}, "namespace:"),
      ", ",
      h("code", {}, "target:"),
      " and ",
      h("code", {}, "poller:"),
      " limit a word to one field. Click a namespace or target to filter by it.",
    ),
    summary,
    body,
  );

  const updateSelected = () => {
    chartSelected.disabled = selected.size === 0;
    chartSelected.textContent = selected.size ? `Chart selected (${selected.size})` : "Chart selected";
  };
  chartSelected.addEventListener("click", () => (location.hash = chartHref([...selected.values()])));

  const addFilter = (field: string, value: string) => {
    const term = /\s/.test(value) ? "" : `${field}:${value}`;
    if (term === "" || q.split(/\s+/).includes(term)) return;
    search.value = (q + " " + term).trim();
    load();
  };

  let seq = 0;
  const load = async () => {
    q = search.value.trim();
    const my = ++seq;
    const p = new URLSearchParams();
    if (q) p.set("q", q);
    navigate("series", p, true);
    const api = new URLSearchParams(p);
    api.set("limit", String(LIMIT));
    try {
      const res = await apiJson<{ series: SeriesRow[]; total: number; truncated: boolean }>(`/api/v1/series?${api}`);
      if (my !== seq) return;
      summary.textContent = res.total === 0
        ? (q ? "No series match." : "No series yet: ingest some samples (POST /api/v1/ingest).")
        : res.truncated
        ? `${res.series.length} of ${res.total} series shown: refine the search to see the others.`
        : `${res.total} series`;
      body.replaceChildren(table(res.series));
    } catch (e) {
      if (my === seq) body.replaceChildren(errorBox(e));
    }
  };

  const table = (rows: SeriesRow[]) => {
    const now = Date.now();
    return h(
      "table",
      { class: "data", id: "series-table" },
      h(
        "thead",
        {},
        h(
          "tr",
          {},
          h("th", { scope: "col" }, h("span", { class: "sr-only" }, "Select")),
          h("th", { scope: "col" }, "Namespace"),
          h("th", { scope: "col" }, "Target"),
          h("th", { scope: "col" }, "Poller"),
          h("th", { scope: "col" }, "Kind"),
          h("th", { scope: "col", class: "num" }, "Last value"),
          h("th", { scope: "col" }, "Last sample"),
        ),
      ),
      h(
        "tbody",
        {},
        rows.map((r) => {
          const key = seriesKey(r);
          return h(
            "tr",
            { "data-series": key },
            h(
              "td",
              { class: "c-sel" },
              h("input", {
                type: "checkbox",
                "aria-label": `Select ${seriesLabel(r)}`,
                checked: selected.has(key),
                onchange: (e: Event) => {
                  if ((e.target as HTMLInputElement).checked) selected.set(key, r);
                  else selected.delete(key);
                  updateSelected();
                },
              }),
            ),
            h(
              "td",
              { class: "c-ns" },
              h("button", {
                type: "button",
                class: "link",
                title: "Filter by this namespace",
                onclick: () => addFilter("namespace", r.namespace),
              }, r.namespace),
            ),
            h(
              "td",
              { class: "c-target" },
              h("button", {
                type: "button",
                class: "link",
                title: "Filter by this target",
                onclick: () => addFilter("target", r.target),
              }, r.target),
            ),
            h("td", { class: "c-poller" }, h("a", { href: chartHref([r]), class: "series-link" }, r.poller)),
            h("td", { class: "c-kind" }, r.kind),
            h("td", { class: r.valid ? "num c-value" : "num c-value bad" }, lastValue(r)),
            h(
              "td",
              { class: "c-time", title: new Date(r.last_timestamp_ms).toISOString() },
              ago(r.last_timestamp_ms, now),
              h("span", { class: "muted abs" }, " · ", localTime(r.last_timestamp_ms)),
            ),
          );
        }),
      ),
    );
  };

  let timer: ReturnType<typeof setTimeout> | undefined;
  search.addEventListener("input", () => {
    clearTimeout(timer);
    timer = setTimeout(load, 200);
  });
  load();
  search.focus();
  // Last values follow new data; not while the keyboard is in the table (a new table would lose the focus).
  const refresh = setInterval(() => {
    if (document.visibilityState === "visible" && !body.contains(document.activeElement)) load();
  }, REFRESH_MS);
  return () => {
    clearTimeout(timer);
    clearInterval(refresh);
  };
}
