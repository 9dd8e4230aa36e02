/**
 * Merging small files of a partition into bigger ones, so queries open few files. A flush writes one
 * file per partition every flush interval (level 0); when a partition holds {@link FAN_IN} files of a
 * level, they are merged into one file of the next level (size-tiered: each byte is rewritten only a
 * few times while the partition is current). Once the partition is sealed (its time is over, plus a
 * grace), everything in it is merged into one file.
 *
 * A merge reads immutable files and writes a new one without holding the manifest lock; only its
 * commit does, after checking its inputs are still live (retention may have removed them). The
 * replaced files are deleted after queries that may still read them are done.
 *
 * @module
 */
import { partitionEnd } from "../model/paths.ts";
import { TIERS } from "../model/tier.ts";
import { join } from "../platform/path.ts";
import type { Manifest, TierFile } from "../tier/manifest.ts";
import { allocate, type Core } from "./core.ts";

/** Files of one level that trigger a merge of an open partition. */
export const FAN_IN = 8;
/** A partition is sealed this long after its end. */
export const SEAL_GRACE_MS = 3_600_000;

/** One merge to do. */
export interface MergePlan {
  tier: TierFile["tier"];
  partition: number;
  inputs: TierFile[];
  level: number;
  reason: "sealed" | "fan-in";
}

/** The merges due now, oldest partitions first. */
export function planMerges(m: Manifest, nowMs: number): MergePlan[] {
  const plans: MergePlan[] = [];
  const groups = new Map<string, TierFile[]>();
  for (const f of m.files) {
    const key = `${TIERS.indexOf(f.tier)}|${f.partition}`;
    let g = groups.get(key);
    if (!g) groups.set(key, g = []);
    g.push(f);
  }
  for (const files of groups.values()) {
    const { tier, partition } = files[0];
    if (partitionEnd(tier, partition) + SEAL_GRACE_MS <= nowMs) {
      if (files.length >= 2) {
        plans.push({ tier, partition, inputs: bySeq(files), level: maxLevel(files) + 1, reason: "sealed" });
      }
      continue;
    }
    const byLevel = new Map<number, TierFile[]>();
    for (const f of files) byLevel.set(f.level, [...(byLevel.get(f.level) ?? []), f]);
    for (const [level, list] of byLevel) {
      if (list.length >= FAN_IN) {
        plans.push({ tier, partition, inputs: bySeq(list).slice(0, FAN_IN), level: level + 1, reason: "fan-in" });
      }
    }
  }
  return plans.sort((a, b) => a.partition - b.partition || TIERS.indexOf(a.tier) - TIERS.indexOf(b.tier));
}

function bySeq(files: TierFile[]): TierFile[] {
  return [...files].sort((a, b) => a.seq - b.seq);
}

function maxLevel(files: TierFile[]): number {
  return files.reduce((a, f) => Math.max(a, f.level), 0);
}

/** What a merge did. */
export interface MergeReport {
  tier: string;
  partition: string;
  inputs: number;
  rows: number;
  bytesIn: number;
  bytesOut: number;
  committed: boolean;
}

/** Runs every due merge, one after another. */
export async function runMerges(core: Core): Promise<MergeReport[]> {
  const reports: MergeReport[] = [];
  for (const plan of planMerges(core.manifest, core.clock.now())) {
    reports.push(await mergeOne(core, plan));
  }
  return reports;
}

async function mergeOne(core: Core, plan: MergePlan): Promise<MergeReport> {
  const { seq, path } = allocate(core, plan.tier, plan.partition);
  const abs = join(core.dataDir, path);
  const accuracy = core.config.features.percentile.enabled ? core.config.features.percentile.accuracy : null;
  const result = await core.compactor.merge(plan.inputs.map((f) => join(core.dataDir, f.path)), abs, {
    tier: plan.tier,
    compression: core.config.features.compression,
    accuracy,
  });
  const out: TierFile = {
    path,
    tier: plan.tier,
    partition: plan.partition,
    seq,
    minTs: result.minTs,
    maxTs: result.maxTs,
    rows: result.rows,
    bytes: result.bytes,
    level: plan.level,
  };
  const committed = await core.catalog.run(async () => {
    const live = new Set(core.manifest.files.map((f) => f.path));
    if (!plan.inputs.every((f) => live.has(f.path))) return false;
    const gone = new Set(plan.inputs.map((f) => f.path));
    const m: Manifest = structuredClone(core.manifest);
    m.files = [...m.files.filter((f) => !gone.has(f.path)), out];
    await core.catalog.commit(m, "merge"); // the inputs are deleted after the delay
    return true;
  });
  if (!committed) await core.fs.unlink(abs).catch(() => {}); // an input went away meanwhile: drop the result
  return {
    tier: plan.tier,
    partition: new Date(plan.partition).toISOString().slice(0, 10),
    inputs: plan.inputs.length,
    rows: result.rows,
    bytesIn: plan.inputs.reduce((a, f) => a + f.bytes, 0),
    bytesOut: result.bytes,
    committed,
  };
}
