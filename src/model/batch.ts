/**
 * A columnar batch of samples: the hot-path representation from the decoders through the WAL into the
 * head (typed arrays, no object per sample). Counters up to 2^53 are exact in `value`; larger
 * counters keep their exact value in `big` (sparse), with `value` holding the nearest double.
 *
 * @module
 */
import { KIND_BY_CODE, KIND_CODE, type Sample } from "./sample.ts";

/** Flag bit in {@link SampleBatch.flags}: the poll succeeded. */
export const FLAG_VALID = 1;

/** Columnar samples. */
export class SampleBatch {
  length = 0;
  namespace: string[];
  target: string[];
  poller: string[];
  ts: Float64Array;
  kind: Uint8Array;
  flags: Uint8Array;
  value: Float64Array;
  pollMs: Int32Array;
  /** Exact counters above 2^53, by sample index. */
  big: Map<number, bigint> | null = null;
  /** Text values, by sample index. */
  text: Map<number, string> | null = null;
  /** Poll errors, by sample index. */
  error: Map<number, string> | null = null;
  /** Head series ids, filled when the batch is resolved against the series index. */
  seriesId: Int32Array;

  constructor(capacity: number) {
    this.namespace = new Array(capacity);
    this.target = new Array(capacity);
    this.poller = new Array(capacity);
    this.ts = new Float64Array(capacity);
    this.kind = new Uint8Array(capacity);
    this.flags = new Uint8Array(capacity);
    this.value = new Float64Array(capacity);
    this.pollMs = new Int32Array(capacity);
    this.seriesId = new Int32Array(capacity);
  }

  /** Whether sample `i` is valid. */
  isValid(i: number): boolean {
    return (this.flags[i] & FLAG_VALID) !== 0;
  }

  /** The exact counter of sample `i` (only meaningful for counters). */
  counterOf(i: number): bigint {
    return this.big?.get(i) ?? BigInt(this.value[i]);
  }

  setBig(i: number, v: bigint): void {
    (this.big ??= new Map()).set(i, v);
  }

  setText(i: number, v: string): void {
    (this.text ??= new Map()).set(i, v);
  }

  setError(i: number, v: string): void {
    if (v !== "") (this.error ??= new Map()).set(i, v);
  }

  /** Appends one sample object (tests, conversions). */
  push(s: Sample): void {
    const i = this.length++;
    this.namespace[i] = s.namespace;
    this.target[i] = s.target;
    this.poller[i] = s.poller;
    this.ts[i] = s.timestampMs;
    this.kind[i] = KIND_CODE[s.kind];
    this.flags[i] = s.valid ? FLAG_VALID : 0;
    this.pollMs[i] = s.pollMs;
    this.value[i] = s.kind === "gauge" ? s.value : NaN;
    if (s.kind === "counter") {
      const c = s.counter ?? BigInt(s.value);
      this.value[i] = Number(c);
      if (c > BigInt(Number.MAX_SAFE_INTEGER)) this.setBig(i, c);
    }
    if (s.kind === "text") this.setText(i, s.text ?? "");
    this.setError(i, s.error);
  }

  /** Sample `i` as an object (tests, slow paths). */
  sample(i: number): Sample {
    const kind = KIND_BY_CODE[this.kind[i]];
    const s: Sample = {
      namespace: this.namespace[i],
      target: this.target[i],
      poller: this.poller[i],
      timestampMs: this.ts[i],
      kind,
      value: kind === "gauge" || kind === "counter" ? this.value[i] : NaN,
      valid: this.isValid(i),
      error: this.error?.get(i) ?? "",
      pollMs: this.pollMs[i],
    };
    if (kind === "counter") s.counter = this.counterOf(i);
    if (kind === "text") s.text = this.text?.get(i) ?? "";
    return s;
  }

  /** Capacity: samples the columns hold. */
  get capacity(): number {
    return this.ts.length;
  }

  /** Empties the batch for reuse (its columns are overwritten as samples are added). */
  reset(): this {
    this.length = 0;
    this.big = this.text = this.error = null;
    return this;
  }

  /** A copy of the samples, in memory of its own (nothing shared with this batch's columns). */
  copy(): SampleBatch {
    const n = this.length;
    const out = new SampleBatch(n);
    for (let k = 0; k < n; k++) {
      out.namespace[k] = this.namespace[k];
      out.target[k] = this.target[k];
      out.poller[k] = this.poller[k];
    }
    out.ts.set(this.ts.subarray(0, n));
    out.kind.set(this.kind.subarray(0, n));
    out.flags.set(this.flags.subarray(0, n));
    out.value.set(this.value.subarray(0, n));
    out.pollMs.set(this.pollMs.subarray(0, n));
    out.seriesId.set(this.seriesId.subarray(0, n));
    out.big = this.big && new Map(this.big);
    out.text = this.text && new Map(this.text);
    out.error = this.error && new Map(this.error);
    out.length = n;
    return out;
  }

  /** A copy with room for `capacity` samples (the samples so far are kept). */
  grown(capacity: number): SampleBatch {
    const next = new SampleBatch(capacity);
    for (let k = 0; k < this.length; k++) {
      next.namespace[k] = this.namespace[k];
      next.target[k] = this.target[k];
      next.poller[k] = this.poller[k];
    }
    next.ts.set(this.ts);
    next.kind.set(this.kind);
    next.flags.set(this.flags);
    next.value.set(this.value);
    next.pollMs.set(this.pollMs);
    next.seriesId.set(this.seriesId);
    next.big = this.big;
    next.text = this.text;
    next.error = this.error;
    next.length = this.length;
    return next;
  }

  /** A new batch holding the samples at `indices`, in that order. */
  subset(indices: readonly number[]): SampleBatch {
    const out = new SampleBatch(indices.length);
    indices.forEach((i, j) => {
      out.namespace[j] = this.namespace[i];
      out.target[j] = this.target[i];
      out.poller[j] = this.poller[i];
      out.ts[j] = this.ts[i];
      out.kind[j] = this.kind[i];
      out.flags[j] = this.flags[i];
      out.value[j] = this.value[i];
      out.pollMs[j] = this.pollMs[i];
      out.seriesId[j] = this.seriesId[i];
      const big = this.big?.get(i);
      if (big !== undefined) out.setBig(j, big);
      const text = this.text?.get(i);
      if (text !== undefined) out.setText(j, text);
      const error = this.error?.get(i);
      if (error !== undefined) out.setError(j, error);
    });
    out.length = indices.length;
    return out;
  }

  /** Builds a batch from sample objects. */
  static of(samples: readonly Sample[]): SampleBatch {
    const b = new SampleBatch(samples.length);
    for (const s of samples) b.push(s);
    return b;
  }
}

/**
 * Samples the batches kept for reuse hold at most, all together (about 50 bytes each: 3 MiB): room
 * for the requests in flight at the usual body sizes; a larger batch is left to the collector.
 */
const POOL_MAX_SAMPLES = 1 << 16;

/**
 * Batches reused from request to request: a decoder takes one, the request gives it back once the
 * storage is done with it (acknowledged or refused: nothing holds a batch after `ingestScanned`
 * settles). A steady ingest then writes its samples into memory it already has instead of allocating
 * ~60 bytes per sample of columns per request, which the collector has to find again.
 *
 * @example
 * ```ts
 * import { BatchPool } from "./batch.ts";
 * const pool = new BatchPool();
 * const a = pool.take(100);
 * pool.give(a);
 * if (pool.take(50) !== a || pool.take(50) === a) throw new Error();
 * ```
 */
export class BatchPool {
  private readonly free: SampleBatch[] = [];
  private held = 0;

  /** An empty batch with room for at least `capacity` samples. */
  take(capacity: number): SampleBatch {
    for (let k = this.free.length - 1; k >= 0; k--) {
      const b = this.free[k];
      if (b.capacity < capacity) continue;
      this.free.splice(k, 1);
      this.held -= b.capacity;
      return b.reset();
    }
    return new SampleBatch(capacity);
  }

  /** Gives a batch back once nothing reads it any more. */
  give(b: SampleBatch): void {
    if (this.held + b.capacity > POOL_MAX_SAMPLES) return;
    this.held += b.capacity;
    this.free.push(b.reset());
  }
}
