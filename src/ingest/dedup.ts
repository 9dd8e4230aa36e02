/**
 * Idempotent ingest: before a batch goes to the WAL, decide which of its samples are new. A sample whose
 * (series, timestamp) is already stored — in memory, in a request queued in the WAL but not applied yet,
 * earlier in the same request, or in a raw Parquet file — is skipped and counted as a duplicate; when its
 * value differs from the stored one, the first write wins and it is also counted as a conflict. The WAL
 * then holds only new samples, so replay, flushes and every aggregate see each sample once.
 *
 * Cost. Per series the checker keeps `claimed`: an upper bound of every timestamp stored or queued for it
 * (8 bytes per series). A sample newer than its series' bound is new: one compare and one store, the
 * common case of pollers sending in time order. Only a sample at or before the bound takes the slow
 * path: the request's own earlier samples, the queued requests, the series' samples in the raw log (one
 * walk of its back links per request), and, when its time is older than what the raw log is complete
 * for (`RawLog.coverageStart`), the raw tier on disk through an asynchronous lookup done before the
 * decision (the caller supplies it; the storage service uses the query code).
 *
 * The decision itself is synchronous, so two requests carrying the same samples cannot both store them:
 * the second sees the first as queued ({@link Claim} entries stay queued until applied). A request that
 * counted duplicates of a queued one answers only once that one is applied, and fails (retry) if that
 * one failed: a duplicate is acknowledged only when the stored copy is durable.
 *
 * `NaN` in `claimed` means "unknown": the bound is recomputed from the series index
 * (`SeriesIndex.newestTs`) and the queued requests. Every path that could make a bound wrong (a failed
 * WAL write, a decision taken again, a series the index forgets) resets it to NaN.
 *
 * @module
 */
import type { Head } from "../head/head.ts";
import type { Chunk } from "../head/raw_log.ts";
import { FLAG_VALID, type SampleBatch } from "../model/batch.ts";
import { UnavailableError } from "../model/errors.ts";
import { KIND_CODE } from "../model/sample.ts";

/** A stored sample's content, as a re-sent sample is compared with it. */
export interface StoredValue {
  /** `KIND_CODE` of the sample. */
  kind: number;
  valid: boolean;
  /** Gauge value (NaN for other kinds). */
  value: number;
  /** Exact counter (null for other kinds). */
  counter: bigint | null;
  /** Text value (null for other kinds). */
  text: string | null;
  /** Poll error ("" when none). */
  error: string;
}

/** Stored samples found by a lookup: series id → timestamp → content. */
export type Found = Map<number, Map<number, StoredValue>>;

/**
 * Looks samples up in the raw tier: `wanted` maps series ids to timestamps. Must read the state at its
 * start synchronously (files and memory at one instant, as a query view does), before its first await.
 */
export type ColdLookup = (wanted: Map<number, number[]>) => Promise<Found>;

/** Rounds of cold lookups before a request gives up (eviction kept invalidating them). */
const MAX_ROUNDS = 8;

const VERDICT_NEW = 0;
const VERDICT_DUPLICATE = 1;
const VERDICT_CONFLICT = 2;
const VERDICT_COLD = 3;

/** A request's samples queued in the WAL but not applied to the head yet. */
class Queued {
  private index: Map<number, Map<number, number>> | null = null;
  failed = false;
  readonly done: Promise<void>;
  settle!: () => void;

  constructor(readonly batch: SampleBatch) {
    this.done = new Promise((resolve) => (this.settle = resolve));
  }

  /** Index of the sample at (series, ts) in the batch, or -1. */
  find(series: number, ts: number): number {
    return this.byTime(series)?.get(ts) ?? -1;
  }

  /** The newest timestamp of `series` in the batch (-Infinity when none). */
  newest(series: number): number {
    let max = -Infinity;
    for (const t of this.byTime(series)?.keys() ?? []) if (t > max) max = t;
    return max;
  }

  private byTime(series: number): Map<number, number> | undefined {
    if (!this.index) {
      this.index = new Map();
      const b = this.batch;
      for (let i = 0; i < b.length; i++) {
        let m = this.index.get(b.seriesId[i]);
        if (!m) this.index.set(b.seriesId[i], m = new Map());
        m.set(b.ts[i], i);
      }
    }
    return this.index.get(series);
  }
}

/** What a request stores: its new samples, and what it skipped. */
export interface Claim {
  /** The new samples (the request's batch itself when all are new). */
  readonly fresh: SampleBatch;
  /** Samples skipped because their (series, timestamp) is stored, queued, or earlier in the request. */
  readonly duplicates: number;
  /** Of the duplicates, those whose value differs from the stored one (the stored one stays). */
  readonly conflicts: number;
  /** Applies the new samples to the head (call from the WAL's apply callback). */
  apply(): void;
  /** The WAL refused the new samples: nothing was stored. */
  fail(): void;
  /**
   * Resolves once every queued request this one counted duplicates of is applied; rejects with
   * {@link UnavailableError} (retry) when one of them failed.
   */
  settled(): Promise<void>;
}

/** Per request state of the slow path. */
class SlowPath {
  /** The request's new samples so far: series → the index of its only one, or timestamp → index. */
  private readonly own = new Map<number, number | Map<number, number>>();
  /** Raw log positions of a series by timestamp, walked lazily from the newest: seen so far, and next. */
  private readonly memory = new Map<number, { seen: Map<number, number>; next: number }>();
  readonly deps = new Set<Queued>();
  /** Bounds of series before this request (see {@link Dedup.bound}). */
  readonly before = new Map<number, number>();

  constructor(private readonly head: Head, private readonly batch: SampleBatch) {}

  addOwn(series: number, ts: number, i: number): void {
    const m = this.own.get(series);
    if (m === undefined) this.own.set(series, i);
    else if (typeof m === "number") {
      if (this.batch.ts[m] !== ts) this.own.set(series, new Map([[this.batch.ts[m], m], [ts, i]]));
    } else if (!m.has(ts)) m.set(ts, i);
  }

  /** Index of the request's earlier new sample at (series, ts), or -1. */
  ownAt(series: number, ts: number): number {
    const m = this.own.get(series);
    if (m === undefined) return -1;
    if (typeof m === "number") return this.batch.ts[m] === ts ? m : -1;
    return m.get(ts) ?? -1;
  }

  /**
   * Position of (series, ts) in the raw log, or -1. Follows the series' back links from the newest
   * sample only as far as needed (a re-sent recent sample is found after a few steps). The first look-up
   * of a series in a request only compares; from the second on, what was walked is remembered, so a
   * request re-sending many samples of one series walks its chain once.
   */
  inMemory(series: number, ts: number): number {
    const raw = this.head.raw;
    const m = this.memory.get(series);
    if (!m) {
      this.memory.set(series, { seen: new Map(), next: raw.lastPosition(series) });
      for (let pos = raw.lastPosition(series); pos >= raw.start;) {
        const { chunk, i } = raw.locate(pos);
        if (chunk.ts[i] === ts) return pos;
        pos = chunk.prev[i];
      }
      return -1;
    }
    const known = m.seen.get(ts);
    if (known !== undefined) return known;
    while (m.next >= raw.start) {
      const pos = m.next;
      const { chunk, i } = raw.locate(pos);
      m.next = chunk.prev[i];
      const t = chunk.ts[i];
      if (!m.seen.has(t)) m.seen.set(t, pos);
      if (t === ts) return pos;
    }
    return -1;
  }
}

/** Cold lookups of one request so far. */
interface ColdState {
  /** `raw.end` when the oldest lookup kept started: valid while the log still holds every later position. */
  since: number;
  checked: Map<number, Set<number>>;
  found: Found;
}

/**
 * The checker of one head.
 *
 * @example
 * ```ts
 * import { Dedup } from "./dedup.ts";
 * import { Head } from "../head/head.ts";
 * import { SampleBatch } from "../model/batch.ts";
 * import { gauge } from "../model/sample.ts";
 * const head = new Head({ accuracy: null, hotWindowMs: 3_600_000, hotMemoryBytes: 1 << 26 });
 * const dedup = new Dedup(head);
 * const noCold = () => Promise.resolve(new Map());
 * const send = async () => {
 *   const b = SampleBatch.of([gauge("ns", "t", "p", 60_000, 1), gauge("ns", "t", "p", 60_000, 1)]);
 *   head.series.resolveBatch(b);
 *   const claim = await dedup.claim(b, noCold);
 *   claim.apply();
 *   return [claim.fresh.length, claim.duplicates];
 * };
 * const [first, second] = [await send(), await send()];
 * if (first.join() !== "1,1" || second.join() !== "0,2") throw new Error(`${first} ${second}`);
 * ```
 */
export class Dedup {
  private claimed: Float64Array = new Float64Array(1024).fill(NaN);
  private readonly queued = new Set<Queued>();

  constructor(private readonly head: Head) {}

  /** Requests queued in the WAL, not applied yet. */
  get queuedRequests(): number {
    return this.queued.size;
  }

  /**
   * Decides which samples of a resolved batch are new and claims them (they count as stored for every
   * later request from now on). Looks the raw tier up first when some sample may be stored only there.
   */
  async claim(batch: SampleBatch, lookup: ColdLookup): Promise<Claim> {
    let cold: ColdState | null = null;
    for (let round = 0;; round++) {
      if (cold && this.head.raw.start > cold.since) cold = null; // something stored since was evicted
      const decided = this.decide(batch, cold);
      if (!(decided instanceof Map)) return decided;
      if (round === MAX_ROUNDS) {
        throw new UnavailableError(
          "Cannot check the request for duplicates while raw samples are being evicted; retry",
        );
      }
      const since = this.head.raw.end;
      const found = await lookup(decided);
      if (!cold) cold = { since, checked: new Map(), found: new Map() };
      for (const [series, times] of decided) {
        let c = cold.checked.get(series);
        if (!c) cold.checked.set(series, c = new Set());
        for (const t of times) c.add(t);
      }
      for (const [series, byTs] of found) {
        let f = cold.found.get(series);
        if (!f) cold.found.set(series, f = new Map());
        for (const [t, v] of byTs) f.set(t, v);
      }
    }
  }

  /** Forgets what is known about a series (its bound is recomputed when next needed). */
  forget(series: number): void {
    if (series < this.claimed.length) this.claimed[series] = NaN;
  }

  /**
   * The decision, synchronously: a claim, or the samples that need a cold lookup first (then nothing
   * was claimed).
   */
  private decide(batch: SampleBatch, cold: ColdState | null): Claim | Map<number, number[]> {
    const { ts, seriesId } = batch;
    const n = batch.length;
    let claimed: Float64Array = this.claimed;
    let verdicts: Uint8Array | null = null;
    let slow: SlowPath | null = null;
    let wanted: Map<number, number[]> | null = null;
    let duplicates = 0;
    let conflicts = 0;
    for (let i = 0; i < n; i++) {
      const s = seriesId[i];
      const t = ts[i];
      if (t > claimed[s]) { // the common case: newer than everything stored or queued for the series
        claimed[s] = t;
        if (slow) slow.addOwn(s, t, i);
        continue;
      }
      if (!slow) {
        slow = new SlowPath(this.head, batch);
        verdicts = new Uint8Array(n);
        for (let j = 0; j < i; j++) slow.addOwn(seriesId[j], ts[j], j);
      }
      if (s >= claimed.length) claimed = this.grow(s);
      const v = this.slowVerdict(batch, i, slow, cold);
      verdicts![i] = v;
      if (v === VERDICT_NEW) slow.addOwn(s, t, i);
      else if (v === VERDICT_COLD) {
        wanted ??= new Map();
        let list = wanted.get(s);
        if (!list) wanted.set(s, list = []);
        list.push(t);
      } else {
        duplicates++;
        if (v === VERDICT_CONFLICT) conflicts++;
      }
    }
    if (wanted) {
      for (let i = 0; i < n; i++) claimed[seriesId[i]] = NaN; // nothing claimed: decide again later
      return wanted;
    }
    let fresh = batch;
    if (duplicates > 0) {
      const keep: number[] = [];
      for (let i = 0; i < n; i++) if (verdicts![i] === VERDICT_NEW) keep.push(i);
      fresh = batch.subset(keep);
    }
    return this.claimOf(fresh, duplicates, conflicts, slow ? [...slow.deps] : []);
  }

  /** The verdict for sample `i`, which is not newer than its series' bound (or the bound is unknown). */
  private slowVerdict(batch: SampleBatch, i: number, slow: SlowPath, cold: ColdState | null): number {
    const s = batch.seriesId[i];
    const t = batch.ts[i];
    const claimed = this.claimed;
    if (Number.isNaN(claimed[s])) claimed[s] = this.bound(s);
    if (t > claimed[s]) {
      claimed[s] = t;
      return VERDICT_NEW;
    }
    const own = slow.ownAt(s, t);
    if (own >= 0) return sameAs(batch, i, batchValue(batch, own)) ? VERDICT_DUPLICATE : VERDICT_CONFLICT;
    // newer than everything stored or queued before this request (a batch sent newest-first)
    let before = slow.before.get(s);
    if (before === undefined) slow.before.set(s, before = this.bound(s));
    if (t > before) return VERDICT_NEW;
    for (const q of this.queued) {
      const j = q.find(s, t);
      if (j < 0) continue;
      slow.deps.add(q);
      return sameAs(batch, i, batchValue(q.batch, j)) ? VERDICT_DUPLICATE : VERDICT_CONFLICT;
    }
    const pos = slow.inMemory(s, t);
    if (pos >= 0) {
      const { chunk, i: k } = this.head.raw.locate(pos);
      return sameAs(batch, i, chunkValue(chunk, k)) ? VERDICT_DUPLICATE : VERDICT_CONFLICT;
    }
    if (t >= this.head.raw.coverageStart) return VERDICT_NEW; // the log holds everything from there on
    if (!cold?.checked.get(s)?.has(t)) return VERDICT_COLD;
    const stored = cold.found.get(s)?.get(t);
    if (!stored) return VERDICT_NEW;
    return sameAs(batch, i, stored) ? VERDICT_DUPLICATE : VERDICT_CONFLICT;
  }

  /**
   * An upper bound of the timestamps stored or queued for `series`: what the series index says (its
   * newest applied one, also across restarts through the snapshot) and the queued requests.
   */
  private bound(series: number): number {
    let b = this.head.series.newestTs(series);
    for (const q of this.queued) b = Math.max(b, q.newest(series));
    return b;
  }

  private claimOf(fresh: SampleBatch, duplicates: number, conflicts: number, deps: Queued[]): Claim {
    const queued = fresh.length > 0 ? new Queued(fresh) : null;
    if (queued) this.queued.add(queued);
    let finished = false;
    const finish = (failed: boolean) => {
      if (finished || !queued) return;
      finished = true;
      this.queued.delete(queued);
      queued.failed = failed;
      if (failed) { for (let i = 0; i < fresh.length; i++) this.forget(fresh.seriesId[i]); }
      queued.settle();
    };
    return {
      fresh,
      duplicates,
      conflicts,
      apply: () => {
        this.head.apply(fresh);
        finish(false);
      },
      fail: () => finish(true),
      settled: async () => {
        for (const d of deps) {
          await d.done;
          if (d.failed) {
            throw new UnavailableError(
              "Samples of this request were being stored by a concurrent request that failed; retry",
            );
          }
        }
      },
    };
  }

  private grow(series: number): Float64Array {
    const grown = new Float64Array(Math.max(series + 1, this.claimed.length * 2)).fill(NaN);
    grown.set(this.claimed);
    this.claimed = grown;
    return grown;
  }
}

/** Whether sample `i` of `b` has the same content as `stored` (the poll duration is not compared). */
export function sameAs(b: SampleBatch, i: number, stored: StoredValue): boolean {
  const v = batchValue(b, i);
  return v.kind === stored.kind && v.valid === stored.valid && v.error === stored.error &&
    (v.value === stored.value || (Number.isNaN(v.value) && Number.isNaN(stored.value))) &&
    v.counter === stored.counter && v.text === stored.text;
}

function batchValue(b: SampleBatch, i: number): StoredValue {
  const kind = b.kind[i];
  return {
    kind,
    valid: (b.flags[i] & FLAG_VALID) !== 0,
    value: kind === KIND_CODE.gauge ? b.value[i] : NaN,
    counter: kind === KIND_CODE.counter ? b.counterOf(i) : null,
    text: kind === KIND_CODE.text ? b.text?.get(i) ?? "" : null,
    error: b.error?.get(i) ?? "",
  };
}

function chunkValue(c: Chunk, i: number): StoredValue {
  const kind = c.kind[i];
  return {
    kind,
    valid: (c.flags[i] & FLAG_VALID) !== 0,
    value: kind === KIND_CODE.gauge ? c.value[i] : NaN,
    counter: kind === KIND_CODE.counter ? c.big?.get(i) ?? BigInt(c.value[i]) : null,
    text: kind === KIND_CODE.text ? c.text?.get(i) ?? "" : null,
    error: c.error?.get(i) ?? "",
  };
}
