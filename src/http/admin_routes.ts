/**
 * Maintenance of a running server: `POST /api/v1/admin/compact`, `/retention` and `/snapshot`
 * (docs/http_api.md). The CLI's `compact`, `retention` and `snapshot` use them when a server holds the
 * data directory.
 *
 * @module
 */
import { realpath } from "node:fs/promises";
import { dirname, isAbsolute, relative, resolve as resolvePath } from "node:path";
import type { Context, Hono } from "hono";
import { join } from "../platform/path.ts";
import type { MergeReport } from "../service/merger.ts";
import type { RetentionPlan } from "../service/retention.ts";
import type { Storage } from "../service/storage.ts";
import type { RollupReport } from "../service/compactor.ts";
import type { SnapshotReport } from "../service/backup.ts";
import type { Clock } from "../platform/clock.ts";
import type { Config } from "../config/schema.ts";
import { HttpError } from "./errors.ts";

/** The snapshot root when `server.snapshot_dir` is empty, inside the data directory (same disk: hard links). */
export const DEFAULT_SNAPSHOT_DIR = "backups";

/** The directory snapshots taken over HTTP must go under: `server.snapshot_dir`, else `<data_dir>/backups`. */
export function snapshotRootOf(config: Config): string {
  return resolvePath(
    config.server.snapshotDir !== "" ? config.server.snapshotDir : join(config.dataDir, DEFAULT_SNAPSHOT_DIR),
  );
}

/** A snapshot directory's default name: the UTC time, file-name safe. */
export function snapshotName(ms: number): string {
  return new Date(ms).toISOString().replace(/[:.]/g, "-");
}

/**
 * The directory `dir` (absolute, or relative to `root`) names, when it lies strictly under `root`, also
 * once symbolic links are followed: the deepest part of it that exists resolves to `root` or below (a link
 * under the root to elsewhere is refused). Else a 400 that names the setting.
 */
export async function snapshotTarget(root: string, dir: string): Promise<string> {
  const target = resolvePath(root, dir);
  const refuse = (why: string) =>
    new HttpError(
      400,
      "invalid_parameter",
      `dir must name a new directory under the snapshot directory ${root} (server.snapshot_dir), got "${dir}": ${why}`,
    );
  if (!under(root, target)) throw refuse("outside it");
  const realRoot = await realpath(root).catch(() => null);
  // the root does not exist yet: nothing under it exists either, so no link can lead out
  if (realRoot === null) return target;
  let existing = target;
  for (;;) {
    const real = await realpath(existing).catch(() => null);
    if (real !== null) {
      if (real !== realRoot && !under(realRoot, real)) throw refuse(`${existing} leads to ${real}`);
      return target;
    }
    existing = dirname(existing);
  }
}

function under(root: string, p: string): boolean {
  const rel = relative(root, p);
  return rel !== "" && rel !== ".." && !rel.startsWith("../") && !isAbsolute(rel);
}

/** Mounts the admin routes on `app` (behind the token middleware of `/api/*`). */
export function mountAdminRoutes(app: Hono, storage: Storage, clock: Clock): void {
  app.post("/api/v1/admin/compact", async (c) => {
    const tier = c.req.query("tier");
    if (tier !== undefined && tier !== "hourly" && tier !== "daily" && tier !== "weekly") {
      throw new HttpError(400, "invalid_parameter", `tier must be hourly, daily or weekly, got "${tier}"`);
    }
    storage.assertReady();
    await storage.flushNow("compact");
    const rollups = await storage.compact(tier);
    const merges = await storage.merge();
    return c.json(compactJson(rollups, merges));
  });
  app.post("/api/v1/admin/retention", async (c) => {
    const dry = booleanParam(c, "dry_run");
    return c.json(retentionJson(await (dry ? storage.previewRetention() : storage.retention()), { dryRun: dry }));
  });
  app.post("/api/v1/admin/snapshot", async (c) => {
    const dir = await snapshotTarget(snapshotRootOf(storage.config), c.req.query("dir") ?? snapshotName(clock.now()));
    return c.json(snapshotJson(await storage.snapshot(dir)));
  });
}

function booleanParam(c: Context, name: string): boolean {
  const v = c.req.query(name);
  if (v === undefined || v === "false" || v === "0") return false;
  if (v === "" || v === "true" || v === "1") return true;
  throw new HttpError(400, "invalid_parameter", `${name} must be true or false, got "${v}"`);
}

/** The answer of `/admin/compact`. */
export interface CompactJson {
  rollups: { tier: string; from_ms: number; to_ms: number; rows_in: number; rows_out: number; files: number }[];
  merges: { tier: string; partition: string; inputs: number; outputs: number; committed: boolean }[];
}

/** The JSON of a compaction. */
export function compactJson(rollups: RollupReport[], merges: MergeReport[]): CompactJson {
  return {
    rollups: rollups.map((r) => ({
      tier: r.tier,
      from_ms: r.from,
      to_ms: r.to,
      rows_in: r.inputRows,
      rows_out: r.outputRows,
      files: r.files,
    })),
    merges: merges.map((m) => ({
      tier: m.tier,
      partition: m.partition,
      inputs: m.inputs,
      outputs: m.outputs,
      committed: m.committed,
    })),
  };
}

/** The answer of `/admin/retention`. */
export interface RetentionJson {
  dry_run: boolean;
  deletions: { path: string; tier: string; partition: string; bytes: number; reason: string }[];
  bytes_before: number;
  bytes_after: number;
  cap_bytes: number;
  awaiting_rollup: number;
}

/** The JSON of a retention run, or of a plan (`dryRun`: nothing was deleted). */
export function retentionJson(plan: RetentionPlan, { dryRun }: { dryRun: boolean }): RetentionJson {
  return {
    dry_run: dryRun,
    deletions: plan.deletions,
    bytes_before: plan.bytesBefore,
    bytes_after: plan.bytesAfter,
    cap_bytes: plan.capBytes,
    awaiting_rollup: plan.awaitingRollup,
  };
}

/** The plan back from its JSON (for the CLI, which prints both the same way). */
export function retentionFromJson(j: RetentionJson): RetentionPlan {
  return {
    deletions: j.deletions as RetentionPlan["deletions"],
    bytesBefore: j.bytes_before,
    bytesAfter: j.bytes_after,
    capBytes: j.cap_bytes,
    awaitingRollup: j.awaiting_rollup,
  };
}

/** The answer of `/admin/snapshot`. */
export interface SnapshotJson {
  dir: string;
  commit: number;
  files: number;
  linked: number;
  bytes: number;
  wal_segments: number[];
  created_ms: number;
}

/** The JSON of a snapshot. */
export function snapshotJson(r: SnapshotReport): SnapshotJson {
  return {
    dir: r.dir,
    commit: r.commit,
    files: r.files,
    linked: r.linked,
    bytes: r.bytes,
    wal_segments: r.wal.map((s) => s.segment),
    created_ms: r.createdMs,
  };
}
