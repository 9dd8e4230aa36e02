/**
 * Builds the single binary `dist/stalker-storage` with `bun build --compile` (offline: Bun's runtime
 * comes from the npm package). Uses a local `bun` of the pinned version when present, else
 * `npx -y bun@<pinned>`.
 */
import { spawnSync } from "node:child_process";
import fs from "node:fs";

export const BUN_VERSION = "1.4.5";
const root = new URL("../", import.meta.url).pathname;

/** The `bun` command line: a local bun of the pinned version, else `npx -y bun@<pinned>`. */
export function bunCommand(): string[] {
  const local = spawnSync("bun", ["--version"], { encoding: "utf8" });
  if (local.status === 0 && local.stdout.trim() === BUN_VERSION) return ["bun"];
  return ["npx", "-y", `bun@${BUN_VERSION}`];
}

if (import.meta.main) {
  fs.mkdirSync(`${root}dist`, { recursive: true });
  const [cmd, ...pre] = bunCommand();
  const args = [
    ...pre,
    "build",
    "--compile",
    "--minify-syntax",
    "--minify-whitespace",
    "--sourcemap=none",
    // sketches-js's own toProto/fromProto need an undeclared protobufjs; we encode sketches ourselves
    // (src/model/sketch_codec.ts) and never call them, so the lazy require stays unresolved.
    "--external",
    "protobufjs/minimal",
    "main.ts",
    // DuckDB runs in a worker thread; Bun embeds a worker only when it is an entrypoint of the build.
    "src/query/sql_worker.ts",
    // Flush output is encoded to Parquet on a worker thread too.
    "src/tier/tier_worker.ts",
    "--outfile",
    "dist/stalker-storage",
  ];
  const started = Date.now();
  const r = spawnSync(cmd, args, { cwd: root, stdio: "inherit" });
  if (r.status !== 0) {
    console.error(`bun build --compile failed (exit ${r.status})`);
    Deno.exit(1);
  }
  const size = fs.statSync(`${root}dist/stalker-storage`).size;
  console.log(`built dist/stalker-storage (${(size / 2 ** 20).toFixed(1)} MiB) in ${Date.now() - started} ms`);
}
