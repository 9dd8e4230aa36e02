/**
 * Merging small files of a partition into bigger ones, so queries open few files. A flush writes one
 * file per partition every flush interval (level 0); when a partition holds {@link FAN_IN} files of a
 * level, they are merged into one file of the next level (size-tiered: each byte is rewritten only a
 * few times while the partition is current). Once the partition is sealed (its time is over, plus a
 * grace), everything in it is merged into one file — except raw, merged into one file per hour
 * ({@link SEALED_BLOCK_MS}): rows are sorted by series within a file, so a file of the whole day has
 * every page spanning the day, and a read of one hour over many series (a dashboard's `topk` over a
 * namespace) had to decode all of it; an hour's file is all it reads now.
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

/**
 * Sealed partitions of these tiers are merged into one file per block of this many ms (aligned on the
 * epoch); the other tiers into one file per partition. Raw: an hour (1,440 rows a series a day would
 * otherwise share every page's time range); the 5-minute tier is read over days, at 288 rows a day.
 */
export const SEALED_BLOCK_MS: Partial<Record<TierFile["tier"], number>> = { raw: 3_600_000 };

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
      const inputs = sealedInputs(files, SEALED_BLOCK_MS[tier]);
      if (inputs.length > 0) {
        plans.push({ tier, partition, inputs: bySeq(inputs), level: maxLevel(files) + 1, reason: "sealed" });
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

/**
 * The files of a sealed partition to merge: all of them when there are two or more (no blocks); with
 * blocks, those touching a block that two files touch or that a file spans beyond (so every block ends
 * with one file of its own, and an old file of the whole day is split once).
 */
function sealedInputs(files: TierFile[], blockMs: number | undefined): TierFile[] {
  if (blockMs === undefined) return files.length >= 2 ? files : [];
  const span = (f: TierFile) => [Math.floor(f.minTs / blockMs), Math.floor(f.maxTs / blockMs)];
  const touches = new Map<number, number>();
  const due = new Set<number>();
  for (const f of files) {
    const [first, last] = span(f);
    for (let b = first; b <= last; b++) {
      touches.set(b, (touches.get(b) ?? 0) + 1);
      if (last > first) due.add(b);
    }
  }
  for (const [b, n] of touches) if (n >= 2) due.add(b);
  return files.filter((f) => {
    const [first, last] = span(f);
    for (let b = first; b <= last; b++) if (due.has(b)) return true;
    return false;
  });
}

/** The outputs of a merge: one over all time, or one per block its inputs span. */
function blockOutputs(plan: MergePlan): { fromMs: number; toMs: number }[] {
  const blockMs = plan.reason === "sealed" ? SEALED_BLOCK_MS[plan.tier] : undefined;
  if (blockMs === undefined) return [{ fromMs: -Infinity, toMs: Infinity }];
  const first = Math.min(...plan.inputs.map((f) => Math.floor(f.minTs / blockMs)));
  const last = Math.max(...plan.inputs.map((f) => Math.floor(f.maxTs / blockMs)));
  const out: { fromMs: number; toMs: number }[] = [];
  for (let b = first; b <= last; b++) out.push({ fromMs: b * blockMs, toMs: (b + 1) * blockMs });
  return out;
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
  /** Files written (one, or one per block of a sealed raw partition). */
  outputs: number;
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
  const outputs = blockOutputs(plan).map((block) => ({ ...allocate(core, plan.tier, plan.partition), ...block }));
  const abs = (path: string) => join(core.dataDir, path);
  const accuracy = core.config.features.percentile.enabled ? core.config.features.percentile.accuracy : null;
  const results = await core.compactor.merge(
    plan.inputs.map((f) => abs(f.path)),
    outputs.map((o) => ({ path: abs(o.path), fromMs: o.fromMs, toMs: o.toMs })),
    { tier: plan.tier, compression: core.config.features.compression, accuracy },
  );
  const written: TierFile[] = results.map((result) => {
    const { path, seq } = outputs.find((o) => abs(o.path) === result.path)!;
    return {
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
  });
  const committed = await core.catalog.run(async () => {
    const live = new Set(core.manifest.files.map((f) => f.path));
    if (!plan.inputs.every((f) => live.has(f.path))) return false;
    const gone = new Set(plan.inputs.map((f) => f.path));
    const m: Manifest = structuredClone(core.manifest);
    m.files = [...m.files.filter((f) => !gone.has(f.path)), ...written];
    await core.catalog.commit(m, "merge"); // the inputs are deleted after the delay
    return true;
  });
  // an input went away meanwhile: drop the result
  if (!committed) { for (const f of written) await core.fs.unlink(abs(f.path)).catch(() => {}); }
  return {
    tier: plan.tier,
    partition: new Date(plan.partition).toISOString().slice(0, 10),
    inputs: plan.inputs.length,
    outputs: written.length,
    rows: written.reduce((a, f) => a + f.rows, 0),
    bytesIn: plan.inputs.reduce((a, f) => a + f.bytes, 0),
    bytesOut: written.reduce((a, f) => a + f.bytes, 0),
    committed,
  };
}
