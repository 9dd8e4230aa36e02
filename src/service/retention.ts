/**
 * Retention: deletes whole partitions of a tier once all their data is older than the tier's
 * retention, and — with `retention.max_disk_bytes` — the oldest partitions first (finest tier first
 * among equally old ones) until the tier files fit the cap, never the newest partition of a tier. A
 * dry run only reports. Files leave the manifest in one commit and are deleted from disk a little
 * later, so queries that started before can still read them.
 *
 * @module
 */
import type { Config } from "../config/schema.ts";
import { partitionEnd } from "../model/paths.ts";
import { TIERS } from "../model/tier.ts";
import { retentionMs } from "../query/planner.ts";
import { commitManifest, type Manifest, type TierFile } from "../tier/manifest.ts";
import { type Core, withSeq } from "./core.ts";

/** One file retention removes, and why. */
export interface Deletion {
  path: string;
  tier: string;
  partition: string;
  bytes: number;
  reason: "expired" | "size cap";
}

/** What retention removes (or would remove, in a dry run). */
export interface RetentionPlan {
  deletions: Deletion[];
  bytesBefore: number;
  bytesAfter: number;
  capBytes: number;
}

/** Plans retention for a manifest at `nowMs`. */
export function planRetention(m: Manifest, nowMs: number, config: Config): RetentionPlan {
  const bytesBefore = m.files.reduce((a, f) => a + f.bytes, 0);
  const chosen = new Map<string, Deletion>();
  for (const f of m.files) {
    if (partitionEnd(f.tier, f.partition) <= nowMs - retentionMs(f.tier, config.retention)) {
      chosen.set(f.path, deletion(f, "expired"));
    }
  }
  const cap = config.retention.maxDiskBytes;
  let total = bytesBefore - [...chosen.values()].reduce((a, d) => a + d.bytes, 0);
  if (cap > 0 && total > cap) {
    for (const group of partitionsOldestFirst(m.files.filter((f) => !chosen.has(f.path)))) {
      if (total <= cap) break;
      for (const f of group) {
        chosen.set(f.path, deletion(f, "size cap"));
        total -= f.bytes;
      }
    }
  }
  const deletions = [...chosen.values()];
  return { deletions, bytesBefore, bytesAfter: total, capBytes: cap };
}

/** Partitions (lists of files) oldest first, finest tier first; the newest partition of each tier is left out. */
function partitionsOldestFirst(files: readonly TierFile[]): TierFile[][] {
  const groups = new Map<string, TierFile[]>();
  for (const f of files) {
    const key = `${f.tier}|${f.partition}`;
    let g = groups.get(key);
    if (!g) groups.set(key, g = []);
    g.push(f);
  }
  const newest = new Map<string, number>();
  for (const f of files) newest.set(f.tier, Math.max(newest.get(f.tier) ?? -Infinity, f.partition));
  return [...groups.values()]
    .filter((g) => g[0].partition !== newest.get(g[0].tier))
    .sort((a, b) =>
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

/** Runs retention: plans on the current manifest, commits without the files, deletes them later. */
export async function applyRetention(core: Core, dryRun: boolean): Promise<RetentionPlan> {
  return await core.lock.run(async () => {
    const plan = planRetention(core.manifest, core.clock.now(), core.config);
    if (dryRun || plan.deletions.length === 0) return plan;
    const gone = new Set(plan.deletions.map((d) => d.path));
    const m: Manifest = structuredClone(core.manifest);
    m.files = m.files.filter((f) => !gone.has(f.path));
    core.manifest = await commitManifest(core.fs, core.dataDir, withSeq(core, m));
    core.deleteLater([...gone]);
    if (plan.deletions.some((d) => d.reason === "size cap")) {
      core.log.warn("retention.max_disk_bytes reached: oldest data deleted", {
        bytes: plan.bytesBefore,
        cap: plan.capBytes,
      });
    }
    return plan;
  });
}
