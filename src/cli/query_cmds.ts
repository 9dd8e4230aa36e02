/**
 * `query`, `sql` and `series`: offline on a data directory, or through a running server (`--server`,
 * or automatically when a server holds the directory).
 *
 * @module
 */
import fs from "node:fs";
import { systemClock } from "../platform/clock.ts";
import { silentLogger } from "../platform/log.ts";
import { nodeFs } from "../platform/node_fs.ts";
import { resultCsv, resultJson } from "../query/format.ts";
import { parseQueryParams } from "../query/params.ts";
import { toCsv } from "../sql/mod.ts";
import type { SqlResult } from "../sql/mod.ts";
import { OfflineStore } from "../service/offline.ts";
import { InputError } from "../model/errors.ts";
import { seriesJson } from "../http/json_out.ts";
import { usageError } from "./errors.ts";
import type { Command, CommandContext } from "./args.ts";
import { call, findRemote, SELECTION_OPTIONS, SERVER_OPTIONS } from "./remote.ts";
import { renderTable } from "./table.ts";

const REMOTE_OPTIONS = { ...SERVER_OPTIONS, format: { type: "string" as const, short: "f" } };

function formatOf(values: CommandContext["values"]): "table" | "json" | "csv" {
  const f = String(values.format ?? "table");
  if (f !== "table" && f !== "json" && f !== "csv") {
    throw usageError(`--format must be table, json or csv, got "${f}"`);
  }
  return f;
}

/** The `query` command. */
export const queryCommand: Command = {
  summary: "query one series or all series of a target/namespace (offline or through a server)",
  usage: `stalker-storage query --namespace NS [--target T] [--poller P] [--from TIME] [--to TIME]
                       [--tier auto|raw|5min|hourly|daily|weekly] [--limit N] [--format table|json|csv]
                       [--server URL] [--token TOKEN | --token-file FILE]

TIME is Unix milliseconds, RFC 3339 or relative (now, -24h). Default: the last 24 hours, tier auto.
Without --server it reads the data directory directly (WAL included), or asks the server that holds it.
--token (or --token-file, STALKER_STORAGE_TOKEN, server.auth_token of --config) is the server's bearer token.
`,
  options: {
    ...REMOTE_OPTIONS,
    ...SELECTION_OPTIONS,
    limit: { type: "string" },
  },
  async run({ values, io, loadConfig }) {
    const config = loadConfig();
    const format = formatOf(values);
    const params: Record<string, string | undefined> = {};
    for (const k of ["namespace", "target", "poller", "from", "to", "tier", "limit"]) {
      params[k] = values[k] as string | undefined;
    }
    let parsed;
    try {
      parsed = parseQueryParams(params, systemClock.now(), config); // usage errors before asking anyone
    } catch (err) {
      if (!(err instanceof InputError)) throw err;
      throw usageError(err.message.replace(/^(namespace|target|poller|from|to|tier|limit)\b/, "--$1"));
    }
    const remote = await findRemote(config, values);
    if (remote) {
      const qs = new URLSearchParams(Object.entries(params).filter(([, v]) => v !== undefined) as [string, string][]);
      qs.set("format", format === "csv" ? "csv" : "json");
      const res = await call(remote, `/api/v1/query?${qs}`);
      if (format === "csv") io.out(await res.text());
      else printQuery(io, await res.json(), format);
      return 0;
    }
    const store = await OfflineStore.open(config, nodeFs, systemClock, silentLogger);
    const result = await store.query(parsed.request);
    if (format === "csv") io.out(resultCsv(result));
    else printQuery(io, resultJson(result, { auto: parsed.auto }), format);
    await store.close();
    return 0;
  },
};

// deno-lint-ignore no-explicit-any
function printQuery(io: CommandContext["io"], json: any, format: "table" | "json"): void {
  if (format === "json") {
    io.out(JSON.stringify(json, null, 2) + "\n");
    return;
  }
  io.out(
    `tier ${json.tier}${json.partial ? " (partial: " + json.warnings.join("; ") + ")" : ""}${
      json.truncated ? " (truncated)" : ""
    }\n`,
  );
  for (const s of json.series) {
    io.out(`\n${s.namespace} / ${s.target} / ${s.poller}${s.kind ? ` (${s.kind})` : ""}\n`);
    if (s.points) {
      const cols = ["count", "avg", "min", "max", "p50", "p90", "p95", "p99", "error_count"];
      io.out(
        renderTable(
          ["time", ...cols],
          s.points.map((p: Record<string, unknown>) => [iso(p.t), ...cols.map((c) => p[c])]),
        ),
      );
    } else {
      io.out(renderTable(
        ["time", "kind", "value", "valid", "error"],
        s.samples.map((
          p: Record<string, unknown>,
        ) => [iso(p.t), p.kind, p.value ?? p.value_counter ?? p.value_text, p.valid, p.error]),
      ));
    }
  }
}

function iso(t: unknown): string {
  return new Date(Number(t)).toISOString();
}

/** The `sql` command. */
export const sqlCommand: Command = {
  summary: "read-only SQL (DuckDB) over the tier files (offline or through a server)",
  usage: `stalker-storage sql "SELECT ..." [--format table|json|csv] [--server URL] [--token TOKEN | --token-file FILE]
stalker-storage sql - < query.sql

Views: raw, agg_5min, agg_hourly, agg_daily, agg_weekly (and agg_*_parts). See docs/sql.md.
`,
  options: REMOTE_OPTIONS,
  positionals: true,
  async run({ values, positionals, io, loadConfig }) {
    const config = loadConfig();
    const format = formatOf(values);
    const text = positionals[0] === "-" || positionals.length === 0
      ? fs.readFileSync(0, "utf8")
      : positionals.join(" ");
    const remote = await findRemote(config, values);
    let result: SqlResult;
    if (remote) {
      const res = await call(remote, "/api/v1/sql", {
        method: "POST",
        body: JSON.stringify({ sql: text }),
        headers: { "content-type": "application/json" },
      });
      const json = await res.json();
      result = {
        columns: json.columns,
        rows: json.rows,
        truncated: json.truncated,
        skipped: json.skipped ?? [],
        elapsedMs: json.elapsed_ms,
      };
    } else {
      const store = await OfflineStore.open(config, nodeFs, systemClock, silentLogger);
      try {
        result = await store.sql(text);
      } finally {
        await store.close();
      }
    }
    for (const f of result.skipped) io.err(`warning: ${f.file} was left out, it cannot be read: ${f.error}\n`);
    if (format === "csv") io.out(toCsv(result));
    else if (format === "json") {
      io.out(
        JSON.stringify({ columns: result.columns, rows: result.rows, truncated: result.truncated }, null, 2) + "\n",
      );
    } else {io.out(
        renderTable(result.columns.map((c) => c.name), result.rows) +
          (result.truncated ? "(truncated at query.max_rows)\n" : ""),
      );}
    return 0;
  },
};

/** The `series` command. */
export const seriesCommand: Command = {
  summary: "list known series with their last value (offline or through a server)",
  usage: `stalker-storage series [--namespace NS] [--target T] [--poller P] [--format table|json|csv]
                       [--server URL] [--token TOKEN | --token-file FILE]
`,
  options: { ...REMOTE_OPTIONS, namespace: { type: "string" }, target: { type: "string" }, poller: { type: "string" } },
  async run({ values, io, loadConfig }) {
    const config = loadConfig();
    const format = formatOf(values);
    const filter = {
      namespace: values.namespace as string | undefined,
      target: values.target as string | undefined,
      poller: values.poller as string | undefined,
    };
    const remote = await findRemote(config, values);
    let list: Record<string, unknown>[];
    if (remote) {
      const qs = new URLSearchParams(Object.entries(filter).filter(([, v]) => v !== undefined) as [string, string][]);
      list = (await (await call(remote, `/api/v1/series?${qs}`)).json()).series;
    } else {
      const store = await OfflineStore.open(config, nodeFs, systemClock, silentLogger);
      list = store.series(filter).map(seriesJson);
      await store.close();
    }
    const cols = ["namespace", "target", "poller", "last_time", "kind", "value", "valid", "error"];
    // a field a series does not have (no error, no value) is empty, never "undefined"
    const rows = list.map((s) =>
      cols.map((c) => (c === "value" ? s.value ?? s.value_counter ?? s.value_text : s[c]) ?? null)
    );
    if (format === "json") io.out(JSON.stringify(list, null, 2) + "\n");
    else if (format === "csv") {
      io.out(toCsv({ columns: cols.map((name) => ({ name, type: "VARCHAR" })), rows: rows as never }));
    } else io.out(renderTable(cols, rows));
    return 0;
  },
};
