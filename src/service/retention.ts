/**
 * Retention: deletes whole partitions of a tier once all their data is older than the tier's
 * retention **and** the next coarser tier has received it (its watermark is past the file's last
 * bucket; the weekly tier and the raw tier, which no tier is compacted from, need no such cover), so a
 * rollup that has not run yet never loses data. With `retention.max_disk_bytes`, partitions then go
 * oldest first (finest tier first among equally old ones) until the tier files fit the cap, never the
 * newest partition of a tier: first those already rolled up; only when that is not enough, also those
 * not yet rolled up (the cap is the operator's hard limit; a warning says so). A dry run only reports.
 * Files leave the manifest in one commit and are deleted from disk a little later, so queries that
 * started before can still read them.
 *
 * @module
 */
import type { Config } from "../config/schema.ts";
import { partitionEnd } from "../model/paths.ts";
import { coarserTier, TIERS } from "../model/tier.ts";
import { retentionMs } from "../query/planner.ts";
import type { Manifest, TierFile } from "../tier/manifest.ts";
import type { Core } from "./core.ts";

/** One file retention removes, and why. */
export interface Deletion {
  path: string;
  tier: string;
  partition: string;
  bytes: number;
  /** `size cap, not rolled up`: the cap removed data the coarser tier has not received. */
  reason: "expired" | "size cap" | "size cap, not rolled up";
}

/** What retention removes (or would remove, in a dry run). */
export interface RetentionPlan {
  deletions: Deletion[];
  bytesBefore: number;
  bytesAfter: number;
  capBytes: number;
  /** Expired files kept because the coarser tier has not received their data yet. */
  awaitingRollup: number;
}

/** Plans retention for a manifest at `nowMs`. */
export function planRetention(m: Manifest, nowMs: number, config: Config): RetentionPlan {
  const bytesBefore = m.files.reduce((a, f) => a + f.bytes, 0);
  const chosen = new Map<string, Deletion>();
  let awaitingRollup = 0;
  for (const f of m.files) {
    if (partitionEnd(f.tier, f.partition) > nowMs - retentionMs(f.tier, config.retention)) continue;
    if (rolledUp(m, f)) chosen.set(f.path, deletion(f, "expired"));
    else awaitingRollup++;
  }
  const cap = config.retention.maxDiskBytes;
  let total = bytesBefore - [...chosen.values()].reduce((a, d) => a + d.bytes, 0);
  if (cap > 0 && total > cap) {
    for (const group of partitionsForCap(m, m.files.filter((f) => !chosen.has(f.path)))) {
      if (total <= cap) break;
      for (const f of group) {
        chosen.set(f.path, deletion(f, rolledUp(m, f) ? "size cap" : "size cap, not rolled up"));
        total -= f.bytes;
      }
    }
  }
  const deletions = [...chosen.values()];
  return { deletions, bytesBefore, bytesAfter: total, capBytes: cap, awaitingRollup };
}

/**
 * Whether the next coarser tier holds `f`'s data: its watermark is past the file's last bucket (later
 * data for those buckets reaches it as late rows at the flush). Raw files feed no tier (the 5-minute
 * tier is aggregated from the WAL as samples arrive), and the weekly tier is the coarsest.
 */
export function rolledUp(m: Manifest, f: TierFile): boolean {
  if (f.tier === "raw") return true;
  const coarser = coarserTier(f.tier);
  return coarser === null || f.maxTs < m.watermarks[coarser];
}

/**
 * Partitions (lists of files) in the order the size cap removes them: rolled up before not rolled
 * up, then oldest first, finest tier first; the newest partition of each tier is left out.
 */
function partitionsForCap(m: Manifest, files: readonly TierFile[]): TierFile[][] {
  const groups = new Map<string, TierFile[]>();
  for (const f of files) {
    const key = `${f.tier}|${f.partition}`;
    let g = groups.get(key);
    if (!g) groups.set(key, g = []);
    g.push(f);
  }
  const newest = new Map<string, number>();
  for (const f of files) newest.set(f.tier, Math.max(newest.get(f.tier) ?? -Infinity, f.partition));
  const pending = (g: TierFile[]) => g.some((f) => !rolledUp(m, f)) ? 1 : 0;
  return [...groups.values()]
    .filter((g) => g[0].partition !== newest.get(g[0].tier))
    .sort((a, b) =>
      pending(a) - pending(b) ||
      partitionEnd(a[0].tier, a[0].partition) - partitionEnd(b[0].tier, b[0].partition) ||
      TIERS.indexOf(a[0].tier) - TIERS.indexOf(b[0].tier)
    );
}

function deletion(f: TierFile, reason: Deletion["reason"]): Deletion {
  return {
    path: f.path,
    tier: f.tier,
    partition: new Date(f.partition).toISOString().slice(0, 10),
    bytes: f.bytes,
    reason,
  };
}

/** What retention would delete now, on the manifest after any commit in progress (a dry run). */
export async function previewRetention(core: Core): Promise<RetentionPlan> {
  return await core.catalog.run(() => Promise.resolve(planRetention(core.manifest, core.clock.now(), core.config)));
}

/** Runs retention: plans on the current manifest, commits without the files, deletes them later. */
export async function applyRetention(core: Core): Promise<RetentionPlan> {
  return await core.catalog.run(async () => {
    const plan = planRetention(core.manifest, core.clock.now(), core.config);
    if (plan.deletions.length === 0) return plan;
    const gone = new Set(plan.deletions.map((d) => d.path));
    const m: Manifest = structuredClone(core.manifest);
    m.files = m.files.filter((f) => !gone.has(f.path));
    await core.catalog.commit(m, "retention"); // the files are deleted after the delay
    if (plan.deletions.some((d) => d.reason !== "expired")) {
      core.log.warn("retention.max_disk_bytes reached: oldest data deleted", {
        bytes: plan.bytesBefore,
        cap: plan.capBytes,
      });
    }
    const lost = plan.deletions.filter((d) => d.reason === "size cap, not rolled up");
    if (lost.length > 0) {
      core.log.warn(
        "retention.max_disk_bytes deleted data the coarser tiers have not received yet: raise the cap or compact sooner",
        { files: lost.length, partitions: [...new Set(lost.map((d) => `${d.tier} ${d.partition}`))] },
      );
    }
    return plan;
  });
}
