import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import path from "node:path";
import zlib from "node:zlib";
import { test } from "node:test";
import { bunCommand } from "../../../scripts/compile.ts";

const ROOT = path.resolve(new URL("../../..", import.meta.url).pathname);

interface Frames {
  runtime: string;
  level: number;
  size: number;
  input: string;
  ours: string | null;
  node: string;
}

/** The shipped runtime's frames: tests run under Deno, the binary under Bun, so the fixture runs in Bun. */
function framesFromBun(): Frames[] {
  const [cmd, ...pre] = bunCommand();
  const r = spawnSync(cmd, [...pre, "run", "tests/fixtures/zstd_frames.ts"], {
    cwd: ROOT,
    encoding: "utf8",
    maxBuffer: 64 * 2 ** 20,
  });
  assert.equal(r.status, 0, `bun run failed:\n${r.stdout}${r.stderr}`);
  return r.stdout.trim().split("\n").map((line) => JSON.parse(line) as Frames);
}

test("Bun's one-shot zstd with the appended checksum writes node:zlib's frame byte for byte, and the checksum guards it", () => {
  const frames = framesFromBun();
  assert.equal(frames.length, 21);
  for (const f of frames) {
    const where = `level ${f.level}, ${f.size} bytes`;
    assert.equal(f.runtime, "bun");
    assert.ok(f.ours, `${where}: Bun has a one-shot zstd`);
    assert.equal(f.ours, f.node, `${where}: the same frame as node:zlib with the checksum flag`);
    const frame = Buffer.from(f.ours!, "base64");
    const input = Buffer.from(f.input, "base64");
    assert.ok(zlib.zstdDecompressSync(frame).equals(input), `${where}: decompresses to the input`);
    assert.equal(frame[4] & 0b100, 0b100, `${where}: Content_Checksum_flag set`);
    if (f.size === 0) continue;
    const damaged = Buffer.from(frame);
    damaged[damaged.length - 1] ^= 1; // the checksum no longer matches the content
    assert.throws(() => zlib.zstdDecompressSync(damaged), `${where}: a wrong checksum is refused`);
  }
});
