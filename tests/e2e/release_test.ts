import test from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import { BINARY } from "../helpers.ts";
import { requireBinary } from "./binary.ts";

/** Bun's runtime alone (linux-x64, 1.4.5) is 102.4 MiB; DuckDB's WebAssembly unpacked would add 17.3 MiB more. */
const MAX_BINARY_MIB = 112;

test(`the binary stays under ${MAX_BINARY_MIB} MiB: DuckDB's WebAssembly is embedded compressed`, () => {
  requireBinary();
  const mib = fs.statSync(BINARY).size / 2 ** 20;
  assert.ok(mib <= MAX_BINARY_MIB, `dist/stalker-storage is ${mib.toFixed(1)} MiB`);
});
