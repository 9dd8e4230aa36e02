/**
 * The collectd `write_http` JSON decoder (`POST /collectd`, `Format "JSON"`): a JSON array of value lists
 *
 * ```json
 * [{"values":[197141504,175136768],"dstypes":["derive","derive"],"dsnames":["rx","tx"],"time":1700000000.123,
 *   "interval":10.000,"host":"sw1","plugin":"snmp","plugin_instance":"","type":"if_octets","type_instance":"Gi0/1"}]
 * ```
 *
 * Each data source of a value list is one sample. Its metric is `plugin_type`, with `_dsname` added when the
 * data source is not named `value` (`snmp_if_octets_rx`); its labels are `host` (the target by default),
 * `plugin_instance` and `type_instance` (empty ones are absent), then the identity mapping (`mapping.ts`)
 * applies. `counter`, `derive` and `absolute` values are counters (a negative `derive` is a gauge: ours are
 * unsigned), `gauge` values gauges; a `null` value (collectd's NaN) is a failed sample with error `NaN`.
 * `time` is in seconds with a fraction, rounded to the millisecond. Unknown keys (`meta`, added by newer
 * collectd versions) are ignored.
 *
 * @module
 */
import { FLAG_VALID, SampleBatch } from "../model/batch.ts";
import { InputError } from "../model/errors.ts";
import { KIND_CODE, MAX_COUNTER, MAX_FUTURE_MS } from "../model/sample.ts";
import type { IdentityMapper } from "./mapping.ts";

const utf8 = new TextDecoder("utf-8", { fatal: true });
const COUNTER_TYPES = new Set(["counter", "derive", "absolute"]);
const ALL_TYPES = new Set(["counter", "derive", "absolute", "gauge"]);

/**
 * Decodes a collectd JSON body into a batch (not yet resolved against the series index).
 *
 * @example
 * ```ts
 * import { parseCollectd } from "./collectd.ts";
 * import { DEFAULT_MAPPING, IdentityMapper } from "./mapping.ts";
 * const body = new TextEncoder().encode(JSON.stringify([{ values: [42], dstypes: ["gauge"], dsnames: ["value"],
 *   time: 1700000000.5, interval: 10, host: "sw1", plugin: "load", plugin_instance: "", type: "load",
 *   type_instance: "" }]));
 * const b = parseCollectd(body, new IdentityMapper(DEFAULT_MAPPING), { nowMs: 1_700_000_000_000, oldestMs: 0 });
 * if (b.target[0] !== "sw1" || b.poller[0] !== "load_load" || b.ts[0] !== 1_700_000_000_500) throw new Error();
 * ```
 */
export function parseCollectd(
  body: Uint8Array,
  mapper: IdentityMapper,
  clock: { nowMs: number; oldestMs: number },
): SampleBatch {
  let lists: unknown;
  try {
    lists = JSON.parse(utf8.decode(body));
  } catch (err) {
    throw new InputError("invalid_json", `the body is not JSON: ${(err as Error).message}`);
  }
  if (!Array.isArray(lists)) throw new InputError("invalid_json", "the body must be a JSON array of value lists");
  let count = 0;
  for (const l of lists) {
    count += Array.isArray((l as { values?: unknown })?.values) ? (l as { values: [] }).values.length : 0;
  }
  const batch = new SampleBatch(Math.max(1, count));
  for (let n = 0; n < lists.length; n++) {
    const fail = (message: string): never => {
      throw new InputError("invalid_sample", `value list ${n}: ${message}`, n);
    };
    const l = lists[n] as Record<string, unknown>;
    if (typeof l !== "object" || l === null || Array.isArray(l)) fail("must be an object");
    const str = (key: string, required: boolean): string => {
      const v = l[key];
      if (v === undefined && !required) return "";
      if (typeof v !== "string") fail(`"${key}" must be a string`);
      return v as string;
    };
    const host = str("host", true), plugin = str("plugin", true), type = str("type", true);
    const pluginInstance = str("plugin_instance", false), typeInstance = str("type_instance", false);
    if (plugin === "" || type === "") fail(`"plugin" and "type" must not be empty`);
    const { values, dstypes, dsnames, time } = l as {
      values: unknown;
      dstypes: unknown;
      dsnames: unknown;
      time: unknown;
    };
    if (!Array.isArray(values) || !Array.isArray(dstypes) || !Array.isArray(dsnames)) {
      fail(`"values", "dstypes" and "dsnames" must be arrays`);
    }
    const vs = values as unknown[], types = dstypes as unknown[], names = dsnames as unknown[];
    if (types.length !== vs.length || names.length !== vs.length) {
      fail(`"values", "dstypes" and "dsnames" must have the same length`);
    }
    if (typeof time !== "number" || !Number.isFinite(time)) fail(`"time" must be a number of seconds`);
    const ts = Math.round((time as number) * 1000);
    if (ts < clock.oldestMs || ts > clock.nowMs + MAX_FUTURE_MS) {
      fail(
        `time ${time} (${new Date(ts).toISOString()}) is ${
          ts > clock.nowMs ? "more than 1 hour ahead of the server clock" : "older than accepted"
        }`,
      );
    }
    const labels: [string, string][] = [["host", host], ["plugin_instance", pluginInstance], [
      "type_instance",
      typeInstance,
    ]];
    for (let d = 0; d < vs.length; d++) {
      const dsname = names[d], dstype = types[d], value = vs[d];
      if (typeof dsname !== "string" || dsname === "") fail(`dsnames[${d}] must be a non-empty string`);
      if (typeof dstype !== "string" || !ALL_TYPES.has(dstype)) {
        fail(`dstypes[${d}] must be "gauge", "counter", "derive" or "absolute"`);
      }
      if (value !== null && (typeof value !== "number" || !Number.isFinite(value))) {
        fail(`values[${d}] must be a number or null`);
      }
      const metric = dsname === "value" ? `${plugin}_${type}` : `${plugin}_${type}_${dsname}`;
      const key =
        `cd\u0000${host}\u0000${plugin}\u0000${pluginInstance}\u0000${type}\u0000${typeInstance}\u0000${dsname}`;
      let id;
      try {
        id = mapper.mapMemo(key, metric, labels);
      } catch (err) {
        if (err instanceof InputError) fail(err.message);
        throw err;
      }
      const i = batch.length++;
      batch.namespace[i] = id.namespace;
      batch.target[i] = id.target;
      batch.poller[i] = id.poller;
      batch.ts[i] = ts;
      batch.pollMs[i] = 0;
      if (value === null) {
        batch.kind[i] = KIND_CODE.none;
        batch.flags[i] = 0;
        batch.value[i] = NaN;
        batch.setError(i, "NaN");
        continue;
      }
      const v = value as number;
      batch.flags[i] = FLAG_VALID;
      batch.value[i] = v;
      if (COUNTER_TYPES.has(dstype as string) && v >= 0 && Number.isInteger(v) && v <= Number(MAX_COUNTER)) {
        batch.kind[i] = KIND_CODE.counter;
        if (v > Number.MAX_SAFE_INTEGER) batch.setBig(i, BigInt(v));
      } else {
        batch.kind[i] = KIND_CODE.gauge;
      }
    }
  }
  return batch;
}
