/**
 * The fast protobuf decoder: reads an `application/x-protobuf` body (`stalker.SampleBatch`) straight
 * from the wire format into a columnar batch with resolved series ids, without one object per sample
 * and without creating strings for series it already knows (see `series_cache.ts`). It accepts
 * exactly the bodies of `protobuf.ts` (the reference implementation, protobuf-es `fromBinary`, which
 * the tests compare it with) and reports the same validation errors; only the wording of wire-format
 * errors differs.
 *
 * protobuf-es semantics mirrored here, some of them lenient:
 * - a known field is read by its field number alone: its wire type is not checked (a `timestamp_ms`
 *   sent with wire type 2 reads the length prefix as the timestamp);
 * - a sample's length prefix only bounds the loop over its fields: a field may run past it (bounded
 *   by the body), and the batch continues after that field;
 * - every string occurrence must be valid UTF-8, even one a later occurrence overrides; a leading
 *   U+FEFF is kept as text;
 * - the last occurrence of a field wins; of the oneof `value`, the last value field seen wins;
 * - varints hold at most 10 bytes; bits above 64 (32 for `poll_ms` and lengths) are dropped;
 * - unknown fields are skipped by wire type; groups nest at most 99 deep in the batch, 98 in a sample.
 *
 * Wire errors anywhere in the body take precedence over validation errors, as in the reference,
 * which decodes the whole body before validating: the first invalid sample is remembered and thrown
 * only once the rest of the body has been checked.
 *
 * @module
 */
import { type BatchPool, FLAG_VALID, SampleBatch } from "../model/batch.ts";
import { InputError } from "../model/errors.ts";
import { KIND_CODE } from "../model/sample.ts";
import type { ScanContext } from "./json_scan.ts";
import { HASH_SEED, identityHash } from "./series_cache.ts";
import {
  bad,
  checkCounter,
  checkError,
  checkGauge,
  checkIdentity,
  checkPollMs,
  checkText,
  checkTimestamp,
  oldestAccepted,
} from "./validate.ts";

const utf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
const TWO_POW_32 = 4_294_967_296;
/** Up to this length, ASCII text is built with `String.fromCharCode`: a `TextDecoder` call costs more. */
const SHORT_ASCII = 64;
/** protobuf-es skips groups with a budget of `recursionLimit` (100) minus the message depth. */
const GROUP_BUDGET_BATCH = 99;
const GROUP_BUDGET_SAMPLE = 98;

const WIRE_VARINT = 0, WIRE_I64 = 1, WIRE_LEN = 2, WIRE_START_GROUP = 3, WIRE_END_GROUP = 4, WIRE_I32 = 5;
const V_NONE = 0, V_COUNTER = 5, V_TEXT = 6, V_GAUGE = 7;

/**
 * Decodes, validates and resolves a protobuf body.
 *
 * @example
 * ```ts
 * import { create, toBinary } from "@bufbuild/protobuf";
 * import { SampleBatchSchema, SampleSchema } from "../gen/stalker_pb.ts";
 * import { SeriesIndex } from "../head/series.ts";
 * import { scanProtobuf } from "./protobuf_scan.ts";
 * import { SeriesCache } from "./series_cache.ts";
 * const index = new SeriesIndex();
 * const ctx = { cache: new SeriesCache(), resolve: (n: string, t: string, p: string) => index.resolve(n, t, p) };
 * const body = toBinary(SampleBatchSchema, create(SampleBatchSchema, { samples: [create(SampleSchema, {
 *   namespace: "n", target: "t", poller: "p", timestampMs: 1780000000000n, valid: true,
 *   value: { case: "valueGauge", value: 1.5 } })] }));
 * const b = scanProtobuf(body, ctx, 1780000060000);
 * if (b.length !== 1 || b.value[0] !== 1.5 || b.seriesId[0] !== 0) throw new Error();
 * ```
 */
export function scanProtobuf(body: Uint8Array, ctx: ScanContext, nowMs: number, pool?: BatchPool): SampleBatch {
  return new Scanner(body, ctx, nowMs, pool).batchMessage();
}

class Scanner {
  pos = 0;
  batch: SampleBatch;
  private readonly len: number;
  private readonly view: DataView;
  /** The first invalid sample, thrown once the whole body is known to be well-formed. */
  private invalid: InputError | undefined;
  /** Wire type of the last tag. */
  private wire = 0;
  /** Last 64-bit varint as two's complement halves (signed int32 each, like protobuf-es). */
  private lo = 0;
  private hi = 0;
  /** Last string: its byte range and FNV-1a hash. */
  private sStart = 0;
  private sEnd = 0;
  private sHash = 0;
  // the fields of the current sample (last occurrence wins)
  private nsStart = 0;
  private nsEnd = 0;
  private nsHash = 0;
  private tStart = 0;
  private tEnd = 0;
  private tHash = 0;
  private pStart = 0;
  private pEnd = 0;
  private pHash = 0;
  private tsLo = 0;
  private tsHi = 0;
  private valueCase = V_NONE;
  private gauge = 0;
  private cLo = 0;
  private cHi = 0;
  private textStart = 0;
  private textEnd = 0;
  private valid = false;
  private errStart = 0;
  private errEnd = 0;
  private pollMs = 0;

  /** Earliest accepted timestamp. */
  private readonly oldestMs: number;

  constructor(readonly buf: Uint8Array, readonly ctx: ScanContext, readonly nowMs: number, pool?: BatchPool) {
    this.oldestMs = oldestAccepted(nowMs, ctx.maxSampleAgeMs ?? Infinity);
    this.len = buf.length;
    this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    const capacity = Math.max(16, Math.ceil(buf.length / 64));
    this.batch = pool ? pool.take(capacity) : new SampleBatch(capacity);
  }

  /** `SampleBatch { repeated Sample samples = 1; int64 received_at_ms = 2; }` */
  batchMessage(): SampleBatch {
    let i = 0;
    while (this.pos < this.len) {
      const field = this.tag();
      if (field === 1) this.sample(i++);
      else if (field === 2) this.varint64();
      else this.skip(this.wire, field, GROUP_BUDGET_BATCH);
    }
    if (this.invalid) throw this.invalid;
    this.batch.length = i;
    return this.batch;
  }

  /** Reads one length-prefixed `Sample` and, while the batch is still valid, stores it at index `i`. */
  private sample(i: number): void {
    const length = this.varint32();
    const end = this.pos + length; // bounds the loop only: a field may run past it, as in protobuf-es
    this.clear();
    while (this.pos < end) {
      const field = this.tag();
      switch (field) {
        case 1:
          this.string();
          this.nsStart = this.sStart, this.nsEnd = this.sEnd, this.nsHash = this.sHash;
          break;
        case 2:
          this.string();
          this.tStart = this.sStart, this.tEnd = this.sEnd, this.tHash = this.sHash;
          break;
        case 3:
          this.string();
          this.pStart = this.sStart, this.pEnd = this.sEnd, this.pHash = this.sHash;
          break;
        case 4:
          this.varint64();
          this.tsLo = this.lo, this.tsHi = this.hi;
          break;
        case 5:
          this.varint64();
          this.valueCase = V_COUNTER, this.cLo = this.lo, this.cHi = this.hi;
          break;
        case 6:
          this.string();
          this.valueCase = V_TEXT, this.textStart = this.sStart, this.textEnd = this.sEnd;
          break;
        case 7:
          this.valueCase = V_GAUGE;
          this.gauge = this.double();
          break;
        case 8:
          this.varint64();
          this.valid = (this.lo | this.hi) !== 0;
          break;
        case 9:
          this.string();
          this.errStart = this.sStart, this.errEnd = this.sEnd;
          break;
        case 10:
          this.pollMs = this.varint32() | 0;
          break;
        default:
          this.skip(this.wire, field, GROUP_BUDGET_SAMPLE);
      }
    }
    if (this.invalid) return;
    if (i >= this.batch.ts.length) this.grow();
    try {
      this.store(i);
    } catch (err) {
      if (!(err instanceof InputError)) throw err;
      this.invalid = err;
    }
  }

  /** Resets the current sample's fields to their proto3 defaults. */
  private clear(): void {
    this.nsStart = this.nsEnd = 0;
    this.tStart = this.tEnd = 0;
    this.pStart = this.pEnd = 0;
    this.nsHash = this.tHash = this.pHash = HASH_SEED;
    this.tsLo = this.tsHi = 0;
    this.valueCase = V_NONE;
    this.textStart = this.textEnd = 0;
    this.valid = false;
    this.errStart = this.errEnd = 0;
    this.pollMs = 0;
  }

  /**
   * Validates the current sample in the reference's order and stores it at index `i`. A known series
   * is found by its bytes alone; a new one is decoded, checked, resolved and added to the cache.
   */
  private store(i: number): void {
    const { nsStart, nsEnd, tStart, tEnd, pStart, pEnd } = this;
    const h = identityHash(this.nsHash, this.tHash, this.pHash);
    const known = this.ctx.cache.follow(this.buf, nsStart, nsEnd, tStart, tEnd, pStart, pEnd) ??
      this.ctx.cache.lookup(this.buf, nsStart, nsEnd, tStart, tEnd, pStart, pEnd, h);
    const namespace = known?.namespace ?? checkIdentity(this.text(nsStart, nsEnd), "namespace", i);
    const target = known?.target ?? checkIdentity(this.text(tStart, tEnd), "target", i);
    const poller = known?.poller ?? checkIdentity(this.text(pStart, pEnd), "poller", i);
    this.fields(i);
    this.value(i);
    let id = known?.id;
    if (id === undefined) {
      id = this.ctx.resolve(namespace, target, poller, i);
      // the body's bytes are the identity's canonical UTF-8 (protobuf strings have no escapes)
      this.ctx.cache.insert(this.buf, nsStart, nsEnd, tStart, tEnd, pStart, pEnd, h, { id, namespace, target, poller });
    }
    const b = this.batch;
    b.seriesId[i] = id;
    b.namespace[i] = namespace;
    b.target[i] = target;
    b.poller[i] = poller;
    b.length = i + 1;
  }

  private fields(i: number): void {
    const b = this.batch;
    const ts = this.tsHi * TWO_POW_32 + (this.tsLo >>> 0); // rounds like Number(bigint)
    b.ts[i] = checkTimestamp(ts === 0 ? undefined : ts, i, this.nowMs, this.oldestMs);
    b.flags[i] = this.valid ? FLAG_VALID : 0;
    if (this.errEnd > this.errStart) b.setError(i, checkError(this.text(this.errStart, this.errEnd), i));
    b.pollMs[i] = checkPollMs(this.pollMs, i);
  }

  private value(i: number): void {
    const b = this.batch;
    b.value[i] = NaN;
    switch (this.valueCase) {
      case V_GAUGE:
        b.kind[i] = KIND_CODE.gauge;
        b.value[i] = checkGauge(this.gauge, i);
        break;
      case V_COUNTER: {
        b.kind[i] = KIND_CODE.counter;
        const hi = this.cHi >>> 0, lo = this.cLo >>> 0;
        if (hi <= 0x1fffff) b.value[i] = hi * TWO_POW_32 + lo; // ≤ 2^53 − 1: exact
        else {
          const c = checkCounter((BigInt(hi) << 32n) | BigInt(lo), i);
          b.value[i] = Number(c);
          if (typeof c === "bigint") b.setBig(i, c);
        }
        break;
      }
      case V_TEXT:
        b.kind[i] = KIND_CODE.text;
        b.setText(i, checkText(this.text(this.textStart, this.textEnd), i));
        break;
      default:
        if (this.valid) bad(i, "has no value; a valid sample needs value_gauge, value_counter or value_text");
        b.kind[i] = KIND_CODE.none;
    }
  }

  /** A string field's bytes as text (already checked to be valid UTF-8). */
  private text(start: number, end: number): string {
    const bytes = this.buf.subarray(start, end);
    if (bytes.length <= SHORT_ASCII && isAscii(bytes)) {
      return String.fromCharCode.apply(null, bytes as unknown as number[]);
    }
    return utf8.decode(bytes);
  }

  /** A tag, like protobuf-es `BinaryReader.tag()`: returns the field number, sets `wire`. */
  private tag(): number {
    const start = this.pos;
    const tag = this.varint32();
    const n = this.pos - start;
    if (n > 5 || (n === 5 && this.buf[this.pos - 1] > 0x0f)) {
      this.fail("tag varint overflows 32 bits", start);
    }
    const field = tag >>> 3;
    this.wire = tag & 7;
    if (field === 0 || this.wire > 5) this.fail(`illegal tag (field ${field}, wire type ${this.wire})`, start);
    return field;
  }

  /** An unsigned 32-bit varint (at most 10 bytes; bits above 32 dropped), like protobuf-es `uint32()`. */
  private varint32(): number {
    const buf = this.buf, len = this.len;
    let p = this.pos;
    if (p < len && buf[p] < 0x80) {
      this.pos = p + 1;
      return buf[p];
    }
    let result = 0;
    for (let n = 0; n < 10; n++, p++) {
      if (p >= len) this.fail("unexpected end of the body in a varint", p);
      const b = buf[p];
      if (n < 4) result |= (b & 0x7f) << (7 * n);
      else if (n === 4) result |= (b & 0x0f) << 28;
      if (b < 0x80) {
        this.pos = p + 1;
        return result >>> 0;
      }
    }
    return this.fail("varint longer than 10 bytes", this.pos);
  }

  /** A 64-bit varint into `lo`/`hi` (at most 10 bytes; bits above 64 dropped), like protobuf-es. */
  private varint64(): void {
    const buf = this.buf, len = this.len;
    let p = this.pos;
    let lo = 0, hi = 0;
    for (let n = 0; n < 10; n++, p++) {
      if (p >= len) this.fail("unexpected end of the body in a varint", p);
      const b = buf[p];
      if (n < 4) lo |= (b & 0x7f) << (7 * n);
      else if (n === 4) {
        lo |= (b & 0x0f) << 28;
        hi = (b & 0x70) >> 4;
      } else hi |= (b & 0x7f) << (7 * n - 32);
      if (b < 0x80) {
        this.pos = p + 1;
        this.lo = lo;
        this.hi = hi;
        return;
      }
    }
    this.fail("varint longer than 10 bytes", this.pos);
  }

  private double(): number {
    if (this.pos + 8 > this.len) this.fail("unexpected end of the body in a double", this.pos);
    this.pos += 8;
    return this.view.getFloat64(this.pos - 8, true);
  }

  /** A length-prefixed string: sets its range and hash; rejects invalid UTF-8. */
  private string(): void {
    const n = this.varint32();
    const start = this.pos, end = start + n;
    if (end > this.len) this.fail("unexpected end of the body in a string", start);
    const buf = this.buf;
    let h = HASH_SEED;
    let high = 0;
    for (let k = start; k < end; k++) {
      const c = buf[k];
      high |= c;
      h = Math.imul(h ^ c, 16777619);
    }
    if (high & 0x80) {
      try {
        utf8.decode(buf.subarray(start, end));
      } catch (err) {
        this.fail("invalid UTF-8 in a string", start, err);
      }
    }
    this.sStart = start;
    this.sEnd = end;
    this.sHash = h;
    this.pos = end;
  }

  /** Skips an unknown field, like protobuf-es `BinaryReader.skip()`. */
  private skip(wire: number, field: number, groupBudget: number): void {
    const start = this.pos;
    switch (wire) {
      case WIRE_VARINT: {
        // no length limit here, unlike a varint that is read
        let p = this.pos;
        while (p < this.len && this.buf[p] & 0x80) p++;
        if (p >= this.len) this.fail("unexpected end of the body in a varint", start);
        this.pos = p + 1;
        return;
      }
      case WIRE_I64:
        this.pos += 8;
        break;
      case WIRE_I32:
        this.pos += 4;
        break;
      case WIRE_LEN: {
        const length = this.varint32();
        this.pos += length;
        break;
      }
      case WIRE_START_GROUP:
        if (groupBudget <= 0) this.fail("groups nested too deep", start);
        for (;;) {
          const f = this.tag();
          if (this.wire === WIRE_END_GROUP) {
            if (f !== field) this.fail(`end-group tag of field ${f} closes a group of field ${field}`, this.pos - 1);
            return;
          }
          this.skip(this.wire, f, groupBudget - 1);
        }
      default: // WIRE_END_GROUP outside a group
        this.fail(`unexpected end-group tag of field ${field}`, start - 1);
    }
    if (this.pos > this.len) this.fail(`unexpected end of the body in field ${field}`, start);
  }

  private fail(what: string, at: number, cause?: unknown): never {
    throw new InputError(
      "invalid_protobuf",
      `Cannot decode the body as stalker.SampleBatch: ${what} at byte ${at}`,
      undefined,
      cause === undefined ? undefined : { cause },
    );
  }

  private grow(): void {
    this.batch = this.batch.grown(this.batch.ts.length * 2);
  }
}

function isAscii(bytes: Uint8Array): boolean {
  let high = 0;
  for (let k = 0; k < bytes.length; k++) high |= bytes[k];
  return high < 0x80;
}
