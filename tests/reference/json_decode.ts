/**
 * JSON and NDJSON bodies → columnar batches. Field names are the protocol's (`timestamp_ms`,
 * `value_gauge`, …) or their proto3 JSON camelCase forms (`timestampMs`, `valueGauge`, …); `value`
 * is a gauge. A counter is a JSON number (exact up to 2^53) or a decimal string (exact up to 2^64 −
 * 1). A missing timestamp means "now"; a missing `valid` means true. Unknown fields are rejected, so
 * a typo is an error, not silently lost data.
 *
 * @module
 */
import { FLAG_VALID, SampleBatch } from "../../src/model/batch.ts";
import { InputError } from "../../src/model/errors.ts";
import { KIND_CODE } from "../../src/model/sample.ts";
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
} from "../../src/ingest/validate.ts";

/**
 * Decodes a JSON body: `{"samples": [...]}` or a bare array.
 *
 * @example
 * ```ts
 * import { decodeJson } from "./json_decode.ts";
 * const b = decodeJson('[{"namespace":"n","target":"t","poller":"p","timestamp_ms":1000,"value":1.5}]', 2000);
 * if (b.length !== 1 || b.value[0] !== 1.5) throw new Error();
 * ```
 */
export function decodeJson(text: string, nowMs: number): SampleBatch {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw new InputError("invalid_json", `Cannot parse the body as JSON: ${(err as Error).message}`);
  }
  const samples = Array.isArray(doc) ? doc : (doc as { samples?: unknown } | null)?.samples;
  if (!Array.isArray(samples)) {
    throw new InputError("invalid_body", 'Expected {"samples": [...]} or a JSON array of samples');
  }
  if (!Array.isArray(doc)) checkEnvelope(doc as Record<string, unknown>);
  const batch = new SampleBatch(samples.length);
  for (let i = 0; i < samples.length; i++) addJsonSample(batch, samples[i], i, nowMs);
  return batch;
}

function checkEnvelope(doc: Record<string, unknown>): void {
  for (const key in doc) {
    if (key !== "samples" && key !== "received_at_ms" && key !== "receivedAtMs") {
      throw new InputError("invalid_body", `Unknown field "${key}" in the batch (expected "samples")`);
    }
  }
}

/** Decodes an NDJSON body: one sample object per line (blank lines are skipped). */
export function decodeNdjson(text: string, nowMs: number): SampleBatch {
  const lines = text.split("\n");
  const batch = new SampleBatch(lines.length);
  for (let line = 0; line < lines.length; line++) {
    const s = lines[line].trim();
    if (s === "") continue;
    let obj: unknown;
    try {
      obj = JSON.parse(s);
    } catch (err) {
      throw new InputError(
        "invalid_json",
        `Cannot parse line ${line + 1} as JSON: ${(err as Error).message}`,
        batch.length,
      );
    }
    addJsonSample(batch, obj, batch.length, nowMs);
  }
  return batch;
}

interface Fields {
  namespace?: unknown;
  target?: unknown;
  poller?: unknown;
  ts?: unknown;
  gauge?: unknown;
  counter?: unknown;
  text?: unknown;
  valid?: unknown;
  error?: unknown;
  pollMs?: unknown;
  values: number;
}

/** Validates one JSON sample and appends it to `batch` at index `i`. */
export function addJsonSample(batch: SampleBatch, obj: unknown, i: number, nowMs: number): void {
  if (typeof obj !== "object" || obj === null || Array.isArray(obj)) bad(i, "must be a JSON object");
  const f = readFields(obj as Record<string, unknown>, i);
  batch.namespace[i] = checkIdentity(f.namespace, "namespace", i);
  batch.target[i] = checkIdentity(f.target, "target", i);
  batch.poller[i] = checkIdentity(f.poller, "poller", i);
  batch.ts[i] = checkTimestamp(f.ts, i, nowMs);
  const valid = checkValid(f.valid, i);
  batch.flags[i] = valid ? FLAG_VALID : 0;
  batch.setError(i, checkError(f.error, i));
  batch.pollMs[i] = checkPollMs(f.pollMs, i);
  if (f.values > 1) bad(i, "has more than one value; send exactly one of value/value_gauge, value_counter, value_text");
  if (f.values === 0 && valid) {
    bad(i, "has no value; a valid sample needs value_gauge (or value), value_counter or value_text");
  }
  setValue(batch, f, i);
  batch.length = i + 1;
}

function setValue(batch: SampleBatch, f: Fields, i: number): void {
  batch.value[i] = NaN;
  if (f.gauge !== undefined) {
    batch.kind[i] = KIND_CODE.gauge;
    batch.value[i] = checkGauge(f.gauge, i);
  } else if (f.counter !== undefined) {
    batch.kind[i] = KIND_CODE.counter;
    const c = checkCounter(f.counter, i);
    if (typeof c === "bigint") {
      batch.setBig(i, c);
      batch.value[i] = Number(c);
    } else batch.value[i] = c;
  } else if (f.text !== undefined) {
    batch.kind[i] = KIND_CODE.text;
    batch.setText(i, checkText(f.text, i));
  } else batch.kind[i] = KIND_CODE.none;
}

function readFields(o: Record<string, unknown>, i: number): Fields {
  const f: Fields = { values: 0 };
  for (const key in o) {
    const v = o[key];
    switch (key) {
      case "namespace":
        f.namespace = v;
        break;
      case "target":
        f.target = v;
        break;
      case "poller":
        f.poller = v;
        break;
      case "timestamp_ms":
      case "timestampMs":
        f.ts = v;
        break;
      case "value":
      case "value_gauge":
      case "valueGauge":
        if (v === null) break;
        f.gauge = v;
        f.values++;
        break;
      case "value_counter":
      case "valueCounter":
        if (v === null) break;
        f.counter = v;
        f.values++;
        break;
      case "value_text":
      case "valueText":
        if (v === null) break;
        f.text = v;
        f.values++;
        break;
      case "valid":
        f.valid = v;
        break;
      case "error":
        f.error = v;
        break;
      case "poll_ms":
      case "pollMs":
        f.pollMs = v;
        break;
      default:
        bad(i, `unknown field "${key}"`);
    }
  }
  return f;
}
