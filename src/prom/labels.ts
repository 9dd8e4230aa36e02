/**
 * How a stored series (namespace, target, poller) looks to Prometheus: a label set.
 *
 * - `namespace` and `target` are labels of those names.
 * - A poller in the labelled form of `src/model/poller_labels.ts` (what the foreign ingest protocols
 *   write, e.g. `ifHCInOctets{ifName="Gi0/1"}`) gives `__name__` = its metric plus its labels.
 * - A poller that is already a valid metric name (`sysUpTime`) is `__name__` as it is.
 * - Any other native poller (`ifHCInOctets.Gi0/1/25`) gets `__name__` = the poller with every character
 *   outside `[a-zA-Z0-9_:]` replaced by `_` (and a leading digit prefixed with `_`) — the name
 *   VictoriaMetrics' import of the same data uses — plus a label `poller` holding the raw poller, so
 *   two pollers that sanitize to the same name stay two series.
 *
 * A poller label named `namespace`, `target` or `poller` that would collide with these is renamed
 * `exported_<name>`, as Prometheus does for scraped labels that collide with target labels.
 *
 * @module
 */
import { parsePoller } from "../model/poller_labels.ts";

/** A label set: `[name, value]` pairs sorted by name, unique names, no empty values. */
export type Labels = readonly (readonly [string, string])[];

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;

/**
 * The metric name VictoriaMetrics' import (and the bench generator) gives a native poller.
 *
 * @example
 * ```ts
 * import { sanitizeMetricName } from "./labels.ts";
 * if (sanitizeMetricName("ifHCInOctets.Gi0/1/25") !== "ifHCInOctets_Gi0_1_25") throw new Error();
 * if (sanitizeMetricName("1min.load") !== "_1min_load") throw new Error();
 * ```
 */
export function sanitizeMetricName(poller: string): string {
  const m = poller.replace(/[^a-zA-Z0-9_:]/g, "_");
  return /^[0-9]/.test(m) ? "_" + m : m;
}

/**
 * The labels of a series.
 *
 * @example
 * ```ts
 * import { seriesLabels } from "./labels.ts";
 * const l = seriesLabels("prod", "r1", "ifHCInOctets.Gi0/1");
 * // [["__name__","ifHCInOctets_Gi0_1"],["namespace","prod"],["poller","ifHCInOctets.Gi0/1"],["target","r1"]]
 * if (l.length !== 4 || l[0][1] !== "ifHCInOctets_Gi0_1") throw new Error();
 * ```
 */
export function seriesLabels(namespace: string, target: string, poller: string): Labels {
  const { metric, labels } = parsePoller(poller);
  const out: [string, string][] = [["namespace", namespace], ["target", target]];
  if (labels.length > 0) {
    out.push(["__name__", metric]);
  } else if (METRIC_NAME.test(poller)) {
    out.push(["__name__", poller]);
  } else {
    out.push(["__name__", sanitizeMetricName(poller)], ["poller", poller]);
  }
  const taken = new Set(out.map(([n]) => n));
  for (const [name, value] of labels) out.push([taken.has(name) ? `exported_${name}` : name, value]);
  out.sort((a, b) => a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0);
  return out;
}

/** The value of label `name`, or "" when absent (as Prometheus treats an absent label). */
export function labelValue(labels: Labels, name: string): string {
  for (const [n, v] of labels) if (n === name) return v;
  return "";
}

/** The labels as a JSON object (the API's `metric`). */
export function labelsObject(labels: Labels): Record<string, string> {
  const o: Record<string, string> = {};
  for (const [n, v] of labels) o[n] = v;
  return o;
}

/** A key identifying a label set. */
export function labelsKey(labels: Labels): string {
  let k = "";
  for (const [n, v] of labels) k += n + "\u0000" + v + "\u0001";
  return k;
}

/** The labels without `__name__` (what functions and arithmetic return, as in Prometheus). */
export function dropName(labels: Labels): Labels {
  return labels.filter(([n]) => n !== "__name__");
}

/** Orders label sets as Prometheus does (`labels.Compare`: pair by pair, name then value). */
export function compareLabels(a: Labels, b: Labels): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    if (a[i][0] !== b[i][0]) return a[i][0] < b[i][0] ? -1 : 1;
    if (a[i][1] !== b[i][1]) return a[i][1] < b[i][1] ? -1 : 1;
  }
  return a.length - b.length;
}
