/**
 * The series index: interns (namespace, target, poller) identities to dense integer ids, and keeps
 * the last value of every series (the last-value cache behind `GET /api/v1/series`).
 *
 * Ids are assigned when a batch is resolved, before its WAL write; a series only becomes visible
 * (listed, queried) once a sample of it has been applied, so a rejected batch leaves no trace.
 *
 * @module
 */
import { FLAG_VALID, type SampleBatch } from "../model/batch.ts";
import { InputError } from "../model/errors.ts";
import { KIND_CODE } from "../model/sample.ts";
import { copyReusing } from "../model/typed.ts";
import type { SeriesFilter } from "../model/series_filter.ts";
import { type NamesDelta, namesDelta } from "../tier/flush_job.ts";
import type { SeriesState } from "../tier/snapshot_encode.ts";
import { compareIdentity } from "../model/identity.ts";

export type { SeriesState };
export { compareIdentity };

/** The last value of a series. */
export interface LastValue {
  ts: number;
  kind: number;
  valid: boolean;
  value: number;
  big?: bigint;
  text?: string;
  error?: string;
}

/** A visible series with its last value. */
export interface SeriesEntry {
  id: number;
  namespace: string;
  target: string;
  poller: string;
  last: LastValue;
}

/**
 * The index.
 *
 * @example
 * ```ts
 * import { SeriesIndex } from "./series.ts";
 * const idx = new SeriesIndex();
 * const id = idx.resolve("prod", "r1", "cpu.load");
 * if (idx.resolve("prod", "r1", "cpu.load") !== id || idx.names(id)[2] !== "cpu.load") throw new Error();
 * ```
 */
export class SeriesIndex {
  private readonly byNs = new Map<string, Map<string, Map<string, number>>>();
  private ns: string[] = [];
  private target: string[] = [];
  private poller: string[] = [];
  private lastTs = new Float64Array(1024).fill(-Infinity);
  private lastKind = new Uint8Array(1024);
  private lastFlags = new Uint8Array(1024);
  private lastValue = new Float64Array(1024);
  private lastBig = new Map<number, bigint>();
  private lastText = new Map<number, string>();
  private lastError = new Map<number, string>();
  private sortedCache: Int32Array | null = null;
  private visibleCount = 0;
  /** Ids forgotten by idle expiry, in order (their slots stay, empty: ids are never reused). */
  private readonly droppedIds: number[] = [];
  /** The previous capture, whose memory the next one reuses. */
  private spare: SeriesState | null = null;

  /** Number of ids handed out (visible or not, forgotten ones included). */
  get size(): number {
    return this.ns.length;
  }

  /** Number of series held: ids handed out and not forgotten. */
  get held(): number {
    return this.ns.length - this.droppedIds.length;
  }

  /** How many series idle expiry forgot. */
  get dropped(): number {
    return this.droppedIds.length;
  }

  /** Number of series with at least one applied sample. */
  get visible(): number {
    return this.visibleCount;
  }

  /**
   * Most series this index creates (`limits.max_series`); a new one past it is refused with
   * `InputError` code `series_limit`. Recovery sets it only after replay: acknowledged data always loads.
   */
  limit = Infinity;

  /** The id of a series, creating it (invisible) when new; `index` names the sample in errors. */
  resolve(namespace: string, target: string, poller: string, index?: number): number {
    let targets = this.byNs.get(namespace);
    if (!targets) this.byNs.set(namespace, targets = new Map());
    let pollers = targets.get(target);
    if (!pollers) targets.set(target, pollers = new Map());
    let id = pollers.get(poller);
    if (id === undefined) {
      if (this.held >= this.limit) {
        throw new InputError(
          "series_limit",
          `Cannot add series ${namespace}/${target}/${poller}: ${this.held} series are held, the limit (limits.max_series, or what server.memory_limit allows) is ${this.limit}; raise it or stop sending new series`,
          index,
        );
      }
      id = this.ns.length;
      pollers.set(poller, id);
      this.ns.push(namespace);
      this.target.push(target);
      this.poller.push(poller);
      this.ensure(id);
      this.sortedCache = null;
    }
    return id;
  }

  /** The id of a series, or -1. */
  lookup(namespace: string, target: string, poller: string): number {
    return this.byNs.get(namespace)?.get(target)?.get(poller) ?? -1;
  }

  /**
   * The names of ids from `from` on, and the ids forgotten from the `forgetFrom`-th on, for the flush
   * encoder's copy of them.
   */
  namesSince(from: number, forgetFrom = this.droppedIds.length): NamesDelta {
    const d = namesDelta(this.ns, this.target, this.poller, from);
    d.forget = Int32Array.from(this.droppedIds.slice(forgetFrom));
    d.forgotten = this.droppedIds.length;
    return d;
  }

  /**
   * Forgets series `id` (idle expiry; the caller checked nothing of it is unflushed or open): its names
   * and last value leave memory, a later sample of its identity creates a new id. Its newest timestamp
   * raises {@link forgottenNewest}, so duplicate checks still find what it stored.
   */
  forget(id: number): void {
    const ts = this.lastTs[id];
    if (ts === -Infinity && this.ns[id] === "") return;
    const targets = this.byNs.get(this.ns[id]);
    const pollers = targets?.get(this.target[id]);
    if (pollers?.get(this.poller[id]) === id) {
      pollers.delete(this.poller[id]);
      if (pollers.size === 0) targets!.delete(this.target[id]);
      if (targets!.size === 0) this.byNs.delete(this.ns[id]);
    }
    if (ts !== -Infinity) {
      this.visibleCount--;
      if (ts > this.forgottenNewest) this.forgottenNewest = ts;
    }
    this.ns[id] = this.target[id] = this.poller[id] = "";
    this.lastTs[id] = -Infinity;
    this.lastBig.delete(id);
    this.lastText.delete(id);
    this.lastError.delete(id);
    this.droppedIds.push(id);
    this.sortedCache = null;
  }

  /** Visible series whose newest sample is older than `beforeTs`. */
  idleSince(beforeTs: number): number[] {
    const out: number[] = [];
    const n = this.ns.length, lastTs = this.lastTs;
    for (let id = 0; id < n; id++) if (lastTs[id] < beforeTs && lastTs[id] !== -Infinity) out.push(id);
    return out;
  }

  /** Resolves every sample of a batch (fills `batch.seriesId`). */
  resolveBatch(batch: SampleBatch): void {
    for (let i = 0; i < batch.length; i++) {
      batch.seriesId[i] = this.resolve(batch.namespace[i], batch.target[i], batch.poller[i], i);
    }
  }

  /** The identity of series `id`. */
  names(id: number): readonly [string, string, string] {
    return [this.ns[id], this.target[id], this.poller[id]];
  }

  /**
   * A copy of the last values (a snapshot's cut: typed-array copies), with the names as they are: ids
   * are only ever added, so the ids below the capture's count keep their names. It reuses the previous
   * capture's memory: valid until the next capture.
   */
  capture(): SeriesState {
    const n = this.ns.length;
    const sp = this.spare;
    this.spare = {
      namespace: this.ns,
      target: this.target,
      poller: this.poller,
      lastTs: copyReusing(this.lastTs, n, sp?.lastTs ?? null),
      lastKind: copyReusing(this.lastKind, n, sp?.lastKind ?? null),
      lastFlags: copyReusing(this.lastFlags, n, sp?.lastFlags ?? null),
      lastValue: copyReusing(this.lastValue, n, sp?.lastValue ?? null),
      lastBig: new Map(this.lastBig),
      lastText: new Map(this.lastText),
      lastError: new Map(this.lastError),
    };
    return this.spare;
  }

  /** Lets the last capture go once it is encoded (see `Aggregator.releaseCapture`). */
  releaseCapture(): void {
    this.spare = null;
  }

  /** Whether a sample of series `id` has been applied. */
  isVisible(id: number): boolean {
    return this.lastTs[id] !== -Infinity;
  }

  /**
   * Newest timestamp of any stored sample whose series this index does not know (its snapshot was lost,
   * or the series was dropped); -Infinity while it knows every series that has stored samples.
   */
  forgottenNewest = -Infinity;

  /**
   * An upper bound of the timestamps stored for series `id`: its newest applied one, or for a series
   * without one, {@link forgottenNewest} (duplicate checks use it).
   */
  newestTs(id: number): number {
    const ts = id < this.lastTs.length ? this.lastTs[id] : -Infinity;
    return ts !== -Infinity ? ts : this.forgottenNewest;
  }

  /** Records sample `i` of `batch` as the series' last value when it is the newest. */
  observe(batch: SampleBatch, i: number): void {
    const id = batch.seriesId[i];
    const ts = batch.ts[i];
    if (ts < this.lastTs[id]) return;
    if (this.lastTs[id] === -Infinity) this.visibleCount++;
    this.lastTs[id] = ts;
    this.lastKind[id] = batch.kind[i];
    this.lastFlags[id] = batch.flags[i];
    this.lastValue[id] = batch.value[i];
    setOrDelete(this.lastBig, id, batch.big?.get(i));
    setOrDelete(this.lastText, id, batch.text?.get(i));
    setOrDelete(this.lastError, id, batch.error?.get(i));
  }

  /** Restores a last value (snapshot loading). */
  restoreLast(id: number, last: LastValue): void {
    if (this.lastTs[id] === -Infinity) this.visibleCount++;
    this.lastTs[id] = last.ts;
    this.lastKind[id] = last.kind;
    this.lastFlags[id] = last.valid ? FLAG_VALID : 0;
    this.lastValue[id] = last.value;
    setOrDelete(this.lastBig, id, last.big);
    setOrDelete(this.lastText, id, last.text);
    setOrDelete(this.lastError, id, last.error);
  }

  /** The last value of a visible series. */
  last(id: number): LastValue {
    const v: LastValue = {
      ts: this.lastTs[id],
      kind: this.lastKind[id],
      valid: (this.lastFlags[id] & FLAG_VALID) !== 0,
      value: this.lastValue[id],
    };
    const big = this.lastBig.get(id);
    if (big !== undefined) v.big = big;
    const text = this.lastText.get(id);
    if (text !== undefined) v.text = text;
    const error = this.lastError.get(id);
    if (error !== undefined) v.error = error;
    if (v.kind === KIND_CODE.counter && v.big === undefined) v.big = BigInt(v.value);
    return v;
  }

  /** Visible series matching a filter (all when `filter` is null), sorted by identity. */
  *matching(filter: Partial<SeriesFilter> | null): Generator<number> {
    if (!filter || filter.namespace === undefined) {
      for (const id of this.sortedIds()) {
        if (!this.isVisible(id)) continue;
        if (filter?.target !== undefined && this.target[id] !== filter.target) continue;
        if (filter?.poller !== undefined && this.poller[id] !== filter.poller) continue;
        yield id;
      }
      return;
    }
    const targets = this.byNs.get(filter.namespace);
    if (!targets) return;
    const ids: number[] = [];
    const pollersOf = filter.target !== undefined ? [targets.get(filter.target)] : [...targets.values()];
    for (const pollers of pollersOf) {
      if (!pollers) continue;
      if (filter.poller !== undefined) {
        const id = pollers.get(filter.poller);
        if (id !== undefined) ids.push(id);
      } else ids.push(...pollers.values());
    }
    const visible = ids.filter((id) => this.isVisible(id));
    if (visible.length > 1) {
      visible.sort((a, b) =>
        compareIdentity(this.ns[a], this.target[a], this.poller[a], this.ns[b], this.target[b], this.poller[b])
      );
    }
    yield* visible;
  }

  /** Visible series of a filter as entries. */
  entries(filter: Partial<SeriesFilter> | null): SeriesEntry[] {
    const out: SeriesEntry[] = [];
    for (const id of this.matching(filter)) {
      out.push({ id, namespace: this.ns[id], target: this.target[id], poller: this.poller[id], last: this.last(id) });
    }
    return out;
  }

  /** All ids sorted by (namespace, target, poller); cached until a series is added. */
  sortedIds(): Int32Array {
    if (this.sortedCache) return this.sortedCache;
    const ids = Array.from({ length: this.ns.length }, (_, i) => i);
    ids.sort((a, b) =>
      compareIdentity(this.ns[a], this.target[a], this.poller[a], this.ns[b], this.target[b], this.poller[b])
    );
    this.sortedCache = Int32Array.from(ids);
    return this.sortedCache;
  }

  /** rank[id] = position of the series in identity order. */
  ranks(): Int32Array {
    const sorted = this.sortedIds();
    const rank = new Int32Array(this.ns.length);
    for (let r = 0; r < sorted.length; r++) rank[sorted[r]] = r;
    return rank;
  }

  private ensure(id: number): void {
    if (id < this.lastTs.length) return;
    const size = Math.max(id + 1, this.lastTs.length * 2);
    this.lastTs = grow(this.lastTs, size, -Infinity);
    this.lastKind = grow(this.lastKind, size, 0);
    this.lastFlags = grow(this.lastFlags, size, 0);
    this.lastValue = grow(this.lastValue, size, 0);
  }
}

function setOrDelete<V>(map: Map<number, V>, id: number, v: V | undefined): void {
  if (v !== undefined) map.set(id, v);
  else if (map.size > 0) map.delete(id); // the common case (no text, error or big counter anywhere) costs no look-up
}

function grow<T extends Float64Array | Uint8Array>(a: T, size: number, fill: number): T {
  const out = new (a.constructor as new (n: number) => T)(size);
  out.fill(fill);
  out.set(a);
  return out;
}
