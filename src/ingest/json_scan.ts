/**
 * The fast JSON decoder: reads a JSON or NDJSON body straight from its UTF-8 bytes into a columnar
 * batch with resolved series ids, without `JSON.parse`, without one object per sample and without
 * creating strings for series it already knows (see `series_cache.ts`). It accepts exactly the
 * documents of `json.ts` (the reference implementation, which the tests compare it with) and reports
 * the same validation errors; only syntax-error wording differs.
 *
 * Fast paths cover strings without escapes, numbers and literals; anything else (escapes, values of
 * the wrong type) is handed to `JSON.parse` for that one value and to the shared validation rules.
 *
 * @module
 */
import { type BatchPool, FLAG_VALID, SampleBatch } from "../model/batch.ts";
import { InputError } from "../model/errors.ts";
import { KIND_CODE } from "../model/sample.ts";
import { type CachedSeries, hashRange, identityHash, type SeriesCache } from "./series_cache.ts";
import {
  bad,
  checkCounter,
  checkError,
  checkGauge,
  checkIdentity,
  checkPollMs,
  checkText,
  checkTimestamp,
  checkValid,
  oldestAccepted,
} from "./validate.ts";

/**
 * Body bytes per sample the first batch allocation assumes (a poller's sample with its identity is
 * ~100–160 bytes of JSON); a body of smaller samples grows the batch by doubling. Assuming the
 * smallest possible sample instead would allocate (and, on Bun, zero-fill fresh pages for) three
 * times the columns a typical body needs.
 */
const JSON_BYTES_PER_SAMPLE = 128;

/** What the decoder needs from the storage: the cache and the series index behind it. */
export interface ScanContext {
  cache: SeriesCache;
  resolve(namespace: string, target: string, poller: string, index?: number): number;
  /** Oldest sample age accepted (`ingestion.max_sample_age`); absent: only the 2000-01-01 floor. */
  maxSampleAgeMs?: number;
}

const F_NS = 0, F_TARGET = 1, F_POLLER = 2, F_TS = 3, F_GAUGE = 4, F_COUNTER = 5, F_TEXT = 6, F_VALID = 7;
const F_ERROR = 8, F_POLL = 9;

/**
 * Accepted key names ("aliases") and their fields. Tokens are kept per alias, because `JSON.parse`
 * keeps two different names of one field as two keys (e.g. `value` and `value_gauge` are two values),
 * but one name given twice as one key (the last value wins).
 */
const ALIASES: readonly [string, number][] = [
  ["namespace", F_NS],
  ["target", F_TARGET],
  ["poller", F_POLLER],
  ["timestamp_ms", F_TS],
  ["timestampMs", F_TS],
  ["value", F_GAUGE],
  ["value_gauge", F_GAUGE],
  ["valueGauge", F_GAUGE],
  ["value_counter", F_COUNTER],
  ["valueCounter", F_COUNTER],
  ["value_text", F_TEXT],
  ["valueText", F_TEXT],
  ["valid", F_VALID],
  ["error", F_ERROR],
  ["poll_ms", F_POLL],
  ["pollMs", F_POLL],
];
const A = ALIASES.length;
const ALIAS_BY_NAME = new Map(ALIASES.map(([name], a) => [name, a]));
const ALIASES_OF: number[][] = Array.from(
  { length: 10 },
  (_, f) => ALIASES.flatMap(([, g], a) => (g === f ? [a] : [])),
);

/** The UTF-8 bytes of each alias. */
const ALIAS_BYTES = ALIASES.map(([name]) => new TextEncoder().encode(name));
/** Known keys by hash of their bytes (verified byte by byte). */
const KEYS_BY_HASH = new Map<number, { bytes: Uint8Array; alias: number }[]>();
ALIAS_BYTES.forEach((bytes, alias) => {
  const h = hashRange(bytes, 0, bytes.length);
  const list = KEYS_BY_HASH.get(h) ?? [];
  list.push({ bytes, alias });
  KEYS_BY_HASH.set(h, list);
});
/** Keys of a sample whose position predicts the next sample's key (samples of a body repeat their key order). */
const PREDICTED_KEYS = 16;

const POW10 = Array.from({ length: 23 }, (_, i) => 10 ** i);
const utf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
const MAX_SAFE = Number.MAX_SAFE_INTEGER;

/** Token kinds of a field value. */
const T_NONE = 0, T_STRING = 1, T_NUMBER = 2, T_TRUE = 3, T_FALSE = 4, T_NULL = 5, T_OTHER = 6;

/**
 * Decodes a JSON body (`{"samples": [...]}` or a bare array) or an NDJSON body (one object per line).
 * With `pool`, the batch's memory comes from there (the caller gives the batch back when done with it).
 *
 * @example
 * ```ts
 * import { scanJson } from "./json_scan.ts";
 * import { SeriesCache } from "./series_cache.ts";
 * import { SeriesIndex } from "../head/series.ts";
 * const index = new SeriesIndex();
 * const ctx = { cache: new SeriesCache(), resolve: (n: string, t: string, p: string) => index.resolve(n, t, p) };
 * const body = new TextEncoder().encode('[{"namespace":"n","target":"t","poller":"p","timestamp_ms":1780000000000,"value":1.5}]');
 * const b = scanJson(body, ctx, 1780000060000, "json");
 * if (b.length !== 1 || b.value[0] !== 1.5 || b.seriesId[0] !== 0) throw new Error();
 * ```
 */
export function scanJson(
  buf: Uint8Array,
  ctx: ScanContext,
  nowMs: number,
  mode: "json" | "ndjson",
  pool?: BatchPool,
): SampleBatch {
  const s = new Scanner(buf, ctx, nowMs, pool);
  return mode === "json" ? s.document() : s.lines();
}

class Scanner {
  pos = 0;
  batch: SampleBatch;
  // last string token
  private sStart = 0;
  private sEnd = 0;
  private sEscaped = false;
  // last number token
  private num = 0;
  private numStart = 0;
  private numInt = false;
  // per-sample tokens, by alias
  private readonly tok = new Uint8Array(A);
  private readonly tStart = new Int32Array(A);
  private readonly tEnd = new Int32Array(A);
  private readonly tNum = new Float64Array(A);
  private readonly tEsc = new Uint8Array(A);
  private readonly order = new Int32Array(A);
  /** The alias that decides each field, chosen in `finish`. */
  private readonly use = new Int32Array(10);
  /** The alias of the k-th key of the previous sample (-1: none yet), tried first for the k-th key. */
  private readonly keyAt = new Int8Array(PREDICTED_KEYS).fill(-1);

  /** Earliest accepted timestamp. */
  private readonly oldestMs: number;

  constructor(readonly buf: Uint8Array, readonly ctx: ScanContext, readonly nowMs: number, pool?: BatchPool) {
    this.oldestMs = oldestAccepted(nowMs, ctx.maxSampleAgeMs ?? Infinity);
    const capacity = Math.max(16, Math.ceil(buf.length / JSON_BYTES_PER_SAMPLE));
    this.batch = pool ? pool.take(capacity) : new SampleBatch(capacity);
  }

  document(): SampleBatch {
    this.ws();
    const c = this.buf[this.pos];
    if (c === 0x5b) this.samplesArray();
    else if (c === 0x7b) this.envelope();
    else if (this.pos >= this.buf.length) this.syntax("empty body");
    else {
      this.skipValue();
      throw new InputError("invalid_body", 'Expected {"samples": [...]} or a JSON array of samples');
    }
    this.ws();
    if (this.pos !== this.buf.length) this.syntax("unexpected data after the JSON document");
    return this.batch;
  }

  lines(): SampleBatch {
    const buf = this.buf;
    for (;;) {
      while (this.pos < buf.length && isWs(buf[this.pos])) this.pos++;
      if (this.pos >= buf.length) return this.batch;
      const lineStart = this.pos;
      if (buf[this.pos] !== 0x7b) {
        this.skipValue();
        this.sampleOf(this.valueAt(lineStart, this.pos), this.batch.length);
      } else this.sample(this.batch.length);
      while (this.pos < buf.length && (buf[this.pos] === 0x20 || buf[this.pos] === 0x09 || buf[this.pos] === 0x0d)) {
        this.pos++;
      }
      if (this.pos < buf.length && buf[this.pos] !== 0x0a) this.syntax("expected a newline after a sample");
    }
  }

  private envelope(): void {
    this.pos++; // {
    let seen = false;
    let unknown: string | undefined;
    this.ws();
    if (this.buf[this.pos] === 0x7d) {
      this.pos++;
      throw new InputError("invalid_body", 'Expected {"samples": [...]} or a JSON array of samples');
    }
    for (;;) {
      this.ws();
      const key = this.keyString();
      this.ws();
      this.expect(0x3a);
      this.ws();
      if (key === "samples") {
        if (this.buf[this.pos] !== 0x5b) {
          this.skipValue();
          throw new InputError("invalid_body", 'Expected {"samples": [...]} or a JSON array of samples');
        }
        this.batch.length = 0;
        this.samplesArray();
        seen = true;
      } else {
        this.skipValue();
        if (key !== "received_at_ms" && key !== "receivedAtMs") unknown ??= key;
      }
      this.ws();
      if (this.buf[this.pos] === 0x2c) {
        this.pos++;
        continue;
      }
      this.expect(0x7d);
      break;
    }
    if (!seen) throw new InputError("invalid_body", 'Expected {"samples": [...]} or a JSON array of samples');
    if (unknown !== undefined) {
      throw new InputError("invalid_body", `Unknown field "${unknown}" in the batch (expected "samples")`);
    }
  }

  private samplesArray(): void {
    this.pos++; // [
    this.ws();
    if (this.buf[this.pos] === 0x5d) {
      this.pos++;
      return;
    }
    for (let i = 0;; i++) {
      this.ws();
      if (this.buf[this.pos] === 0x7b) this.sample(i);
      else {
        const start = this.pos;
        this.skipValue();
        this.sampleOf(this.valueAt(start, this.pos), i);
      }
      this.ws();
      const c = this.buf[this.pos];
      if (c === 0x2c) {
        this.pos++;
        continue;
      }
      if (c === 0x5d) {
        this.pos++;
        return;
      }
      this.syntax("expected , or ] in the samples array", i);
    }
  }

  /** Parses one sample object at `pos` into batch index `i`. */
  private sample(i: number): void {
    const buf = this.buf;
    const tok = this.tok;
    tok.fill(T_NONE);
    this.pos++; // {
    this.ws();
    if (buf[this.pos] === 0x7d) this.pos++;
    else {
      for (let k = 0;; k++) {
        this.ws();
        if (buf[this.pos] !== 0x22) this.syntax("expected a field name", i);
        const alias = this.key(k, i);
        if (tok[alias] === T_NONE) this.order[alias] = this.pos;
        this.ws();
        this.expect(0x3a, i);
        this.ws();
        this.value(alias, i);
        this.ws();
        const c = buf[this.pos];
        if (c === 0x2c) {
          this.pos++;
          continue;
        }
        if (c === 0x7d) {
          this.pos++;
          break;
        }
        this.syntax("expected , or } in a sample", i);
      }
    }
    this.finish(i);
  }

  /** Reads the value of key `field` (an alias) and records its token. */
  private value(field: number, i: number): void {
    const buf = this.buf;
    const c = buf[this.pos];
    const start = this.pos;
    let kind = T_OTHER;
    if (c === 0x22) {
      this.string(i);
      kind = T_STRING;
      this.tEsc[field] = this.sEscaped ? 1 : 0;
      this.tStart[field] = this.sStart;
      this.tEnd[field] = this.sEnd;
      this.tok[field] = kind;
      return;
    }
    if (c === 0x2d || (c >= 0x30 && c <= 0x39)) {
      this.number(i);
      kind = T_NUMBER;
      this.tNum[field] = this.num;
      this.tEsc[field] = this.numInt ? 1 : 0; // for numbers: 1 when a plain integer
    } else if (c === 0x74 && this.literal("true")) kind = T_TRUE;
    else if (c === 0x66 && this.literal("false")) kind = T_FALSE;
    else if (c === 0x6e && this.literal("null")) kind = T_NULL;
    else this.skipValue(i);
    this.tok[field] = kind;
    this.tStart[field] = start;
    this.tEnd[field] = this.pos;
  }

  /**
   * Picks the alias that decides each field, as `JSON.parse` + `for…in` would: of two names of a
   * field, the one first seen later wins; value fields count every name with a non-null value.
   * Returns how many values the sample has.
   */
  private choose(): number {
    let values = 0;
    for (let f = 0; f < 10; f++) {
      let best = ALIASES_OF[f][0];
      for (const a of ALIASES_OF[f]) {
        if (this.tok[a] === T_NONE) continue;
        if (f === F_GAUGE || f === F_COUNTER || f === F_TEXT) {
          if (this.tok[a] !== T_NULL) {
            values++;
            best = a;
          } else if (this.tok[best] === T_NONE) best = a;
        } else if (this.tok[best] === T_NONE || this.order[a] > this.order[best]) best = a;
      }
      this.use[f] = best;
    }
    return values;
  }

  /** Validates the recorded fields and stores sample `i` (mirrors `json.ts`). */
  private finish(i: number): void {
    if (i >= this.batch.ts.length) this.grow();
    const b = this.batch;
    const values = this.choose();
    const { tok, tNum, tEsc, use } = this;
    this.identity(i);
    const ts = use[F_TS], valid = use[F_VALID], error = use[F_ERROR], poll = use[F_POLL];
    b.ts[i] = tok[ts] === T_NUMBER && tEsc[ts] === 1 && tNum[ts] >= 0
      ? checkTimestamp(tNum[ts], i, this.nowMs, this.oldestMs)
      : checkTimestamp(this.js(ts), i, this.nowMs, this.oldestMs);
    const isValid = tok[valid] === T_TRUE || tok[valid] === T_NONE || tok[valid] === T_NULL
      ? true
      : tok[valid] === T_FALSE
      ? false
      : checkValid(this.js(valid), i);
    b.flags[i] = isValid ? FLAG_VALID : 0;
    if (tok[error] !== T_NONE && tok[error] !== T_NULL) b.setError(i, checkError(this.js(error), i));
    b.pollMs[i] = tok[poll] === T_NUMBER && tEsc[poll] === 1 && tNum[poll] >= 0 && tNum[poll] <= 2_147_483_647
      ? tNum[poll]
      : checkPollMs(this.js(poll), i);
    if (values > 1) bad(i, "has more than one value; send exactly one of value/value_gauge, value_counter, value_text");
    if (values === 0 && isValid) {
      bad(i, "has no value; a valid sample needs value_gauge (or value), value_counter or value_text");
    }
    b.value[i] = NaN;
    const gauge = use[F_GAUGE], counter = use[F_COUNTER], text = use[F_TEXT];
    if (present(tok[gauge])) {
      b.kind[i] = KIND_CODE.gauge;
      b.value[i] = tok[gauge] === T_NUMBER ? checkGauge(tNum[gauge], i) : checkGauge(this.js(gauge), i);
    } else if (present(tok[counter])) this.counter(i, counter);
    else if (present(tok[text])) {
      b.kind[i] = KIND_CODE.text;
      b.setText(i, checkText(this.js(text), i));
    } else b.kind[i] = KIND_CODE.none;
    b.length = i + 1;
  }

  private counter(i: number, a: number): void {
    const b = this.batch;
    b.kind[i] = KIND_CODE.counter;
    const t = this.tok[a];
    if (t === T_NUMBER && this.tEsc[a] === 1 && this.tNum[a] >= 0 && this.tNum[a] <= MAX_SAFE) {
      b.value[i] = this.tNum[a];
      return;
    }
    const c = checkCounter(t === T_NUMBER ? this.tNum[a] : this.js(a), i);
    b.value[i] = Number(c);
    if (typeof c === "bigint") b.setBig(i, c);
  }

  /**
   * Resolves the identity of sample `i`: a cache hit creates no string at all. A new identity without
   * escapes goes into the cache straight from the body's bytes (its canonical UTF-8).
   */
  private identity(i: number): void {
    const { tok, tEsc, tStart, tEnd, buf } = this;
    const b = this.batch;
    const cache = this.ctx.cache;
    const ns = this.use[F_NS], tg = this.use[F_TARGET], pl = this.use[F_POLLER];
    const plain = tok[ns] === T_STRING && tok[tg] === T_STRING && tok[pl] === T_STRING &&
      (tEsc[ns] | tEsc[tg] | tEsc[pl]) === 0;
    const ns0 = tStart[ns], ns1 = tEnd[ns], t0 = tStart[tg], t1 = tEnd[tg], p0 = tStart[pl], p1 = tEnd[pl];
    let h = 0;
    if (plain) {
      let hit = cache.follow(buf, ns0, ns1, t0, t1, p0, p1);
      if (!hit) {
        h = identityHash(hashRange(buf, ns0, ns1), hashRange(buf, t0, t1), hashRange(buf, p0, p1));
        hit = cache.lookup(buf, ns0, ns1, t0, t1, p0, p1, h);
      }
      if (hit) {
        b.seriesId[i] = hit.id;
        b.namespace[i] = hit.namespace;
        b.target[i] = hit.target;
        b.poller[i] = hit.poller;
        return;
      }
    }
    const namespace = checkIdentity(this.js(ns), "namespace", i);
    const target = checkIdentity(this.js(tg), "target", i);
    const poller = checkIdentity(this.js(pl), "poller", i);
    const id = this.ctx.resolve(namespace, target, poller, i);
    b.seriesId[i] = id;
    b.namespace[i] = namespace;
    b.target[i] = target;
    b.poller[i] = poller;
    const series = { id, namespace, target, poller };
    if (plain) cache.insert(buf, ns0, ns1, t0, t1, p0, p1, h, series);
    else remember(cache, series);
  }

  /** The JS value of a field's token (undefined when absent). */
  private js(field: number): unknown {
    const t = this.tok[field];
    if (t === T_NONE) return undefined;
    if (t === T_NULL) return null;
    if (t === T_TRUE) return true;
    if (t === T_FALSE) return false;
    if (t === T_NUMBER) return this.tNum[field];
    if (t === T_STRING) return this.stringValue(this.tStart[field], this.tEnd[field], this.tEsc[field] === 1);
    return this.valueAt(this.tStart[field], this.tEnd[field]);
  }

  private stringValue(start: number, end: number, escaped: boolean): string {
    const raw = this.utf8(start, end);
    if (!escaped) return raw;
    try {
      return JSON.parse(`"${raw}"`);
    } catch (err) {
      this.pos = start;
      return this.syntax(`invalid escape in a string: ${(err as Error).message}`);
    }
  }

  private utf8(start: number, end: number): string {
    try {
      return utf8.decode(this.buf.subarray(start, end));
    } catch {
      throw new InputError("invalid_utf8", "The body is not valid UTF-8");
    }
  }

  /** Parses `buf[start, end)` as one JSON value (slow path). */
  private valueAt(start: number, end: number): unknown {
    try {
      return JSON.parse(this.utf8(start, end));
    } catch (err) {
      if (err instanceof InputError) throw err;
      this.pos = start;
      return this.syntax(`invalid value: ${(err as Error).message}`);
    }
  }

  /** Validates a non-object sample (the reference rejects it the same way). */
  private sampleOf(v: unknown, i: number): void {
    if (typeof v !== "object" || v === null || Array.isArray(v)) bad(i, "must be a JSON object");
  }

  /**
   * Scans the `k`-th key of sample `i` (at its opening quote) and returns its alias; throws for unknown
   * keys. The previous sample's `k`-th key is compared first: a match is that key exactly (alias names
   * hold no quote, escape or control byte), found without hashing or a map look-up.
   */
  private key(k: number, i: number): number {
    const predicted = k < PREDICTED_KEYS ? this.keyAt[k] : -1;
    if (predicted >= 0) {
      const bytes = ALIAS_BYTES[predicted], buf = this.buf, start = this.pos + 1, end = start + bytes.length;
      let same = end < buf.length && buf[end] === 0x22;
      for (let j = 0; same && j < bytes.length; j++) same = buf[start + j] === bytes[j];
      if (same) {
        this.sStart = start;
        this.sEnd = end;
        this.sEscaped = false;
        this.pos = end + 1;
        return predicted;
      }
    }
    this.string(i);
    const alias = this.aliasOf(i);
    if (k < PREDICTED_KEYS) this.keyAt[k] = alias;
    return alias;
  }

  /** The alias of the key just scanned; throws for unknown keys. */
  private aliasOf(i: number): number {
    if (!this.sEscaped) {
      const list = KEYS_BY_HASH.get(hashRange(this.buf, this.sStart, this.sEnd));
      if (list) {
        for (const k of list) if (this.rangeEquals(this.sStart, this.sEnd, k.bytes)) return k.alias;
      }
    }
    const name = this.stringValue(this.sStart, this.sEnd, this.sEscaped);
    const alias = ALIAS_BY_NAME.get(name);
    if (alias === undefined) bad(i, `unknown field "${name}"`);
    return alias;
  }

  private keyString(): string {
    if (this.buf[this.pos] !== 0x22) this.syntax("expected a field name");
    this.string(undefined);
    return this.stringValue(this.sStart, this.sEnd, this.sEscaped);
  }

  private rangeEquals(start: number, end: number, bytes: Uint8Array): boolean {
    if (end - start !== bytes.length) return false;
    for (let k = 0; k < bytes.length; k++) if (this.buf[start + k] !== bytes[k]) return false;
    return true;
  }

  /** Scans a string token at `pos` (the opening quote): its content range and escape flag. */
  private string(i: number | undefined): void {
    const buf = this.buf;
    let p = this.pos + 1;
    let escaped = false;
    let high = 0;
    const start = p;
    for (;;) {
      if (p >= buf.length) this.syntax("unterminated string", i);
      const c = buf[p];
      if (c === 0x22) break;
      high |= c;
      if (c < 0x20) {
        this.pos = p;
        this.syntax("control character in a string", i);
      }
      if (c === 0x5c) {
        escaped = true;
        p += buf[p + 1] === 0x75 ? 6 : 2;
        continue;
      }
      p++;
    }
    if (high & 0x80) this.utf8(start, p); // non-ASCII: must be valid UTF-8 wherever it is
    this.sStart = start;
    this.sEnd = p;
    this.sEscaped = escaped;
    this.pos = p + 1;
  }

  /** Scans a number (JSON grammar); the value is exact as `JSON.parse` would give it. */
  private number(i: number): void {
    const buf = this.buf;
    let p = this.pos;
    const start = p;
    let neg = false;
    if (buf[p] === 0x2d) {
      neg = true;
      p++;
    }
    let m = 0;
    let digits = 0;
    let c = buf[p];
    if (c === 0x30) {
      p++;
      c = buf[p];
    } else if (c >= 0x31 && c <= 0x39) {
      do {
        m = m * 10 + (c - 0x30);
        digits++;
        c = buf[++p];
      } while (c >= 0x30 && c <= 0x39);
    } else {
      this.pos = p;
      this.syntax("invalid number", i);
    }
    let scale = 0;
    let isInt = true;
    if (c === 0x2e) {
      isInt = false;
      c = buf[++p];
      if (!(c >= 0x30 && c <= 0x39)) {
        this.pos = p;
        this.syntax("invalid number", i);
      }
      do {
        m = m * 10 + (c - 0x30);
        if (m !== 0) digits++;
        scale--;
        c = buf[++p];
      } while (c >= 0x30 && c <= 0x39);
    }
    let exp = 0;
    if (c === 0x65 || c === 0x45) {
      isInt = false;
      c = buf[++p];
      let eneg = false;
      if (c === 0x2b || c === 0x2d) {
        eneg = c === 0x2d;
        c = buf[++p];
      }
      if (!(c >= 0x30 && c <= 0x39)) {
        this.pos = p;
        this.syntax("invalid number", i);
      }
      do {
        exp = exp * 10 + (c - 0x30);
        c = buf[++p];
      } while (c >= 0x30 && c <= 0x39 && exp < 100_000);
      while (c >= 0x30 && c <= 0x39) c = buf[++p];
      if (eneg) exp = -exp;
    }
    const e = scale + exp;
    let v: number;
    if (digits <= 15 && e >= -22 && e <= 22) v = e >= 0 ? m * POW10[e] : m / POW10[-e]; // exact (Clinger's fast path)
    else v = Number(String.fromCharCode(...buf.subarray(start, p)));
    this.num = neg ? -v : v;
    this.numStart = start;
    this.numInt = isInt && digits <= 15;
    this.pos = p;
  }

  private literal(word: string): boolean {
    for (let k = 0; k < word.length; k++) {
      if (this.buf[this.pos + k] !== word.charCodeAt(k)) {
        this.syntax(`invalid literal (expected ${word})`);
      }
    }
    this.pos += word.length;
    return true;
  }

  /** Skips any JSON value (objects and arrays nested), checking the grammar loosely; exact check on use. */
  private skipValue(i?: number): void {
    const buf = this.buf;
    let depth = 0;
    for (;;) {
      this.ws();
      const c = buf[this.pos];
      if (this.pos >= buf.length) this.syntax("unexpected end of the body", i);
      if (c === 0x22) this.string(i);
      else if (c === 0x7b || c === 0x5b) {
        depth++;
        this.pos++;
        continue;
      } else if (c === 0x7d || c === 0x5d) {
        if (depth === 0) this.syntax("unexpected closing bracket", i);
        depth--;
        this.pos++;
      } else if (c === 0x2c || c === 0x3a) {
        if (depth === 0) this.syntax("unexpected separator", i);
        this.pos++;
        continue;
      } else if (c === 0x2d || (c >= 0x30 && c <= 0x39)) this.number(i ?? 0);
      else if (c === 0x74) this.literal("true");
      else if (c === 0x66) this.literal("false");
      else if (c === 0x6e) this.literal("null");
      else this.syntax("unexpected character", i);
      if (depth === 0) return;
    }
  }

  private ws(): void {
    const buf = this.buf;
    let p = this.pos;
    while (p < buf.length && isWs(buf[p])) p++;
    this.pos = p;
  }

  private expect(c: number, i?: number): void {
    if (this.buf[this.pos] !== c) this.syntax(`expected '${String.fromCharCode(c)}'`, i);
    this.pos++;
  }

  private syntax(what: string, i?: number): never {
    const at = this.pos >= this.buf.length ? "at the end of the body" : `at byte ${this.pos}`;
    throw new InputError("invalid_json", `Cannot parse the body as JSON: ${what} ${at}`, i);
  }

  private grow(): void {
    this.batch = this.batch.grown(this.batch.ts.length * 2);
  }
}

function isWs(c: number): boolean {
  return c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;
}

function present(t: number): boolean {
  return t !== T_NONE && t !== T_NULL;
}

/** Adds a resolved identity to the cache under its canonical UTF-8 bytes. */
export function remember(cache: SeriesCache, s: CachedSeries): void {
  const enc = new TextEncoder();
  const key = enc.encode(`${s.namespace}\u0000${s.target}\u0000${s.poller}`);
  const n1 = enc.encode(s.namespace).length;
  const t1 = n1 + 1 + enc.encode(s.target).length;
  const h = identityHash(hashRange(key, 0, n1), hashRange(key, n1 + 1, t1), hashRange(key, t1 + 1, key.length));
  if (!cache.lookup(key, 0, n1, n1 + 1, t1, t1 + 1, key.length, h)) {
    cache.insert(key, 0, n1, n1 + 1, t1, t1 + 1, key.length, h, s);
  }
}
