/**
 * The identity mapping of the foreign ingest protocols (InfluxDB line protocol, Prometheus remote-write,
 * collectd): a metric name and its labels (tags) become our series identity (namespace, target, poller).
 *
 * - namespace: the value of the namespace label (`ingestion.mapping.namespace_label`, default `namespace`),
 *   else the request's database (`db` / `bucket`, when the protocol has one), else
 *   `ingestion.mapping.namespace_default`;
 * - target: the value of the first present label of `ingestion.mapping.target_labels` (default
 *   `agent_host,host,instance,target`), else `ingestion.mapping.target_default`;
 * - poller: `formatPoller(metric, every other label)` (`model/poller_labels.ts`): nothing is lost and two
 *   label sets never collide.
 *
 * The labels that gave namespace and target are removed from the poller's labels; every other label stays
 * (a second device label, e.g. `host` next to `agent_host`, too).
 *
 * @module
 */
import { InputError } from "../model/errors.ts";
import { formatPoller } from "../model/poller_labels.ts";
import { checkIdentity } from "./validate.ts";

/** The mapping's settings (`ingestion.mapping.*`). */
export interface MappingConfig {
  /** Label whose value is the namespace; "" = none. */
  namespaceLabel: string;
  /** Namespace when neither the label nor a database names one. */
  namespaceDefault: string;
  /** Labels whose first present value is the target, in order. */
  targetLabels: readonly string[];
  /** Target when no target label is present. */
  targetDefault: string;
  /** Glob patterns (`*` = any run of characters) of metric or field names that are counters. */
  counterPatterns: readonly string[];
}

/** The defaults, fitting SNMP data (Telegraf `inputs.snmp`, snmp_exporter, collectd `snmp`). */
export const DEFAULT_MAPPING: MappingConfig = {
  namespaceLabel: "namespace",
  namespaceDefault: "default",
  targetLabels: ["agent_host", "host", "instance", "target"],
  targetDefault: "unknown",
  counterPatterns: [
    "*_total",
    "*if*Octets",
    "*if*Pkts",
    "*if*Errors",
    "*if*Discards",
    "*if*UnknownProtos",
  ],
};

/** A series identity. */
export interface Identity {
  namespace: string;
  target: string;
  poller: string;
}

/** Most identities a mapper remembers before it forgets them all (a bounded memo, not state). */
const MEMO_LIMIT = 200_000;

/**
 * Maps metrics with labels to identities, remembering the result per raw key so that the series a client
 * sends every interval cost one map look-up.
 *
 * @example
 * ```ts
 * import { DEFAULT_MAPPING, IdentityMapper } from "./mapping.ts";
 * const m = new IdentityMapper(DEFAULT_MAPPING);
 * const id = m.map("interface_ifHCInOctets", [["agent_host", "sw1"], ["ifName", "Gi0/1"]], "snmp");
 * if (id.namespace !== "snmp" || id.target !== "sw1" || id.poller !== 'interface_ifHCInOctets{ifName="Gi0/1"}') {
 *   throw new Error();
 * }
 * if (!m.isCounterName("ifHCInOctets")) throw new Error();
 * ```
 */
export class IdentityMapper {
  private readonly counterRe: RegExp | null;
  private readonly memo = new Map<string, Identity>();
  private readonly counterMemo = new Map<string, boolean>();

  constructor(readonly config: MappingConfig) {
    this.counterRe = globsToRegExp(config.counterPatterns);
  }

  /**
   * The identity of `metric` with `labels`; `database` is the request's `db`/`bucket` (or undefined).
   * Throws an `InputError` when a label is given twice or an identity part is invalid (too long, control
   * characters); the message says which.
   */
  map(metric: string, labels: readonly (readonly [string, string])[], database?: string): Identity {
    const { namespaceLabel, targetLabels } = this.config;
    let namespace: string | undefined;
    let target: string | undefined;
    let targetRank = targetLabels.length;
    const rest: [string, string][] = [];
    for (const [name, value] of labels) {
      if (name === namespaceLabel && namespaceLabel !== "" && value !== "") {
        if (namespace !== undefined) throw new InputError("invalid_sample", `label "${name}" is given twice`);
        namespace = value;
        continue;
      }
      const rank = value === "" ? -1 : targetLabels.indexOf(name);
      if (rank >= 0 && rank < targetRank) {
        if (target !== undefined) rest.push([targetLabels[targetRank], target]);
        target = value;
        targetRank = rank;
        continue;
      }
      rest.push([name as string, value as string]);
    }
    namespace ??= database !== undefined && database !== "" ? database : this.config.namespaceDefault;
    target ??= this.config.targetDefault;
    let poller: string;
    try {
      poller = formatPoller(metric, rest);
    } catch (err) {
      throw new InputError("invalid_sample", (err as Error).message);
    }
    return { namespace: part(namespace, "namespace"), target: part(target, "target"), poller: part(poller, "poller") };
  }

  /** {@link map}, remembered under `key` (which must determine the arguments). */
  mapMemo(
    key: string,
    metric: string,
    labels: readonly (readonly [string, string])[],
    database?: string,
  ): Identity {
    let id = this.memo.get(key);
    if (id === undefined) this.remember(key, id = this.map(metric, labels, database));
    return id;
  }

  /** The identity remembered under `key` (by {@link mapMemo} or {@link remember}), if any. */
  recall(key: string): Identity | undefined {
    return this.memo.get(key);
  }

  /** Remembers `id` under `key` (a protocol may remember more than the identity in it). */
  remember(key: string, id: Identity): void {
    if (this.memo.size >= MEMO_LIMIT) this.memo.clear();
    this.memo.set(key, id);
  }

  /** Whether `name` matches one of the counter patterns. */
  isCounterName(name: string): boolean {
    if (this.counterRe === null) return false;
    let yes = this.counterMemo.get(name);
    if (yes === undefined) {
      yes = this.counterRe.test(name);
      if (this.counterMemo.size >= MEMO_LIMIT) this.counterMemo.clear();
      this.counterMemo.set(name, yes);
    }
    return yes;
  }
}

/** Checks one identity part, with the part's name (not a sample index) in the message. */
function part(value: string, field: string): string {
  try {
    return checkIdentity(value, field, 0);
  } catch (err) {
    throw new InputError("invalid_sample", (err as Error).message.replace(/^sample 0: /, "") + `: "${clip(value)}"`);
  }
}

function clip(text: string): string {
  return text.length > 80 ? text.slice(0, 77) + "..." : text;
}

/** One regular expression matching any of the globs (`*` = any run of characters), or null for none. */
export function globsToRegExp(globs: readonly string[]): RegExp | null {
  const alternatives = globs.filter((g) => g !== "").map((g) =>
    g.split("*").map((s) => s.replace(/[.+?^${}()|[\]\\]/g, "\\$&")).join(".*")
  );
  return alternatives.length === 0 ? null : new RegExp(`^(?:${alternatives.join("|")})$`);
}
