/**
 * The little the suites need from the runtime they run on (Deno or Bun: the in-process suites are
 * runtime-neutral, `node:` APIs only, so they can measure the code under the shipped runtime too).
 *
 * @module
 */
import process from "node:process";

/** Runtimes the in-process suites can run under. */
export type Runtime = "deno" | "bun";

interface Globals {
  gc?: () => void;
  Bun?: { gc(force: boolean): void; version: string };
  Deno?: { version: { deno: string; v8: string } };
}

const g = globalThis as unknown as Globals;

/** The runtime executing this code. */
export function currentRuntime(): Runtime {
  return g.Bun ? "bun" : "deno";
}

/** `deno 2.9.6 (v8 …)` or `bun 1.4.5`. */
export function runtimeVersion(): string {
  if (g.Bun) return `bun ${g.Bun.version}`;
  if (g.Deno) return `deno ${g.Deno.version.deno} (v8 ${g.Deno.version.v8})`;
  return `node ${process.version}`;
}

/** A full garbage collection (needs `--v8-flags=--expose-gc` under Deno). */
export function gc(): void {
  if (g.Bun) g.Bun.gc(true);
  else if (g.gc) g.gc();
  else throw new Error("Cannot collect garbage: run Deno with --v8-flags=--expose-gc");
}

/** Memory of this process, in bytes: resident set, and the JS heap plus buffers outside it. */
export function memory(): { rss: number; heap: number; external: number } {
  const m = process.memoryUsage();
  return { rss: m.rss, heap: m.heapUsed, external: m.external };
}

/** The command that runs TypeScript file `file` under `runtime` with GC exposed. */
export function scriptCommand(runtime: Runtime, file: string, args: readonly string[]): [string, string[]] {
  if (runtime === "bun") return ["bun", ["run", file, ...args]];
  return ["deno", ["run", "-A", "--v8-flags=--expose-gc", file, ...args]];
}
