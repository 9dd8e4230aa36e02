/**
 * A small self-metrics registry rendered in the Prometheus text exposition format. Counters and gauges
 * with optional labels; values are read lazily from callbacks where the source of truth lives
 * elsewhere (WAL size, buffer usage).
 *
 * @module
 */

type Labels = Readonly<Record<string, string>>;

interface Family {
  name: string;
  help: string;
  type: "counter" | "gauge";
  values: Map<string, { labels: Labels; value: number }>;
  collect?: () => Iterable<[Labels, number]> | number;
}

/**
 * Holds metric families and renders them.
 *
 * @example
 * ```ts
 * import { Metrics } from "./metrics.ts";
 * const m = new Metrics();
 * const c = m.counter("stalker_samples_total", "Samples accepted.");
 * c.inc(3);
 * if (!m.render().includes("stalker_samples_total 3")) throw new Error();
 * ```
 */
export class Metrics {
  private readonly families = new Map<string, Family>();

  /** A counter; `inc` adds to it. */
  counter(name: string, help: string): MetricHandle {
    return this.handle(this.family(name, help, "counter"));
  }

  /** A gauge; `set` replaces its value. */
  gauge(name: string, help: string): MetricHandle {
    return this.handle(this.family(name, help, "gauge"));
  }

  /** A gauge or counter whose samples are read from `collect` at render time. */
  collected(
    name: string,
    help: string,
    type: "counter" | "gauge",
    collect: () => Iterable<[Labels, number]> | number,
  ): void {
    this.family(name, help, type).collect = collect;
  }

  /** The exposition text. */
  render(): string {
    const out: string[] = [];
    for (const f of this.families.values()) {
      out.push(`# HELP ${f.name} ${f.help}`, `# TYPE ${f.name} ${f.type}`);
      const samples: [Labels, number][] = [...f.values.values()].map((v) => [v.labels, v.value]);
      if (f.collect) {
        const collected = f.collect();
        if (typeof collected === "number") samples.push([{}, collected]);
        else samples.push(...collected);
      }
      for (const [labels, value] of samples) out.push(`${f.name}${renderLabels(labels)} ${formatValue(value)}`);
    }
    return out.join("\n") + "\n";
  }

  /** Current value of a non-collected metric (tests and status). */
  value(name: string, labels: Labels = {}): number {
    return this.families.get(name)?.values.get(labelKey(labels))?.value ?? 0;
  }

  private family(name: string, help: string, type: "counter" | "gauge"): Family {
    let f = this.families.get(name);
    if (!f) {
      f = { name, help, type, values: new Map() };
      this.families.set(name, f);
    }
    return f;
  }

  private handle(f: Family): MetricHandle {
    const cell = (labels: Labels) => {
      const key = labelKey(labels);
      let c = f.values.get(key);
      if (!c) {
        c = { labels, value: 0 };
        f.values.set(key, c);
      }
      return c;
    };
    return {
      inc: (by = 1, labels = {}) => {
        cell(labels).value += by;
      },
      set: (value, labels = {}) => {
        cell(labels).value = value;
      },
      get: (labels = {}) => f.values.get(labelKey(labels))?.value ?? 0,
    };
  }
}

/** Operations on one metric family. */
export interface MetricHandle {
  inc(by?: number, labels?: Labels): void;
  set(value: number, labels?: Labels): void;
  get(labels?: Labels): number;
}

function labelKey(labels: Labels): string {
  return Object.keys(labels).sort().map((k) => `${k}=${labels[k]}`).join(",");
}

function renderLabels(labels: Labels): string {
  const keys = Object.keys(labels);
  if (keys.length === 0) return "";
  return `{${
    keys.map((k) => `${k}="${labels[k].replace(/[\\"\n]/g, (c) => (c === "\n" ? "\\n" : `\\${c}`))}"`).join(",")
  }}`;
}

function formatValue(v: number): string {
  if (Number.isNaN(v)) return "NaN";
  if (v === Infinity) return "+Inf";
  if (v === -Infinity) return "-Inf";
  return String(v);
}
