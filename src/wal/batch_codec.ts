/**
 * Payload of a BATCH record (docs/format/wal.md): series definitions — those the record uses for the
 * first time in its segment, plus again those the record before it in the segment defined — then the
 * samples referring to series by id. Each segment defines every series it uses, so any segment can be
 * replayed on its own; every definition is written twice, so one damaged record costs only its own
 * samples.
 *
 * ```
 * varint  new series count S
 * S ×     varint id, string namespace, string target, string poller
 * varint  sample count N
 * zigzag  base timestamp (ms)
 * N ×     varint series id
 *         zigzag timestamp − base
 *         u8 flags: bits 0-1 kind (0 none, 1 gauge, 2 counter, 3 text), bit 2 valid,
 *                   bit 3 error follows, bit 4 poll_ms follows
 *         gauge: f64 LE | counter: varint (up to 2^64−1) | text: string | none: nothing
 *         [string error] [zigzag poll_ms]
 * string = varint byte length + UTF-8
 * ```
 *
 * @module
 */
import { FLAG_VALID, SampleBatch } from "../model/batch.ts";
import { KIND_CODE } from "../model/sample.ts";
import { ByteReader, ByteWriter, DecodeError, varintAt } from "../model/bytes.ts";

const F_VALID = 0b100;
const F_ERROR = 0b1000;
const F_POLL = 0b10000;

/** A series definition carried by a record. */
export interface SeriesDef {
  id: number;
  namespace: string;
  target: string;
  poller: string;
}

/** Where the encoder learns which series a segment has already defined, and their names. */
export interface SeriesDefiner {
  /** True (and remembers it) when `id` is not yet defined in the current segment. */
  needsDefinition(id: number): boolean;
  /** The identity of series `id`. */
  names(id: number): readonly [string, string, string];
  /** Writes the three strings of series `id`'s identity (else they are encoded from {@link names}). */
  writeNames?(out: ByteWriter, id: number): void;
}

/**
 * The encoded identity strings of every series (by id; ids are never reused, so an id's bytes never
 * change): a WAL segment defines each series it uses, so every flush's rotation defines every active
 * series again, twice — encoding them once makes that a copy of a few bytes. About the identity's
 * UTF-8 length plus 3 bytes per series, in one array (nothing for the collector to trace).
 *
 * @example
 * ```ts
 * import { ByteWriter } from "../model/bytes.ts";
 * import { DefinitionCache } from "./batch_codec.ts";
 * const cache = new DefinitionCache((id) => ["prod", `r${id}`, "cpu"]);
 * const a = new ByteWriter(), b = new ByteWriter();
 * cache.write(a, 7);
 * b.string("prod"); b.string("r7"); b.string("cpu");
 * if (a.bytes().join() !== b.bytes().join()) throw new Error();
 * ```
 */
export class DefinitionCache {
  private arena = new Uint8Array(1 << 16);
  private used = 0;
  private start = new Int32Array(1024).fill(-1);
  private length = new Int32Array(1024);
  private readonly scratch = new ByteWriter(1024);

  constructor(private readonly names: (id: number) => readonly [string, string, string]) {}

  /** Appends series `id`'s namespace, target and poller (each a varint length and UTF-8) to `out`. */
  write(out: ByteWriter, id: number): void {
    if (id >= this.start.length) this.grow(id);
    let from = this.start[id];
    if (from < 0) from = this.add(id);
    const n = this.length[id];
    out.ensure(n);
    const arena = this.arena, buf = out.buf;
    let p = out.pos;
    for (let k = from, end = from + n; k < end; k++) buf[p++] = arena[k];
    out.pos = p;
  }

  private add(id: number): number {
    const w = this.scratch;
    const [ns, target, poller] = this.names(id);
    w.reset();
    w.string(ns);
    w.string(target);
    w.string(poller);
    if (this.used + w.pos > this.arena.length) {
      const grown = new Uint8Array(Math.max(this.arena.length * 2, this.used + w.pos));
      grown.set(this.arena.subarray(0, this.used));
      this.arena = grown;
    }
    this.arena.set(w.bytes(), this.used);
    this.start[id] = this.used;
    this.length[id] = w.pos;
    this.used += w.pos;
    return this.start[id];
  }

  private grow(id: number): void {
    const size = Math.max(id + 1, this.start.length * 2);
    const start = new Int32Array(size).fill(-1);
    start.set(this.start);
    const length = new Int32Array(size);
    length.set(this.length);
    this.start = start;
    this.length = length;
  }
}

/**
 * Appends the payload for `batch` (whose `seriesId` is resolved) to `out`: definitions of `repeat` (the
 * previous record's new series) and of the series new to the segment. Returns the new series' ids.
 */
export function encodeBatchPayload(
  out: ByteWriter,
  batch: SampleBatch,
  definer: SeriesDefiner,
  repeat: readonly number[] = [],
): number[] {
  const n = batch.length;
  const ids = batch.seriesId;
  const fresh: number[] = [];
  for (let i = 0; i < n; i++) {
    if (definer.needsDefinition(ids[i])) fresh.push(ids[i]);
  }
  out.varint(repeat.length + fresh.length);
  for (let k = 0; k < repeat.length + fresh.length; k++) {
    const id = k < repeat.length ? repeat[k] : fresh[k - repeat.length];
    out.varint(id);
    if (definer.writeNames) definer.writeNames(out, id);
    else {
      const [ns, target, poller] = definer.names(id);
      out.string(ns);
      out.string(target);
      out.string(poller);
    }
  }
  out.varint(n);
  const base = n > 0 ? batch.ts[0] : 0;
  out.zigzag(base);
  if (batch.big || batch.text || batch.error) { for (let i = 0; i < n; i++) encodeSample(out, batch, i, base); }
  else encodePlain(out, batch, base);
  return fresh;
}

/** Most bytes a sample without strings or big counters takes: id, time, flags, value, poll_ms. */
const PLAIN_SAMPLE_BYTES = 5 + 10 + 1 + 10 + 5;
/** Samples written after one room check. */
const PLAIN_BLOCK = 4096;

/**
 * The samples of a batch without text, error or big counter values (the common case): the same bytes
 * as {@link encodeSample}, written in blocks after one room check each, not value by value.
 */
function encodePlain(out: ByteWriter, b: SampleBatch, base: number): void {
  const { seriesId, ts, kind, flags, value, pollMs } = b;
  for (let from = 0; from < b.length; from += PLAIN_BLOCK) {
    const to = Math.min(b.length, from + PLAIN_BLOCK);
    out.ensure((to - from) * PLAIN_SAMPLE_BYTES);
    const buf = out.buf, view = out.view;
    let p = out.pos;
    for (let i = from; i < to; i++) {
      p = varintAt(buf, p, seriesId[i]);
      const dt = ts[i] - base;
      p = varintAt(buf, p, dt >= 0 ? dt * 2 : -dt * 2 - 1);
      const k = kind[i], poll = pollMs[i];
      buf[p++] = k | ((flags[i] & FLAG_VALID) ? F_VALID : 0) | (poll !== 0 ? F_POLL : 0);
      if (k === KIND_CODE.gauge) {
        view.setFloat64(p, value[i], true);
        p += 8;
      } else if (k === KIND_CODE.counter) p = varintAt(buf, p, value[i]);
      else if (k === KIND_CODE.text) buf[p++] = 0; // an empty text (none in the side map)
      if (poll !== 0) p = varintAt(buf, p, poll >= 0 ? poll * 2 : -poll * 2 - 1);
    }
    out.pos = p;
  }
}

function encodeSample(out: ByteWriter, b: SampleBatch, i: number, base: number): void {
  out.varint(b.seriesId[i]);
  out.zigzag(b.ts[i] - base);
  const kind = b.kind[i];
  const error = b.error?.get(i);
  const poll = b.pollMs[i];
  out.u8(
    kind | ((b.flags[i] & FLAG_VALID) ? F_VALID : 0) | (error !== undefined ? F_ERROR : 0) | (poll !== 0 ? F_POLL : 0),
  );
  if (kind === KIND_CODE.gauge) out.f64(b.value[i]);
  else if (kind === KIND_CODE.counter) {
    const big = b.big?.get(i);
    if (big !== undefined) out.bigVarint(big);
    else out.varint(b.value[i]);
  } else if (kind === KIND_CODE.text) out.string(b.text?.get(i) ?? "");
  if (error !== undefined) out.string(error);
  if (poll !== 0) out.zigzag(poll);
}

/** A decoded BATCH payload: new series definitions and samples whose `seriesId` are WAL ids. */
export interface DecodedBatch {
  defs: SeriesDef[];
  batch: SampleBatch;
}

/** Decodes a BATCH payload; throws `DecodeError` on malformed data. */
export function decodeBatchPayload(payload: Uint8Array): DecodedBatch {
  const r = new ByteReader(payload);
  const defCount = r.varint();
  const defs: SeriesDef[] = [];
  for (let i = 0; i < defCount; i++) {
    defs.push({ id: r.varint(), namespace: r.string(), target: r.string(), poller: r.string() });
  }
  const n = r.varint();
  if (n > payload.length) throw new DecodeError(`implausible sample count ${n}`, r.pos);
  const base = r.zigzag();
  const batch = new SampleBatch(n);
  for (let i = 0; i < n; i++) decodeSample(r, batch, i, base);
  batch.length = n;
  if (r.remaining !== 0) throw new DecodeError(`${r.remaining} trailing bytes`, r.pos);
  return { defs, batch };
}

function decodeSample(r: ByteReader, b: SampleBatch, i: number, base: number): void {
  b.seriesId[i] = r.varint();
  b.ts[i] = base + r.zigzag();
  const flags = r.u8();
  const kind = flags & 0b11;
  b.kind[i] = kind;
  b.flags[i] = flags & F_VALID ? FLAG_VALID : 0;
  b.value[i] = NaN;
  if (kind === KIND_CODE.gauge) b.value[i] = r.f64();
  else if (kind === KIND_CODE.counter) {
    const v = r.varint64();
    if (typeof v === "bigint") {
      b.setBig(i, v);
      b.value[i] = Number(v);
    } else b.value[i] = v;
  } else if (kind === KIND_CODE.text) b.setText(i, r.string());
  if (flags & F_ERROR) b.setError(i, r.string());
  b.pollMs[i] = flags & F_POLL ? r.zigzag() : 0;
}
