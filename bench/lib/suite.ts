/**
 * What every suite shares: its entry point (`--opts FILE --out FILE`), its output file, and the common
 * options the orchestrator passes (`bench/run.ts`). A suite runs in its own process, so heap, JIT and
 * page-cache state of one suite never leak into the next.
 *
 * @module
 */
import fs from "node:fs";
import process from "node:process";
import { parseFlags } from "./args.ts";
import { loadAverage } from "./proc.ts";
import { currentRuntime, runtimeVersion } from "./runtime.ts";

/** Options every suite receives. */
export interface CommonOpts {
  /** Scratch directory for data of this run (deleted by the orchestrator unless --keep-data). */
  workDir: string;
  /** Results directory of this run (suite JSON, logs). */
  resultsDir: string;
  /** The shared peer harness (`gen_dataset.mjs`, `post_lines.mjs`, `run_vm.sh`, …). */
  peersDir: string;
  /** The repository root. */
  repoDir: string;
  quick: boolean;
}

/** The JSON file a suite writes. */
export interface SuiteOutput<R = unknown> {
  suite: string;
  runtime: string;
  runtime_version: string;
  started: string;
  seconds: number;
  load_average: { start: number; end: number };
  opts: unknown;
  result?: R;
  error?: string;
}

/**
 * Runs a suite as a program: reads `--opts FILE`, runs `fn`, writes `--out FILE`. Exits 1 (after
 * writing the error) when the suite fails, so the orchestrator can report it and go on.
 */
export async function suiteMain<O, R>(name: string, fn: (opts: O) => Promise<R>): Promise<void> {
  const flags = parseFlags(process.argv.slice(2));
  if (typeof flags.opts !== "string" || typeof flags.out !== "string") {
    throw new RangeError(`Usage: bench/suites/${name}.ts --opts OPTS.json --out RESULT.json (see bench/run.ts)`);
  }
  const opts = JSON.parse(fs.readFileSync(flags.opts, "utf8")) as O;
  const out: SuiteOutput<R> = {
    suite: name,
    runtime: currentRuntime(),
    runtime_version: runtimeVersion(),
    started: new Date().toISOString(),
    seconds: 0,
    load_average: { start: loadAverage(), end: NaN },
    opts,
  };
  const t0 = performance.now();
  let failed = false;
  try {
    out.result = await fn(opts);
  } catch (err) {
    failed = true;
    out.error = err instanceof Error ? `${err.message}\n${err.stack ?? ""}` : String(err);
    console.error(`suite ${name} failed: ${out.error}`);
  }
  out.seconds = Math.round((performance.now() - t0) / 10) / 100;
  out.load_average.end = loadAverage();
  fs.writeFileSync(flags.out, JSON.stringify(out, null, 1) + "\n");
  process.exit(failed ? 1 : 0);
}

/** Progress on stderr (the orchestrator shows it live and keeps it in the suite's log). */
export function progress(message: string): void {
  process.stderr.write(`[${new Date().toISOString().slice(11, 19)}] ${message}\n`);
}
