/**
 * `snapshot` and `restore`: an online, consistent copy of a data directory and its way back
 * (`src/service/backup.ts`, docs/operations.md "Backup and restore"); `export`: a selection as a file.
 *
 * @module
 */
import { resolve as resolvePath } from "node:path";
import { humanSize } from "../config/units.ts";
import { nodeFs } from "../platform/node_fs.ts";
import { restoreSnapshot } from "../service/backup.ts";
import { type SnapshotJson, snapshotJson, snapshotName, snapshotRootOf } from "../http/admin_routes.ts";
import type { Command, Io } from "./args.ts";
import { openStorage } from "./admin_cmds.ts";
import { usageError } from "./errors.ts";
import { call, findRemote, SELECTION_OPTIONS, SERVER_OPTIONS } from "./remote.ts";
import { walDirOf } from "../service/core.ts";
import { systemClock } from "../platform/clock.ts";
import { silentLogger } from "../platform/log.ts";
import { writeAtomic } from "../platform/atomic.ts";
import { OfflineStore } from "../service/offline.ts";
import { checkComplete, EXPORT_MAX_ROWS, exportBody, parseExportParams } from "../query/export.ts";

/** The `snapshot` command. */
export const snapshotCommand: Command = {
  summary: "take a consistent snapshot of the data directory, online (hard links where it can)",
  usage: `stalker-storage snapshot [DIR] [--server URL] [--token TOKEN | --token-file FILE]

Writes the committed tier files (hard-linked when DIR is on the data directory's file system, else
copied), the manifest and the WAL written since the last flush into DIR, which must not exist. Restored
with "stalker-storage restore DIR --data-dir NEW", it holds exactly the samples acknowledged before the
snapshot. Without DIR it goes to <snapshot directory>/<UTC time> (server.snapshot_dir, default
DATA_DIR/backups). When a server holds the data directory (or with --server URL), the server takes it
(POST /api/v1/admin/snapshot): DIR is then a path on the server's machine and must lie under its
snapshot directory.
`,
  options: SERVER_OPTIONS,
  positionals: true,
  async run({ values, positionals, io, loadConfig }) {
    if (positionals.length > 1) throw usageError(`snapshot takes one directory, got ${positionals.length}`);
    const config = loadConfig();
    const dir = positionals[0] === undefined ? undefined : resolvePath(positionals[0]);
    const remote = await findRemote(config, values);
    if (remote) {
      const qs = dir === undefined ? "" : `?${new URLSearchParams({ dir })}`;
      printSnapshot(io, await (await call(remote, `/api/v1/admin/snapshot${qs}`, { method: "POST" })).json());
      return 0;
    }
    const storage = await openStorage(config);
    try {
      const target = dir ?? resolvePath(snapshotRootOf(config), snapshotName(systemClock.now()));
      printSnapshot(io, snapshotJson(await storage.snapshot(target)));
    } finally {
      await storage.close();
    }
    return 0;
  },
};

/** The `restore` command. */
export const restoreCommand: Command = {
  summary: "restore a snapshot into a new, empty data directory",
  usage: `stalker-storage restore SNAPSHOT --data-dir NEW

Checks SNAPSHOT (every file its manifest names, with its size), then writes it into the data directory
(--data-dir or data_dir, absent or empty) and the WAL into ingestion.wal.dir when set. Tier files are
hard-linked when on the same file system (they are never changed in place), the WAL is copied. Start
the server on NEW afterwards; it replays the snapshot's WAL.
`,
  positionals: true,
  async run({ positionals, io, loadConfig }) {
    if (positionals.length !== 1) throw usageError("restore takes one argument: the snapshot directory");
    const config = loadConfig();
    const r = await restoreSnapshot(nodeFs, resolvePath(positionals[0]), config);
    const wal = walDirOf(config);
    io.out(
      `restored commit ${r.commit}: ${r.files} tier file(s), WAL segment(s) ${
        r.wal.map((s) => s.segment).join(", ") || "none"
      } into ${config.dataDir}${wal.startsWith(config.dataDir) ? "" : ` (WAL in ${wal})`}\n` +
        `start it with: stalker-storage serve --data-dir ${config.dataDir}\n`,
    );
    return 0;
  },
};

function printSnapshot(io: Io, s: SnapshotJson): void {
  io.out(
    `snapshot ${s.dir}: commit ${s.commit}, ${s.files} tier file(s) (${s.linked} hard-linked), WAL segment(s) ${
      s.wal_segments.join(", ") || "none"
    }, ${humanSize(s.bytes)}\n`,
  );
}

/** The `export` command. */
export const exportCommand: Command = {
  summary: "export a series or a selection over a range as CSV, JSON lines or Parquet",
  usage: `stalker-storage export --namespace NS [--target T] [--poller P] [--from TIME] [--to TIME]
                        [--tier auto|raw|5min|hourly|daily|weekly] [--format csv|jsonl|parquet]
                        [--output FILE] [--server URL] [--token TOKEN | --token-file FILE]

One row per raw sample or aggregate point, with the series identity on each (the query API's CSV
columns). TIME as for query (Unix ms, RFC 3339, relative like -24h; default: the last 24 hours). The
whole selection, never cut: over ${EXPORT_MAX_ROWS} rows it is refused (narrow it). Without --output
it writes to standard output (Parquet needs --output). Through the server that holds the data
directory (GET /api/v1/export), else from the directory directly.
`,
  options: {
    ...SELECTION_OPTIONS,
    ...SERVER_OPTIONS,
    format: { type: "string", short: "f" },
    output: { type: "string", short: "o" },
  },
  async run({ values, io, loadConfig }) {
    const config = loadConfig();
    const params: Record<string, string | undefined> = {};
    for (const k of ["namespace", "target", "poller", "from", "to", "tier", "format"]) {
      params[k] = values[k] as string | undefined;
    }
    const output = values.output as string | undefined;
    // checked before anything is read: a bad format or range never leaves a file behind
    const { request, format } = parseExportParams(params, systemClock.now(), config);
    if (format === "parquet" && output === undefined) throw usageError("--format parquet needs --output FILE");
    const remote = await findRemote(config, values);
    let body: Uint8Array;
    if (remote) {
      const qs = new URLSearchParams(Object.entries(params).filter(([, v]) => v !== undefined) as [string, string][]);
      body = new Uint8Array(await (await call(remote, `/api/v1/export?${qs}`)).arrayBuffer());
    } else {
      const store = await OfflineStore.open(config, nodeFs, systemClock, silentLogger);
      try {
        const result = await store.query(request);
        checkComplete(result);
        body = exportBody(result, format);
      } finally {
        await store.close();
      }
    }
    if (output === undefined) {
      io.out(new TextDecoder().decode(body));
    } else {
      await writeAtomic(nodeFs, resolvePath(output), body);
      io.err(`wrote ${output} (${humanSize(body.length)})\n`);
    }
    return 0;
  },
};
