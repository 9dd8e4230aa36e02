/**
 * The InfluxDB line protocol decoder (`POST /write`, `POST /api/v2/write`): a scanner over the body's
 * text with the validation standard of our own decoders — a whole body is decoded and checked before
 * anything is stored, and the first bad line refuses it with its line number and text.
 *
 * ```
 * measurement[,tag=value...] field=value[,field=value...] [timestamp]
 * ```
 *
 * - escapes: `\,` and `\ ` in the measurement; `\,`, `\=` and `\ ` in tag keys, tag values and field keys;
 *   `\"` and `\\` in string field values (which may span lines); any other backslash is literal;
 * - field values: float (`1`, `-1.5`, `1e3`), integer `1i`, unsigned `1u`, string `"text"`, boolean
 *   (`t`, `T`, `true`, `True`, `TRUE`, `f`, `F`, `false`, `False`, `FALSE`); NaN and infinities are refused,
 *   as InfluxDB does;
 * - the timestamp is an integer in the request's precision (`ns` by default, `us`, `ms`, `s`; v1 also
 *   `n`, `u`, `m`, `h`), converted to ms by flooring (no BigInt: the digits are cut); a missing
 *   timestamp is the server's clock at the request;
 * - blank lines, lines of spaces, `#` comment lines and CRLF line ends are accepted.
 *
 * Each field is one sample (see `mapping.ts` for the identity): the metric is `measurement_field`, or
 * just `measurement` for a field named `value` (Telegraf's Prometheus naming). Kinds: `u` fields are
 * counters; `i` and float fields are counters when the metric or field name matches
 * `ingestion.mapping.counter_patterns` and the value is a whole number ≥ 0, gauges otherwise; strings
 * are text samples; booleans are gauges 1 / 0.
 *
 * @module
 */
import { FLAG_VALID, SampleBatch } from "../model/batch.ts";
import { InputError } from "../model/errors.ts";
import { KIND_CODE, MAX_COUNTER, MAX_FUTURE_MS, MAX_TEXT_LENGTH } from "../model/sample.ts";
import type { Identity, IdentityMapper } from "./mapping.ts";

/** Timestamp precisions and their length in ms (a divisor for the finer ones). */
const PRECISIONS: Readonly<Record<string, { cut: number; scale: number }>> = {
  ns: { cut: 6, scale: 1 },
  n: { cut: 6, scale: 1 },
  us: { cut: 3, scale: 1 },
  u: { cut: 3, scale: 1 },
  "µ": { cut: 3, scale: 1 },
  ms: { cut: 0, scale: 1 },
  s: { cut: 0, scale: 1000 },
  m: { cut: 0, scale: 60_000 },
  h: { cut: 0, scale: 3_600_000 },
};

/** Whether `p` names a precision (v1 spellings included). */
export function isPrecision(p: string): boolean {
  return Object.hasOwn(PRECISIONS, p);
}

/** What a line protocol body is decoded with. */
export interface LineOptions {
  /** `db` (v1) or `bucket` (v2): the namespace when no namespace tag is given. */
  database?: string;
  /** Timestamp precision (see {@link isPrecision}); default `ns`. */
  precision?: string;
  /** The server's clock: the timestamp of lines without one. */
  nowMs: number;
  /** Earliest accepted timestamp (ms). */
  oldestMs: number;
}

const utf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

const BACKSLASH = 0x5c, SPACE = 0x20, COMMA = 0x2c, EQUALS = 0x3d, QUOTE = 0x22, NL = 0x0a, CR = 0x0d;
const TAB = 0x09, HASH = 0x23;
const FLOAT = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;
const INTEGER = /^[+-]?\d+$/;
const UNSIGNED = /^\d+$/;
const TWO_POW_53 = 2 ** 53;
const INT64_MAX = 9223372036854775807n;

/**
 * Decodes a line protocol body into a batch (not yet resolved against the series index).
 *
 * @example
 * ```ts
 * import { parseLineProtocol } from "./influx.ts";
 * import { DEFAULT_MAPPING, IdentityMapper } from "./mapping.ts";
 * const body = new TextEncoder().encode("interface,agent_host=sw1,ifName=Gi0/1 ifHCInOctets=42i 1700000000\n");
 * const b = parseLineProtocol(body, new IdentityMapper(DEFAULT_MAPPING), {
 *   database: "snmp", precision: "s", nowMs: 1_700_000_000_000, oldestMs: 0 });
 * if (b.length !== 1 || b.poller[0] !== 'interface_ifHCInOctets{ifName="Gi0/1"}' || b.ts[0] !== 1.7e12) {
 *   throw new Error();
 * }
 * ```
 */
export function parseLineProtocol(body: Uint8Array, mapper: IdentityMapper, options: LineOptions): SampleBatch {
  let text: string;
  try {
    text = utf8.decode(body);
  } catch {
    throw new InputError("invalid", "the body is not valid UTF-8");
  }
  return new LineScanner(text, mapper, options).scan();
}

class LineScanner {
  private pos = 0;
  private line = 1;
  private lineStart = 0;
  private batch: SampleBatch;
  private readonly cut: number;
  private readonly scale: number;
  private readonly precision: string;
  private readonly db: string;
  private readonly memoPrefix: string;
  // the fields of the current line
  private readonly fieldRaw: string[] = [];
  private readonly fieldKind: number[] = [];
  private readonly fieldValue: number[] = [];
  private readonly fieldBig: (bigint | undefined)[] = [];
  private readonly fieldText: string[] = [];

  constructor(
    private readonly s: string,
    private readonly mapper: IdentityMapper,
    private readonly options: LineOptions,
  ) {
    this.precision = options.precision ?? "ns";
    const p = PRECISIONS[this.precision];
    if (p === undefined) throw new InputError("invalid", `unknown precision "${this.precision}"`);
    this.cut = p.cut;
    this.scale = p.scale;
    this.db = options.database ?? "";
    this.memoPrefix = `lp${this.db.length}:${this.db}`;
    this.batch = new SampleBatch(Math.max(16, Math.ceil(s.length / 48)));
  }

  scan(): SampleBatch {
    const s = this.s;
    const n = s.length;
    while (this.pos < n) {
      // leading white space, blank lines, comments
      let c = s.charCodeAt(this.pos);
      while ((c === SPACE || c === TAB) && this.pos < n) c = s.charCodeAt(++this.pos);
      if (this.pos >= n) break;
      if (c === NL || c === CR) {
        this.endLine(c);
        continue;
      }
      if (c === HASH) {
        const nl = s.indexOf("\n", this.pos);
        this.pos = nl < 0 ? n : nl;
        if (this.pos < n) this.endLine(NL);
        continue;
      }
      this.lineStart = this.pos;
      this.scanLine();
    }
    return this.batch;
  }

  /** Consumes the line end at `pos` (`\n`, `\r\n`). */
  private endLine(c: number): void {
    if (c === CR) {
      if (this.s.charCodeAt(this.pos + 1) !== NL) this.fail("a carriage return not followed by a line feed");
      this.pos++;
    }
    this.pos++;
    this.line++;
  }

  private scanLine(): void {
    const s = this.s;
    const n = s.length;
    // the series key: measurement and tags, up to the first unescaped space
    const k0 = this.pos;
    let i = k0;
    for (; i < n; i++) {
      const c = s.charCodeAt(i);
      if (c === BACKSLASH) i++;
      else if (c === SPACE) break;
      else if (c === NL || c === CR) this.fail("a line needs a field set after the measurement and tags", i);
    }
    if (i >= n) this.fail("a line needs a field set after the measurement and tags", n);
    const key = s.slice(k0, i);
    if (key.charCodeAt(0) === COMMA) this.fail("the measurement is empty", k0);
    while (s.charCodeAt(i) === SPACE) i++;
    // the field set
    let count = 0;
    for (;;) {
      const f0 = i;
      for (; i < n; i++) {
        const c = s.charCodeAt(i);
        if (c === BACKSLASH) i++;
        else if (c === EQUALS) break;
        else if (c === SPACE || c === COMMA || c === NL || c === CR) {
          this.fail(count === 0 && c !== COMMA ? "a field needs key=value" : "a field key needs = and a value", i);
        }
      }
      if (i >= n) this.fail("a field key needs = and a value", i);
      if (i === f0) this.fail("a field key is empty", i);
      const fieldRaw = s.slice(f0, i);
      i++; // '='
      i = this.fieldValueAt(i, count);
      this.fieldRaw[count] = fieldRaw;
      count++;
      const c = s.charCodeAt(i);
      if (c === COMMA) {
        i++;
        continue;
      }
      break;
    }
    // the timestamp
    while (s.charCodeAt(i) === SPACE) i++;
    let ts = this.options.nowMs;
    if (i < n && s.charCodeAt(i) !== NL && s.charCodeAt(i) !== CR) {
      const t0 = i;
      while (i < n && s.charCodeAt(i) !== SPACE && s.charCodeAt(i) !== NL && s.charCodeAt(i) !== CR) i++;
      ts = this.timestamp(s.slice(t0, i), t0);
      while (s.charCodeAt(i) === SPACE || s.charCodeAt(i) === TAB) i++;
      if (i < n && s.charCodeAt(i) !== NL && s.charCodeAt(i) !== CR) {
        this.fail("unexpected text after the timestamp", i);
      }
    }
    this.pos = i;
    this.emit(key, count, ts);
    if (i < n) this.endLine(s.charCodeAt(i));
  }

  /** Reads the value of field `f` starting at `i`; answers the index after it. */
  private fieldValueAt(i: number, f: number): number {
    const s = this.s;
    const n = s.length;
    if (s.charCodeAt(i) === QUOTE) {
      let out = "";
      let from = i + 1;
      let j = from;
      for (; j < n; j++) {
        const c = s.charCodeAt(j);
        if (c === QUOTE) break;
        if (c === BACKSLASH) {
          const next = s.charCodeAt(j + 1);
          if (next === QUOTE || next === BACKSLASH) {
            out += s.slice(from, j);
            from = j + 1;
            j++;
          }
        }
      }
      if (j >= n) this.fail("a string field value has no closing quote", i);
      out += s.slice(from, j);
      if (out.length > MAX_TEXT_LENGTH) {
        this.fail(`a string field value is longer than ${MAX_TEXT_LENGTH} characters`, i);
      }
      this.fieldKind[f] = KIND_CODE.text;
      this.fieldText[f] = out;
      return j + 1;
    }
    let j = i;
    while (j < n) {
      const c = s.charCodeAt(j);
      if (c === COMMA || c === SPACE || c === NL || c === CR) break;
      j++;
    }
    if (j === i) this.fail("a field value is missing", i);
    const v = s.slice(i, j);
    const last = v.charCodeAt(v.length - 1);
    this.fieldBig[f] = undefined;
    if (last === 0x69 /* i */) {
      const digits = v.slice(0, -1);
      if (!INTEGER.test(digits)) this.fail(`invalid integer field value "${v}"`, i);
      const num = Number(digits);
      if (Math.abs(num) >= TWO_POW_53) {
        const big = BigInt(digits);
        if (big > INT64_MAX || big < -INT64_MAX - 1n) this.fail(`integer field value "${v}" is out of range`, i);
        if (big >= 0n) this.fieldBig[f] = big;
      }
      this.fieldKind[f] = KIND_INT;
      this.fieldValue[f] = num;
    } else if (last === 0x75 /* u */) {
      const digits = v.slice(0, -1);
      if (!UNSIGNED.test(digits)) this.fail(`invalid unsigned field value "${v}"`, i);
      const num = Number(digits);
      if (num >= TWO_POW_53) {
        const big = BigInt(digits);
        if (big > MAX_COUNTER) this.fail(`unsigned field value "${v}" is out of range`, i);
        this.fieldBig[f] = big;
      }
      this.fieldKind[f] = KIND_UINT;
      this.fieldValue[f] = num;
    } else if (FLOAT.test(v)) {
      const num = Number(v);
      if (!Number.isFinite(num)) this.fail(`float field value "${v}" is out of range`, i);
      this.fieldKind[f] = KIND_FLOAT;
      this.fieldValue[f] = num;
    } else {
      const b = BOOLEANS[v];
      if (b === undefined) this.fail(`invalid field value "${v}"`, i);
      this.fieldKind[f] = KIND_BOOL;
      this.fieldValue[f] = b;
    }
    return j;
  }

  /** A timestamp in the request's precision, in ms (floored), checked against the accepted range. */
  private timestamp(t: string, at: number): number {
    if (!INTEGER.test(t)) this.fail(`invalid timestamp "${t}"`, at);
    const negative = t.charCodeAt(0) === 0x2d;
    const digits = t.replace(/^[+-]/, "");
    let ms: number;
    if (this.cut > 0) {
      const whole = digits.length > this.cut ? Number(digits.slice(0, digits.length - this.cut)) : 0;
      const rest = digits.length > this.cut ? Number(digits.slice(digits.length - this.cut)) : Number(digits);
      ms = negative ? -whole - (rest > 0 ? 1 : 0) : whole;
    } else {
      ms = (negative ? -Number(digits) : Number(digits)) * this.scale;
    }
    if (ms < this.options.oldestMs || ms > this.options.nowMs + MAX_FUTURE_MS) {
      const now = this.options.nowMs;
      const looks = (p: string) => {
        const q = PRECISIONS[p];
        const v = (negative ? -1 : 1) * Number(digits) * q.scale / 10 ** q.cut;
        return v >= this.options.oldestMs && v <= now + MAX_FUTURE_MS;
      };
      const hint = ["s", "ms", "us", "ns"].find((p) => p !== this.precision && looks(p));
      const when = Number.isFinite(ms) && Math.abs(ms) < 8.64e15 ? ` (${new Date(ms).toISOString()})` : "";
      this.fail(
        `timestamp ${t} with precision=${this.precision}${when} is ${
          ms > now ? `more than ${MAX_FUTURE_MS / 60_000} minutes ahead of the server clock` : "older than accepted " +
            `(oldest accepted now: ${new Date(this.options.oldestMs).toISOString()})`
        }${hint ? `; it looks like precision=${hint}` : ""}`,
        at,
      );
    }
    return ms;
  }

  /** Appends the samples of the current line. */
  private emit(key: string, count: number, ts: number): void {
    let b = this.batch;
    if (b.length + count > b.ts.length) b = this.batch = b.grown(Math.max(b.ts.length * 2, b.length + count));
    let parsed: { measurement: string; tags: [string, string][] } | undefined;
    for (let f = 0; f < count; f++) {
      const fieldRaw = this.fieldRaw[f];
      // length-prefixed: no two (db, key, field) share a memo key, whatever characters they hold
      const memoKey = this.memoPrefix + key.length + ":" + key + fieldRaw;
      let id = this.mapper.recall(memoKey) as LineIdentity | undefined;
      if (id === undefined) {
        try {
          parsed ??= this.parseKey(key);
          const field = unescape(fieldRaw);
          const metric = field === "value" ? parsed.measurement : parsed.measurement + "_" + field;
          id = {
            ...this.mapper.map(metric, parsed.tags, this.db),
            counterName: this.mapper.isCounterName(metric) || this.mapper.isCounterName(field),
          };
        } catch (err) {
          if (err instanceof InputError) this.fail(err.message);
          throw err;
        }
        this.mapper.remember(memoKey, id);
      }
      const i = b.length++;
      b.namespace[i] = id.namespace;
      b.target[i] = id.target;
      b.poller[i] = id.poller;
      b.ts[i] = ts;
      b.flags[i] = FLAG_VALID;
      b.pollMs[i] = 0;
      const kind = this.fieldKind[f];
      const value = this.fieldValue[f];
      if (kind === KIND_CODE.text) {
        b.kind[i] = KIND_CODE.text;
        b.value[i] = NaN;
        b.setText(i, this.fieldText[f]);
        continue;
      }
      const big = this.fieldBig[f];
      const counter = kind === KIND_UINT ||
        ((kind === KIND_INT || kind === KIND_FLOAT) && value >= 0 && Number.isInteger(value) && id.counterName);
      if (counter) {
        b.kind[i] = KIND_CODE.counter;
        b.value[i] = value;
        if (big !== undefined) b.setBig(i, big);
        else if (value > Number.MAX_SAFE_INTEGER) {
          if (value > Number(MAX_COUNTER)) this.fail(`counter value ${value} is above 2^64 - 1`);
          b.setBig(i, BigInt(value));
        }
      } else {
        b.kind[i] = KIND_CODE.gauge;
        b.value[i] = value;
      }
    }
  }

  /** The measurement and tags of a raw series key. */
  private parseKey(key: string): { measurement: string; tags: [string, string][] } {
    const parts = splitUnescaped(key, COMMA);
    const measurement = unescape(parts[0]);
    if (measurement === "") throw new InputError("invalid", "the measurement is empty");
    const tags: [string, string][] = [];
    for (let k = 1; k < parts.length; k++) {
      const eq = indexUnescaped(parts[k], EQUALS);
      if (eq < 0) throw new InputError("invalid", `tag "${unescape(parts[k])}" needs key=value`);
      const name = unescape(parts[k].slice(0, eq));
      const value = unescape(parts[k].slice(eq + 1));
      if (name === "") throw new InputError("invalid", "a tag key is empty");
      if (value === "") throw new InputError("invalid", `tag "${name}" has an empty value`);
      tags.push([name, value]);
    }
    return { measurement, tags };
  }

  /** Fails the body at the current line (`at`: where in it, for the excerpt). */
  private fail(message: string, _at?: number): never {
    const s = this.s;
    let end = s.indexOf("\n", this.lineStart);
    if (end < 0) end = s.length;
    let text = s.slice(this.lineStart, end).replace(/\r$/, "");
    if (text.length > 120) text = text.slice(0, 117) + "...";
    throw new InputError("invalid", `line ${this.line}: ${message}: '${text}'`);
  }
}

/** A line protocol series' identity, with whether its metric or field name is a counter's. */
interface LineIdentity extends Identity {
  counterName: boolean;
}

const KIND_INT = 100, KIND_UINT = 101, KIND_FLOAT = 102, KIND_BOOL = 103;

const BOOLEANS: Readonly<Record<string, number>> = {
  t: 1,
  T: 1,
  true: 1,
  True: 1,
  TRUE: 1,
  f: 0,
  F: 0,
  false: 0,
  False: 0,
  FALSE: 0,
};

/** Removes the backslash of `\,`, `\=`, `\ ` and `\"`; any other backslash stays (as InfluxDB does). */
function unescape(text: string): string {
  if (text.indexOf("\\") < 0) return text;
  return text.replace(/\\([, ="])/g, "$1");
}

function indexUnescaped(text: string, ch: number): number {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === BACKSLASH) i++;
    else if (c === ch) return i;
  }
  return -1;
}

function splitUnescaped(text: string, ch: number): string[] {
  const out: string[] = [];
  let from = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === BACKSLASH) i++;
    else if (c === ch) {
      out.push(text.slice(from, i));
      from = i + 1;
    }
  }
  out.push(text.slice(from));
  return out;
}
