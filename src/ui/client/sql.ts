/// <reference no-default-lib="true" />
/// <reference lib="dom" />
/// <reference lib="dom.iterable" />
/// <reference lib="esnext" />
/**
 * The SQL console: an editor (Ctrl+Enter runs), the result as a paged table, DuckDB's own error
 * message when the query fails, and the same query as a CSV download. The query text is kept in the
 * URL so a query can be shared.
 *
 * @module
 */
import { api, apiJson } from "./api.ts";
import { errorBox, h } from "./dom.ts";
import { navigate } from "./router.ts";

interface SqlAnswer {
  columns: { name: string; type: string }[];
  rows: unknown[][];
  truncated: boolean;
  partial: boolean;
  skipped?: { file: string; error: string }[];
  elapsed_ms: number;
}

const PAGE = 100;
const EXAMPLES: [string, string][] = [
  [
    "Newest raw samples",
    "SELECT namespace, target, poller, ts, kind, value, valid, error\nFROM raw\nORDER BY ts DESC\nLIMIT 100",
  ],
  [
    "Hourly averages, last day",
    "SELECT namespace, target, poller, bucket, avg, min, max, p95\nFROM agg_hourly\nWHERE bucket > now() - INTERVAL 1 DAY\nORDER BY bucket",
  ],
  [
    "Series per target",
    "SELECT namespace, target, count(DISTINCT poller) AS pollers, count(*) AS samples\nFROM raw\nGROUP BY ALL\nORDER BY samples DESC",
  ],
  [
    "Failed polls",
    "SELECT namespace, target, poller, ts, error\nFROM raw\nWHERE NOT valid\nORDER BY ts DESC\nLIMIT 100",
  ],
];

function cell(v: unknown): string {
  if (v === null || v === undefined) return "NULL";
  if (typeof v === "object") return JSON.stringify(v);
  return String(v);
}

/** Renders the SQL console. */
export function renderSql(root: HTMLElement, params: URLSearchParams): () => void {
  const editor = h("textarea", {
    id: "sql-editor",
    class: "editor",
    rows: 8,
    spellcheck: "false",
    autocapitalize: "off",
    "aria-describedby": "sql-help",
  });
  editor.value = params.get("q") ?? EXAMPLES[0][1];
  const run = h("button", { type: "submit", class: "primary", id: "sql-run" }, "Run");
  const csv = h("button", { type: "button", id: "sql-csv" }, "Download CSV");
  const examples = h(
    "select",
    {
      id: "sql-examples",
      "aria-label": "Example queries",
      onchange: (e: Event) => {
        const sel = e.target as HTMLSelectElement;
        if (sel.value !== "") editor.value = EXAMPLES[Number(sel.value)][1];
        sel.value = "";
        editor.focus();
      },
    },
    h("option", { value: "" }, "Examples…"),
    EXAMPLES.map(([name], i) => h("option", { value: i }, name)),
  );
  const status = h("p", { class: "muted", id: "sql-status", "aria-live": "polite" });
  const out = h("div", { id: "sql-result" });
  const form = h(
    "form",
    { class: "sql-form" },
    h("label", { for: "sql-editor" }, "Query"),
    editor,
    h("div", { class: "toolbar" }, run, csv, examples),
    h(
      "p",
      { id: "sql-help", class: "hint" },
      "Read-only DuckDB SQL over the views raw, agg_5min, agg_hourly, agg_daily and agg_weekly (data flushed to Parquet). Ctrl+Enter runs.",
    ),
  );
  root.append(h("h1", {}, "SQL"), form, status, out);

  let result: SqlAnswer | null = null;
  let page = 0;
  let busy = false;
  let ran = false;

  const showPage = () => {
    if (!result) return;
    const r = result;
    const pages = Math.max(1, Math.ceil(r.rows.length / PAGE));
    page = Math.max(0, Math.min(page, pages - 1));
    const rows = r.rows.slice(page * PAGE, (page + 1) * PAGE);
    const numeric = r.columns.map((c) => /INT|DOUBLE|FLOAT|DECIMAL|REAL|NUMERIC/i.test(c.type));
    const pager = pages > 1
      ? h(
        "div",
        { class: "toolbar pager" },
        h("button", { type: "button", disabled: page === 0, onclick: () => (page--, showPage()) }, "‹ Previous"),
        h("span", { id: "sql-page" }, `Page ${page + 1} of ${pages}`),
        h("button", { type: "button", disabled: page >= pages - 1, onclick: () => (page++, showPage()) }, "Next ›"),
      )
      : null;
    out.replaceChildren(
      ...(r.skipped ?? []).map((s) => h("p", { class: "warning" }, `Left out (unreadable): ${s.file}: ${s.error}`)),
      h(
        "div",
        { class: "table-wrap" },
        h(
          "table",
          { class: "data", id: "sql-table" },
          h("thead", {}, h("tr", {}, r.columns.map((c) => h("th", { scope: "col", title: c.type }, c.name)))),
          h(
            "tbody",
            {},
            rows.map((row) =>
              h(
                "tr",
                {},
                row.map((v, i) =>
                  h("td", { class: `${numeric[i] ? "num" : ""} ${v === null ? "muted" : ""}` }, cell(v))
                ),
              )
            ),
          ),
        ),
      ),
      pager ?? "",
    );
  };

  const execute = async () => {
    const sql = editor.value.trim();
    if (sql === "" || busy) return;
    busy = true;
    run.disabled = true;
    navigate("sql", new URLSearchParams({ q: editor.value }), true);
    status.textContent = ran ? "Running…" : "Running… (the first query loads DuckDB: a few seconds)";
    ran = true;
    try {
      result = await apiJson<SqlAnswer>("/api/v1/sql", {
        method: "POST",
        headers: { "content-type": "text/plain" },
        body: sql,
      });
      page = 0;
      status.textContent = `${result.rows.length.toLocaleString("en")} rows in ${Math.round(result.elapsed_ms)} ms` +
        (result.truncated ? " (cut at query.max_rows)" : "") +
        (result.partial ? " (partial: some files unreadable)" : "");
      showPage();
    } catch (e) {
      status.textContent = "The query failed.";
      out.replaceChildren(errorBox(e));
      out.firstElementChild!.id = "sql-error";
    } finally {
      busy = false;
      run.disabled = false;
    }
  };

  const download = async () => {
    const sql = editor.value.trim();
    if (sql === "") return;
    try {
      const res = await api("/api/v1/sql?format=csv", {
        method: "POST",
        headers: { "content-type": "text/plain", accept: "text/csv" },
        body: sql,
      });
      const url = URL.createObjectURL(await res.blob());
      const a = h("a", { href: url, download: "query.csv" });
      document.body.append(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(url), 10_000);
    } catch (e) {
      out.replaceChildren(errorBox(e));
    }
  };

  form.addEventListener("submit", (e) => {
    e.preventDefault();
    execute();
  });
  csv.addEventListener("click", download);
  editor.addEventListener("keydown", (e) => {
    if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) {
      e.preventDefault();
      execute();
    }
  });
  editor.focus();
  if (params.has("q")) execute();
  return () => {};
}
