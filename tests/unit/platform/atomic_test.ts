import test from "node:test";
import assert from "node:assert/strict";
import { writeAtomic } from "../../../src/platform/atomic.ts";
import { MemFs } from "../../../src/platform/mem_fs.ts";

const bytes = (s: string) => new TextEncoder().encode(s);
const text = (b: Uint8Array) => new TextDecoder().decode(b);

test("writeAtomic: the new content survives a crash right after it returns", async () => {
  const fs = new MemFs();
  await fs.mkdir("/d");
  await writeAtomic(fs, "/d/m.json", bytes("v1"));
  fs.crash();
  assert.equal(text(await fs.readFile("/d/m.json")), "v1");
});

test("writeAtomic: a crash before the rename leaves the old file and only a temp leftover", async () => {
  const fs = new MemFs();
  await fs.mkdir("/d");
  await writeAtomic(fs, "/d/m.json", bytes("old"));
  const rename = fs.rename.bind(fs);
  fs.rename = () => Promise.reject(Object.assign(new Error("EIO"), { code: "EIO" }));
  await assert.rejects(writeAtomic(fs, "/d/m.json", bytes("new")));
  fs.rename = rename;
  fs.crash();
  assert.equal(text(await fs.readFile("/d/m.json")), "old");
});

test("writeAtomic: a full disk leaves the old file and no temp file", async () => {
  const fs = new MemFs();
  await fs.mkdir("/d");
  await writeAtomic(fs, "/d/m.json", bytes("old"));
  fs.capacityBytes = fs.usedBytes() + 2;
  await assert.rejects(writeAtomic(fs, "/d/m.json", bytes("a longer new content")), /ENOSPC/);
  assert.deepEqual(await fs.readdir("/d"), ["m.json"]);
  assert.equal(text(await fs.readFile("/d/m.json")), "old");
});

test("writeAtomic syncs the file and its directory", async () => {
  const fs = new MemFs();
  await fs.mkdir("/d");
  await writeAtomic(fs, "/d/x", bytes("1"));
  assert.equal(fs.counts.datasync, 1);
  assert.equal(fs.counts.fsyncDir, 1);
});

test("MemFs.crash drops unsynced writes and unsynced names", async () => {
  const fs = new MemFs();
  await fs.mkdir("/d");
  const h = await fs.open("/d/a", "wx");
  await h.write(bytes("hello"), 0);
  await h.datasync();
  await fs.fsyncDir("/d");
  await h.write(bytes(" world"), 5);
  fs.crash();
  assert.equal(text(await fs.readFile("/d/a")), "hello");
});
