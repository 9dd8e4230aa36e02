import test from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { layerViolations, privateImports } from "../../scripts/check_layers.ts";
import { bufGenerate } from "../../scripts/gen.ts";
import { ROOT } from "../helpers.ts";

test("imports only point down the layers", () => {
  assert.deepEqual(layerViolations(), []);
});

test("a library's private files are imported only by the one adapter (src/parquet/_hyparquet_writer.ts)", () => {
  assert.deepEqual(privateImports(), []);
});

test("Deno.* and Bun.* appear only in main.ts and src/platform/", () => {
  const offenders: string[] = [];
  const walk = (dir: string) => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (p.endsWith(".ts") && !p.includes(`${path.sep}platform${path.sep}`)) {
        if (/\b(Deno|Bun)\.[a-zA-Z]/.test(fs.readFileSync(p, "utf8"))) offenders.push(path.relative(ROOT, p));
      }
    }
  };
  walk(path.join(ROOT, "src"));
  assert.deepEqual(offenders, []);
});

test("generated protobuf code matches proto/ (run deno task gen after editing a .proto)", () => {
  const out = fs.mkdtempSync(path.join(os.tmpdir(), "stalker-gen-"));
  try {
    bufGenerate(out);
    const fresh = path.join(out, "src", "gen");
    const committed = path.join(ROOT, "src", "gen");
    assert.deepEqual(fs.readdirSync(fresh).sort(), fs.readdirSync(committed).sort());
    for (const name of fs.readdirSync(fresh)) {
      assert.equal(
        fs.readFileSync(path.join(committed, name), "utf8"),
        fs.readFileSync(path.join(fresh, name), "utf8"),
        `src/gen/${name} drifted from proto/`,
      );
    }
  } finally {
    fs.rmSync(out, { recursive: true, force: true });
  }
});
