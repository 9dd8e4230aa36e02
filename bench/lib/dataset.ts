/**
 * The shared SNMP-like dataset (`<peers>/gen_dataset.mjs`): its files for the HTTP drivers and the
 * peers, and the same samples generated in memory as columnar batches for the in-process suites.
 *
 * Every series is (namespace, target, poller); each target has 20 pollers (4 device gauges, 4
 * interfaces × {ifHCInOctets, ifHCOutOctets, ifInErrors counters, ifOperStatus 0/1 gauge}), one point
 * per minute. Values depend only on the seed, series, point and time, so every format holds the same
 * samples.
 *
 * @module
 */
import fs from "node:fs";
import path from "node:path";
import { FLAG_VALID, SampleBatch } from "../../src/model/batch.ts";
import { KIND_CODE } from "../../src/model/sample.ts";
import { runProcess } from "./process.ts";

/** Poller kinds sent as counters (`value_counter`); every other poller is a gauge. */
export const COUNTER_KINDS: ReadonlySet<string> = new Set(["ifHCInOctets", "ifHCOutOctets", "ifInErrors"]);

/** One series of the generator. */
export interface SeriesMeta {
  index: number;
  t: number;
  kind: string;
  namespace: string;
  target: string;
  poller: string;
}

/** What the bench uses of `makeDataset`. */
export interface Dataset {
  params: { series: number; points: number; interval_s: number; start_ms: number; seed: number };
  seriesMeta(s: number): SeriesMeta;
  openSeries(s: number): { meta: SeriesMeta; next(): { ts: number; value: number } };
  pollMsOf(t: number, i: number): number;
  querySeriesIdx: number[];
}

/** One query series of a dataset manifest (expected first/last values). */
export interface QuerySeries {
  index: number;
  namespace: string;
  target: string;
  poller: string;
  kind: string;
  /** The PromQL selector of the series (`metric{namespace="…",target="…"}`). */
  selector: string;
  points: number;
  first_ts_ms: number;
  last_ts_ms: number;
  first_value: number;
  last_value: number;
}

/** Dataset parameters. */
export interface DatasetParams {
  series: number;
  points: number;
  startMs: number;
  seed?: number;
}

/** The generator module of the peers directory. */
export async function loadGenerator(peersDir: string): Promise<(p: Record<string, number>) => Dataset> {
  const mod = await import(path.join(peersDir, "gen_dataset.mjs"));
  return mod.makeDataset as (p: Record<string, number>) => Dataset;
}

/** The in-memory dataset for `p`. */
export async function openDataset(peersDir: string, p: DatasetParams): Promise<Dataset> {
  const make = await loadGenerator(peersDir);
  return make({ series: p.series, points: p.points, intervalS: 60, seed: p.seed ?? 42, startMs: p.startMs });
}

/** The directory name the peers' `common.sh` uses for these parameters (so both can share files). */
export function datasetTag(p: DatasetParams): string {
  return `s${p.series}_n${p.points}_i60_seed${p.seed ?? 42}_t${p.startMs}_j0`;
}

/** Generates the missing formats (`json`, `vm`, `vmt`, `om`) of a dataset into `dir`; returns `dir`. */
export async function ensureDatasetFiles(
  peersDir: string,
  p: DatasetParams,
  formats: readonly string[],
  dir: string,
): Promise<string> {
  const file: Record<string, string> = {
    json: "api_batches.jsonl",
    vm: "vm_import.jsonl",
    vmt: "vm_import_timemajor.jsonl",
    om: "openmetrics.txt",
  };
  const missing = formats.filter((f) => !fs.existsSync(path.join(dir, file[f])) || !manifestOk(dir, p));
  if (missing.length === 0) return dir;
  fs.mkdirSync(dir, { recursive: true });
  const args = [
    path.join(peersDir, "gen_dataset.mjs"),
    "--series",
    String(p.series),
    "--points",
    String(p.points),
    "--interval-s",
    "60",
    "--seed",
    String(p.seed ?? 42),
    "--start",
    String(p.startMs),
    "--batch",
    "1000",
    "--format",
    missing.join(","),
    "--out",
    dir,
  ];
  const r = await runProcess("node", args, { timeoutMs: 1_800_000 });
  if (r.code !== 0) throw new Error(`gen_dataset.mjs failed: ${r.stderr.slice(-1000)}`);
  return dir;
}

/** The manifest of a generated dataset. */
export function readDatasetManifest(dir: string): { samples: number; query_series: QuerySeries[] } {
  return JSON.parse(fs.readFileSync(path.join(dir, "manifest.json"), "utf8"));
}

function manifestOk(dir: string, p: DatasetParams): boolean {
  try {
    const m = JSON.parse(fs.readFileSync(path.join(dir, "manifest.json"), "utf8"));
    return m.params.series === p.series && m.params.points === p.points && m.params.start_ms === p.startMs;
  } catch {
    return false;
  }
}

/**
 * Poll rounds in memory: round `i` holds point `i` of every series, in series order, cut into batches
 * of `batchSize` samples (what `api_batches.jsonl` holds, as `SampleBatch`es before series resolution).
 */
export class PollRounds {
  private readonly streams: ReturnType<Dataset["openSeries"]>[];
  private readonly counter: boolean[];
  private round = 0;

  constructor(readonly ds: Dataset, readonly batchSize = 1000) {
    const n = ds.params.series;
    this.streams = Array.from({ length: n }, (_, s) => ds.openSeries(s));
    this.counter = this.streams.map((st) => COUNTER_KINDS.has(st.meta.kind));
  }

  /** The next round's batches. */
  next(): SampleBatch[] {
    const out: SampleBatch[] = [];
    const n = this.streams.length;
    let b: SampleBatch | null = null;
    let lastT = -1, pollMs = 0;
    for (let s = 0; s < n; s++) {
      if (!b || b.length === this.batchSize) {
        b = new SampleBatch(Math.min(this.batchSize, n - s));
        out.push(b);
      }
      const st = this.streams[s];
      if (st.meta.t !== lastT) {
        lastT = st.meta.t;
        pollMs = Math.round(this.ds.pollMsOf(lastT, this.round));
      }
      const p = st.next();
      const i = b.length++;
      b.namespace[i] = st.meta.namespace;
      b.target[i] = st.meta.target;
      b.poller[i] = st.meta.poller;
      b.ts[i] = p.ts;
      b.kind[i] = this.counter[s] ? KIND_CODE.counter : KIND_CODE.gauge;
      b.flags[i] = FLAG_VALID;
      b.value[i] = p.value;
      b.pollMs[i] = pollMs;
    }
    this.round++;
    return out;
  }
}
