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
import { ByteReader, type ByteWriter, DecodeError } from "../model/bytes.ts";

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
  for (const id of repeat.length > 0 ? [...repeat, ...fresh] : fresh) {
    const [ns, target, poller] = definer.names(id);
    out.varint(id);
    out.string(ns);
    out.string(target);
    out.string(poller);
  }
  out.varint(n);
  const base = n > 0 ? batch.ts[0] : 0;
  out.zigzag(base);
  for (let i = 0; i < n; i++) encodeSample(out, batch, i, base);
  return fresh;
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
