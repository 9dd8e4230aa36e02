/**
 * The alternative to the hand-written JSON scanner that issue 8 asks to compare: `JSON.parse` of the
 * whole body, then per sample the field checks and the series look-up by strings, into the same
 * columnar {@link SampleBatch}. It checks less than `src/ingest/json_scan.ts` (no unknown-field, alias,
 * age or escape rules), so it is a lower bound on what a `JSON.parse` decoder would cost: if it is not
 * faster, the scanner stays (bench suite `decode`).
 *
 * @module
 */
import { FLAG_VALID, SampleBatch } from "../../src/model/batch.ts";
import { KIND_CODE } from "../../src/model/sample.ts";

const decoder = new TextDecoder("utf-8", { fatal: true });

/** Decodes a `{"samples": [...]}` body; `resolve` maps an identity to its series id. */
export function decodeWithJsonParse(
  body: Uint8Array,
  resolve: (namespace: string, target: string, poller: string) => number,
): SampleBatch {
  const doc = JSON.parse(decoder.decode(body));
  const samples = Array.isArray(doc) ? doc : doc?.samples;
  if (!Array.isArray(samples)) throw new TypeError('Expected {"samples": [...]}');
  const batch = new SampleBatch(samples.length);
  for (let i = 0; i < samples.length; i++) {
    const s = samples[i];
    const { namespace, target, poller, timestamp_ms: ts } = s;
    if (typeof namespace !== "string" || namespace === "") throw new TypeError(`samples[${i}].namespace`);
    if (typeof target !== "string" || target === "") throw new TypeError(`samples[${i}].target`);
    if (typeof poller !== "string" || poller === "") throw new TypeError(`samples[${i}].poller`);
    if (!Number.isSafeInteger(ts)) throw new TypeError(`samples[${i}].timestamp_ms`);
    batch.namespace[i] = namespace;
    batch.target[i] = target;
    batch.poller[i] = poller;
    batch.ts[i] = ts;
    const valid = s.valid ?? true;
    if (typeof valid !== "boolean") throw new TypeError(`samples[${i}].valid`);
    batch.flags[i] = valid ? FLAG_VALID : 0;
    const pollMs = s.poll_ms ?? 0;
    if (!Number.isSafeInteger(pollMs) || pollMs < 0) throw new TypeError(`samples[${i}].poll_ms`);
    batch.pollMs[i] = pollMs;
    if (s.value_counter !== undefined) {
      const c = s.value_counter;
      if (typeof c === "number") {
        if (!Number.isSafeInteger(c) || c < 0) throw new TypeError(`samples[${i}].value_counter`);
        batch.value[i] = c;
      } else if (typeof c === "string" && /^\d{1,20}$/.test(c)) {
        const big = BigInt(c);
        batch.value[i] = Number(big);
        if (big > BigInt(Number.MAX_SAFE_INTEGER)) batch.setBig(i, big);
      } else throw new TypeError(`samples[${i}].value_counter`);
      batch.kind[i] = KIND_CODE.counter;
    } else if (s.value_text !== undefined) {
      if (typeof s.value_text !== "string") throw new TypeError(`samples[${i}].value_text`);
      batch.kind[i] = KIND_CODE.text;
      batch.value[i] = NaN;
      batch.setText(i, s.value_text);
    } else {
      const v = s.value ?? NaN;
      if (typeof v !== "number") throw new TypeError(`samples[${i}].value`);
      batch.kind[i] = KIND_CODE.gauge;
      batch.value[i] = v;
    }
    batch.seriesId[i] = resolve(namespace, target, poller);
    batch.length++;
  }
  return batch;
}
