/**
 * `compact`, `retention` and `wal inspect|verify`: maintenance of a data directory. `compact` and
 * `retention` ask the server that holds the directory (or `--server`) through its admin API, and work
 * on the directory directly when none does; `wal` only reads.
 *
 * @module
 */
import process from "node:process";
import { humanSize } from "../config/units.ts";
import { systemClock } from "../platform/clock.ts";
import { createLogger } from "../platform/log.ts";
import { Metrics } from "../platform/metrics.ts";
import { nodeFs } from "../platform/node_fs.ts";
import { walDirOf } from "../service/core.ts";
import { Storage } from "../service/storage.ts";
import { inspectWal } from "../wal/inspect.ts";
import { usageError } from "./errors.ts";
import type { Command, Io } from "./args.ts";
import { OfflineStore } from "../service/offline.ts";
import { planRetention, type RetentionPlan } from "../service/retention.ts";
import { renderTable } from "./table.ts";
import { call, findRemote, SERVER_OPTIONS } from "./remote.ts";
import { type CompactJson, compactJson, retentionFromJson, type RetentionJson } from "../http/admin_routes.ts";

/** Opens the data directory as a server would, without listening and without background jobs. */
export async function openStorage(config: ReturnType<Parameters<Command["run"]>[0]["loadConfig"]>): Promise<Storage> {
  const storage = Storage.create(config, {
    fs: nodeFs,
    clock: systemClock,
    // on a terminal, progress (rollups, merges) shows as info lines
    log: createLogger(process.stderr.isTTY ? "info" : "warn"),
    metrics: new Metrics(),
    deleteDelayMs: 0,
  });
  await storage.start();
  return storage;
}

/** The `compact` command. */
export const compactCommand: Command = {
  summary: "run due compaction now: rollups (5min→hourly→daily→weekly) and merges of small files",
  usage: `stalker-storage compact [--tier hourly|daily|weekly] [--server URL] [--token TOKEN | --token-file FILE]

Flushes what the WAL holds, rolls up every complete window of the coarser tiers (or only --tier), and
merges small files. When a server holds the data directory (or with --server URL) the server does it
(POST /api/v1/admin/compact); otherwise it works on the directory directly.
`,
  options: { tier: { type: "string" }, ...SERVER_OPTIONS },
  async run({ values, io, loadConfig }) {
    const tier = values.tier as string | undefined;
    if (tier !== undefined && !["hourly", "daily", "weekly"].includes(tier)) {
      throw usageError(`--tier must be hourly, daily or weekly, got "${tier}"`);
    }
    const config = loadConfig();
    const remote = await findRemote(config, values);
    if (remote) {
      const qs = tier ? `?tier=${tier}` : "";
      printCompact(io, await (await call(remote, `/api/v1/admin/compact${qs}`, { method: "POST" })).json());
      return 0;
    }
    const storage = await openStorage(config);
    try {
      await storage.flushNow("compact");
      const runs = await storage.compact(tier as "hourly" | "daily" | "weekly" | undefined);
      printCompact(io, compactJson(runs, await storage.merge()));
    } finally {
      await storage.close();
    }
    return 0;
  },
};

/** The `retention` command. */
export const retentionCommand: Command = {
  summary: "delete data past each tier's retention (and over retention.max_disk_bytes)",
  usage: `stalker-storage retention [--dry-run] [--server URL] [--token TOKEN | --token-file FILE]

--dry-run lists what would be deleted and deletes nothing. When a server holds the data directory (or
with --server URL) the server does it (POST /api/v1/admin/retention); otherwise it works on the
directory directly. A server also applies retention every 10 minutes by itself.
`,
  options: { "dry-run": { type: "boolean" }, ...SERVER_OPTIONS },
  async run({ values, io, loadConfig }) {
    const config = loadConfig();
    const dry = Boolean(values["dry-run"]);
    const remote = await findRemote(config, values);
    if (remote) {
      const res = await call(remote, `/api/v1/admin/retention?dry_run=${dry}`, { method: "POST" });
      printRetention(io, retentionFromJson(await res.json() as RetentionJson), { dryRun: dry });
      return 0;
    }
    if (dry) {
      const store = await OfflineStore.open(config, nodeFs, systemClock, createLogger("warn"));
      printRetention(io, planRetention(store.manifest, systemClock.now(), config), { dryRun: true });
      return 0;
    }
    const storage = await openStorage(config);
    try {
      const plan = await storage.retention();
      printRetention(io, plan, { dryRun: false });
    } finally {
      await storage.close();
    }
    return 0;
  },
};

/** The `wal` command. */
export const walCommand: Command = {
  summary: "inspect or verify the write-ahead log (read only)",
  usage: `stalker-storage wal inspect [--records]
stalker-storage wal verify

inspect  lists segments (records, samples, series, time range) and any damage
verify   reads every record; exit code 1 when damage is found
A running server may be writing the last segment: its tail can look torn while a write is in progress.
`,
  options: { records: { type: "boolean" } },
  positionals: true,
  async run({ values, positionals, io, loadConfig }) {
    const sub = positionals[0];
    if (sub !== "inspect" && sub !== "verify") {
      io.err('wal: expected "inspect" or "verify"\n');
      return 2;
    }
    const config = loadConfig();
    const report = await inspectWal(nodeFs, walDirOf(config), { records: Boolean(values.records) });
    if (sub === "inspect") {
      io.out(renderTable(
        ["segment", "bytes", "records", "samples", "series", "first", "last", "status"],
        report.segments.map((s) => [
          s.segment,
          s.bytes,
          s.records,
          s.samples,
          s.seriesDefined,
          s.firstTs === null ? "" : iso(s.firstTs),
          s.lastTs === null ? "" : iso(s.lastTs),
          s.status,
        ]),
      ));
      for (const r of report.records ?? []) {
        io.out(`  segment ${r.segment} offset ${r.offset}: ${r.samples} samples, ${r.bytes} bytes\n`);
      }
    }
    for (const d of report.damages) {
      io.err(`damage: ${d.path} at offset ${d.offset}: ${d.reason} (${d.bytesSkipped} bytes)\n`);
    }
    if (report.tornTail) {
      io.err(
        `torn tail: segment ${report.tornTail.segment} at offset ${report.tornTail.offset} (${report.tornTail.bytes} bytes)\n`,
      );
    }
    const ok = report.damages.length === 0;
    if (sub === "verify") {
      io.out(
        `${report.segments.length} segment(s), ${report.totalRecords} record(s), ${report.totalSamples} sample(s): ${
          ok ? "OK" : `${report.damages.length} damaged place(s)`
        }\n`,
      );
    }
    return ok ? 0 : 1;
  },
};

function printCompact(io: Io, c: CompactJson): void {
  io.out(renderTable(
    ["tier", "from", "to", "rows in", "rows out", "files"],
    c.rollups.map((r) => [r.tier, iso(r.from_ms), iso(r.to_ms), r.rows_in, r.rows_out, r.files]),
  ));
  io.out(
    `${c.merges.filter((m) => m.committed).length} merge(s): ${
      c.merges.map((m) => `${m.tier} ${m.partition} (${m.inputs} files → ${m.outputs})`).join(", ") || "none due"
    }\n`,
  );
}

/** Prints a retention run, or a plan (`dryRun`: nothing was deleted). */
function printRetention(io: Io, plan: RetentionPlan, { dryRun }: { dryRun: boolean }): void {
  io.out(renderTable(
    ["tier", "partition", "reason", "bytes", "file"],
    plan.deletions.map((d) => [d.tier, d.partition, d.reason, d.bytes, d.path]),
  ));
  io.out(
    `${dryRun ? "would delete" : "deleted"} ${plan.deletions.length} file(s); tier data ${
      humanSize(plan.bytesBefore)
    } → ${humanSize(plan.bytesAfter)}${plan.capBytes > 0 ? ` (cap ${humanSize(plan.capBytes)})` : ""}\n`,
  );
  if (plan.awaitingRollup > 0) {
    io.out(`kept ${plan.awaitingRollup} expired file(s) until the coarser tier has them (run compact)\n`);
  }
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}
