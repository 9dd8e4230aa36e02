/**
 * `deno task release`: the release binaries for every poller box — linux-x64, linux-x64-musl and
 * linux-arm64 — into `dist/release/stalker-storage-<version>-<target>`, with `SHA256SUMS`. Bun fetches
 * each target's runtime from the npm registry (`@oven/bun-linux-*` of the pinned version) on first use.
 * `deno task release linux-arm64` builds only the named targets.
 */
import { createHash } from "node:crypto";
import fs from "node:fs";
import { VERSION } from "../src/version.ts";
import { compile, RELEASE_TARGETS } from "./compile.ts";

const root = new URL("../", import.meta.url).pathname;

if (import.meta.main) {
  const names = Deno.args.length > 0 ? Deno.args : Object.keys(RELEASE_TARGETS);
  for (const name of names) {
    if (!RELEASE_TARGETS[name]) {
      console.error(`unknown target "${name}": one of ${Object.keys(RELEASE_TARGETS).join(", ")}`);
      Deno.exit(2);
    }
  }
  const sums: string[] = [];
  for (const name of names) {
    const file = `dist/release/stalker-storage-${VERSION}-${name}`;
    compile(file, RELEASE_TARGETS[name]);
    const hash = createHash("sha256").update(fs.readFileSync(`${root}${file}`)).digest("hex");
    sums.push(`${hash}  ${file.slice("dist/release/".length)}\n`);
  }
  fs.writeFileSync(`${root}dist/release/SHA256SUMS`, sums.join(""));
  console.log(`dist/release/SHA256SUMS: ${names.length} binaries`);
}
