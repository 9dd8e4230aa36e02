/**
 * Suite `decode`: the request decoders alone, in process — where an ingest request's CPU goes before
 * the WAL. The dataset's 1,000-sample time-major batches (`api_batches.jsonl`, and the same batches
 * as `stalker.SampleBatch` protobuf bodies) are decoded, validated and resolved to series ids the way
 * the ingest route does it (`scanJson` with `src/ingest/json_scan.ts`, `scanProtobuf` with
 * `src/ingest/protobuf_scan.ts`, one `SeriesCache` and `SeriesIndex` for the whole run). A first pass
 * over all bodies is untimed (every series gets known: the steady state of a running server); the
 * timed passes follow. Bodies are held in memory (no I/O timed).
 *
 * @module
 */
import fs from "node:fs";
import path from "node:path";
import { SeriesIndex } from "../../src/head/series.ts";
import { scanJson } from "../../src/ingest/json_scan.ts";
import { decodeWithJsonParse } from "../lib/json_parse_decoder.ts";
import { scanProtobuf } from "../../src/ingest/protobuf_scan.ts";
import { SeriesCache } from "../../src/ingest/series_cache.ts";
import { ensureDatasetFiles } from "../lib/dataset.ts";
import { convertToProtobuf } from "../lib/protobuf_bodies.ts";
import { round } from "../lib/stats.ts";
import { type CommonOpts, progress, suiteMain } from "../lib/suite.ts";

/** Options of the suite. */
export interface DecodeOpts extends CommonOpts {
  series: number;
  points: number;
  passes: number;
}

/** One decoder's figures. */
export interface DecodeRun {
  /** `json_parse`: `JSON.parse` plus checks (bench/lib/json_parse_decoder.ts), for comparison. */
  encoding: "json" | "protobuf" | "json_parse";
  bodies: number;
  samples: number;
  bytes_per_sample: number;
  seconds: number;
  ns_per_sample: number;
  samples_per_s: number;
  mb_per_s: number;
}

/** The suite's result. */
export interface DecodeResult {
  series: number;
  points: number;
  runs: DecodeRun[];
}

/** Runs the suite. */
export async function runDecode(o: DecodeOpts): Promise<DecodeResult> {
  const startMs = Math.floor(Date.now() / 60_000) * 60_000 - o.points * 60_000;
  const dir = path.join(o.workDir, `decode-data-s${o.series}-n${o.points}`);
  await ensureDatasetFiles(o.peersDir, { series: o.series, points: o.points, startMs }, ["json"], dir);
  const jsonFile = path.join(dir, "api_batches.jsonl");
  convertToProtobuf(jsonFile, path.join(dir, "api_batches.lp"));
  const json = fs.readFileSync(jsonFile);
  const jsonBodies: Uint8Array[] = [];
  for (let start = 0; start < json.length;) {
    let nl = json.indexOf(10, start);
    if (nl < 0) nl = json.length;
    if (nl > start) jsonBodies.push(json.subarray(start, nl));
    start = nl + 1;
  }
  const lp = fs.readFileSync(path.join(dir, "api_batches.lp"));
  const lpBodies: Uint8Array[] = [];
  const view = new DataView(lp.buffer, lp.byteOffset, lp.byteLength);
  for (let at = 0; at < lp.length;) {
    const len = view.getUint32(at, true);
    lpBodies.push(lp.subarray(at + 4, at + 4 + len));
    at += 4 + len;
  }
  const runs = [
    measure("json", jsonBodies, o.passes, (b, ctx, now) => scanJson(b, ctx, now, "json").length),
    measure("protobuf", lpBodies, o.passes, (b, ctx, now) => scanProtobuf(b, ctx, now).length),
    // the comparison issue 8 asks for: JSON.parse, then checks and look-ups by strings (a lower bound)
    measure("json_parse", jsonBodies, o.passes, (b, ctx) => decodeWithJsonParse(b, ctx.resolve).length),
  ];
  for (const r of runs) progress(`decode ${r.encoding}: ${r.ns_per_sample} ns/sample`);
  fs.rmSync(dir, { recursive: true, force: true });
  return { series: o.series, points: o.points, runs };
}

type Ctx = Parameters<typeof scanJson>[1];

function measure(
  encoding: DecodeRun["encoding"],
  bodies: Uint8Array[],
  passes: number,
  decode: (b: Uint8Array, ctx: Ctx, now: number) => number,
): DecodeRun {
  const index = new SeriesIndex();
  const ctx: Ctx = { cache: new SeriesCache(), resolve: (ns, t, p) => index.resolve(ns, t, p) };
  const now = Date.now();
  let samples = 0;
  for (const b of bodies) samples += decode(b, ctx, now); // untimed: every series becomes known
  const bytes = bodies.reduce((a, b) => a + b.length, 0);
  const t0 = performance.now();
  for (let p = 0; p < passes; p++) for (const b of bodies) decode(b, ctx, now);
  const seconds = (performance.now() - t0) / 1000;
  const total = samples * passes;
  return {
    encoding,
    bodies: bodies.length,
    samples,
    bytes_per_sample: round(bytes / samples, 1),
    seconds: round(seconds),
    ns_per_sample: round((seconds * 1e9) / total, 1),
    samples_per_s: Math.round(total / seconds),
    mb_per_s: round((bytes * passes) / seconds / 2 ** 20, 1),
  };
}

if (import.meta.main) await suiteMain("decode", runDecode);
