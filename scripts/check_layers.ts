/**
 * The layer check: imports in `src/` only point down the architecture (docs/architecture.md). A
 * module may import from its own folder and from folders of a lower rank. It also keeps imports of a
 * library's private files (`<package>/src/...`) to the one adapter module that documents why.
 */
import fs from "node:fs";
import path from "node:path";

/** Folder ranks, lowest first. */
export const LAYERS: Readonly<Record<string, number>> = {
  gen: 0,
  "version.ts": 0,
  model: 1,
  platform: 2,
  config: 3,
  wal: 4,
  aggregate: 5,
  parquet: 6,
  tier: 7,
  head: 8,
  ingest: 9,
  query: 10,
  sql: 11,
  service: 12,
  prom: 13,
  ui: 14,
  http: 15,
  cli: 16,
};

const src = new URL("../src", import.meta.url).pathname;
const root = new URL("..", import.meta.url).pathname;

/** The only module that may import a library's private files (hyparquet-writer's page encoders). */
export const PRIVATE_IMPORT_ADAPTER = "src/parquet/_hyparquet_writer.ts";

function layerOf(file: string): string {
  return path.relative(src, file).split(path.sep)[0];
}

function* walk(dir: string): Generator<string> {
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) yield* walk(p);
    else if (p.endsWith(".ts")) yield p;
  }
}

/** Every import that points up the layers, as readable messages. */
export function layerViolations(): string[] {
  const out: string[] = [];
  for (const file of walk(src)) {
    const from = layerOf(file);
    if (!(from in LAYERS)) {
      out.push(`${path.relative(src, file)}: folder "${from}" has no layer in scripts/check_layers.ts`);
      continue;
    }
    const text = fs.readFileSync(file, "utf8");
    for (const m of text.matchAll(/(?:import|export)[^"']*?from\s+["'](\.[^"']+)["']/g)) {
      const target = layerOf(path.resolve(path.dirname(file), m[1]));
      if (target === from) continue;
      if (!(target in LAYERS) || LAYERS[target] > LAYERS[from]) {
        out.push(
          `${path.relative(src, file)} imports ${m[1]}: ${from} (rank ${LAYERS[from]}) must not depend on ${target}`,
        );
      }
    }
  }
  return out;
}

/**
 * Imports of a package's private files (`"<package>/src/..."`) in src/, tests/, bench/ and scripts/
 * outside {@link PRIVATE_IMPORT_ADAPTER}, as readable messages.
 */
export function privateImports(): string[] {
  const out: string[] = [];
  for (const dir of ["src", "tests", "bench", "scripts"]) {
    for (const file of walk(path.join(root, dir))) {
      const rel = path.relative(root, file);
      if (rel === PRIVATE_IMPORT_ADAPTER) continue;
      const text = fs.readFileSync(file, "utf8");
      for (
        const m of text.matchAll(/(?:import|export)[^"']*?from\s+["']((?:@[^/"']+\/)?[^./"'][^/"']*\/src\/[^"']+)["']/g)
      ) {
        out.push(`${rel} imports ${m[1]}: a library's private file; go through ${PRIVATE_IMPORT_ADAPTER}`);
      }
    }
  }
  return out;
}

if (import.meta.main) {
  const violations = [...layerViolations(), ...privateImports()];
  for (const v of violations) console.error(v);
  if (violations.length > 0) Deno.exit(1);
  console.log("layers ok");
}
