/**
 * The one encoding of a labelled metric in a poller name, shared by the foreign ingest protocols
 * (InfluxDB line protocol, Prometheus remote-write, collectd), which write it, and the Prometheus read
 * API, which reads it back. Series identity stays (namespace, target, poller); a protocol's metric and
 * the labels left after namespace and target were taken become the poller:
 *
 * ```
 * metric                                   no labels left
 * metric{label="value",other="x"}          labels sorted by name (UTF-16 code units), empty values dropped
 * metric{"odd key"="value"}                a name that is not a Prometheus label name is quoted
 * {__name__="odd{metric",label="value"}    a metric that holds `{` goes in as `__name__`
 * ```
 *
 * Values (and quoted names) escape `\` as `\\`, `"` as `\"` and a newline as `\n`, as in the Prometheus
 * text exposition format. The encoding is canonical: one label set has one poller, and two different
 * label sets never share one, so nothing is lost and nothing collides.
 *
 * A poller that is not in this form (a native poller such as `ifHCInOctets.Gi0/1`) parses as a metric
 * named exactly as the poller, with no labels.
 *
 * @example
 * ```ts
 * import { formatPoller, parsePoller } from "./poller_labels.ts";
 * const poller = formatPoller("interface_ifHCInOctets", { ifName: "Gi0/1", ifIndex: "1" });
 * // poller === 'interface_ifHCInOctets{ifIndex="1",ifName="Gi0/1"}'
 * parsePoller(poller); // { metric: "interface_ifHCInOctets", labels: [["ifIndex", "1"], ["ifName", "Gi0/1"]] }
 * ```
 *
 * @module
 */

/** A metric and its labels, in canonical order. */
export interface LabelledMetric {
  metric: string;
  /** `[name, value]` pairs sorted by name, no empty values, no repeated names. */
  labels: [string, string][];
}

const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/** Whether `name` is a Prometheus label name (written unquoted). */
export function isLabelName(name: string): boolean {
  return LABEL_NAME.test(name);
}

/**
 * The poller for `metric` with `labels` (a record or pairs). Labels with an empty value are dropped (an
 * empty label is an absent label, as in Prometheus); a name given twice is an error, as is an empty name
 * or an empty metric (each a `RangeError`).
 */
export function formatPoller(
  metric: string,
  labels: Record<string, string> | Iterable<readonly [string, string]>,
): string {
  if (metric === "") throw new RangeError("the metric name is empty");
  let pairs = canonicalLabels(labels);
  let head = metric;
  if (metric.includes("{")) {
    pairs = canonicalLabels([...pairs, ["__name__", metric]]);
    head = "";
  }
  if (pairs.length === 0) return metric;
  let out = head + "{";
  for (let i = 0; i < pairs.length; i++) {
    const [name, value] = pairs[i];
    if (i > 0) out += ",";
    out += (isLabelName(name) ? name : quote(name)) + "=" + quote(value);
  }
  return out + "}";
}

/**
 * Labels sorted by name with empty values dropped. Throws a `RangeError` on an empty or repeated name.
 */
export function canonicalLabels(
  labels: Record<string, string> | Iterable<readonly [string, string]>,
): [string, string][] {
  const source: Iterable<readonly [string, string]> = Symbol.iterator in labels
    ? labels as Iterable<readonly [string, string]>
    : Object.entries(labels);
  const pairs: [string, string][] = [];
  for (const [name, value] of source) {
    if (name === "") throw new RangeError("a label name is empty");
    if (value !== "") pairs.push([name, value]);
  }
  pairs.sort((a, b) => a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0);
  for (let i = 1; i < pairs.length; i++) {
    if (pairs[i][0] === pairs[i - 1][0]) throw new RangeError(`label "${pairs[i][0]}" is given twice`);
  }
  return pairs;
}

/**
 * The metric and labels of `poller`. A poller that is not exactly in the canonical labelled form (see the
 * module doc) is a metric named as the whole poller, with no labels: parsing never fails.
 */
export function parsePoller(poller: string): LabelledMetric {
  const unlabelled = { metric: poller, labels: [] };
  const open = poller.indexOf("{");
  if (open < 0 || poller.charCodeAt(poller.length - 1) !== 0x7d /* } */) return unlabelled;
  let labels = parseLabels(poller, open + 1, poller.length - 1);
  if (labels === undefined) return unlabelled;
  let metric = poller.slice(0, open);
  if (open === 0) {
    const name = labels.find(([n]) => n === "__name__");
    if (name === undefined) return unlabelled;
    metric = name[1];
    labels = labels.filter(([n]) => n !== "__name__");
  }
  try {
    // Only the canonical form is labelled: a poller that merely looks like it stays whole.
    if (formatPoller(metric, labels) !== poller) return unlabelled;
  } catch {
    return unlabelled;
  }
  return { metric, labels };
}

function quote(text: string): string {
  return '"' + text.replace(/[\\"\n]/g, (c) => c === "\n" ? "\\n" : "\\" + c) + '"';
}

/** Parses `name="value",...` in `text[from, to)`; undefined when it is not well formed. */
function parseLabels(text: string, from: number, to: number): [string, string][] | undefined {
  const pairs: [string, string][] = [];
  let i = from;
  while (i < to) {
    let name: string;
    if (text[i] === '"') {
      const q = readQuoted(text, i, to);
      if (q === undefined) return undefined;
      [name, i] = q;
    } else {
      const eq = text.indexOf("=", i);
      if (eq < 0 || eq >= to) return undefined;
      name = text.slice(i, eq);
      if (!isLabelName(name)) return undefined;
      i = eq;
    }
    if (text[i] !== "=" || text[i + 1] !== '"') return undefined;
    const v = readQuoted(text, i + 1, to);
    if (v === undefined) return undefined;
    pairs.push([name, v[0]]);
    i = v[1];
    if (i < to) {
      if (text[i] !== ",") return undefined;
      i++;
      if (i === to) return undefined;
    }
  }
  return pairs;
}

/** Reads the quoted string starting at `text[at] === '"'`; answers its text and the index after it. */
function readQuoted(text: string, at: number, to: number): [string, number] | undefined {
  let out = "";
  for (let i = at + 1; i < to; i++) {
    const c = text[i];
    if (c === '"') return [out, i + 1];
    if (c === "\\") {
      const next = text[++i];
      if (next === "n") out += "\n";
      else if (next === "\\" || next === '"') out += next;
      else return undefined;
    } else out += c;
  }
  return undefined;
}
