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
