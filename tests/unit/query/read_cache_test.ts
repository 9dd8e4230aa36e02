import test from "node:test";
import assert from "node:assert/strict";
import { ReadCache } from "../../../src/query/read_cache.ts";

const F = { namespace: "n", target: "t" };
const batch = (ts: number[]) => ({ length: ts.length, ts: new Float64Array(ts), name: ts.map((t) => `s${t}`) });

test("a file's rows for a filter are decoded once and cut to each query's time range", async () => {
  const cache = new ReadCache(1 << 20);
  let loads = 0;
  const load = () => (loads++, Promise.resolve(batch([10, 20, 30, 40])));
  const a = await cache.read("/f", { namespace: "n", target: "t" }, "*", "ts", 15, 35, load);
  assert.deepEqual([...a.ts], [20, 30]);
  assert.deepEqual(a.name, ["s20", "s30"]);
  const all = await cache.read("/f", { namespace: "n", target: "t" }, "*", "ts", 0, 100, load);
  assert.equal(all.length, 4);
  assert.equal(loads, 1);
  // another filter, column set or file is another entry
  await cache.read("/f", { namespace: "n", target: "t", poller: "p" }, "*", "ts", 0, 100, load);
  await cache.read("/f", { namespace: "n", target: "t" }, "value", "ts", 0, 100, load);
  await cache.read("/g", { namespace: "n", target: "t" }, "*", "ts", 0, 100, load);
  assert.equal(loads, 4);
  assert.deepEqual({ ...cache.stats(), bytes: 0 }, { entries: 4, bytes: 0, maxBytes: 1 << 20, hits: 1, misses: 4 });
});

test("the cache holds to its bytes, least recently used out; a failed load is not kept", async () => {
  const one = batch([1, 2, 3, 4]); // 32 B of times + 4 references: 64 B
  const cache = new ReadCache(300);
  let loads = 0;
  const load = () => (loads++, Promise.resolve(one));
  for (const f of ["/a", "/b", "/c", "/x"]) await cache.read(f, F, "*", "ts", 0, 10, load);
  assert.equal(cache.stats().entries, 4);
  await cache.read("/a", F, "*", "ts", 0, 10, load); // /a is now the most recent
  await cache.read("/d", F, "*", "ts", 0, 10, load); // pushes out /b
  assert.ok(cache.stats().bytes <= 300);
  loads = 0;
  await cache.read("/a", F, "*", "ts", 0, 10, load);
  await cache.read("/b", F, "*", "ts", 0, 10, load);
  assert.equal(loads, 1, "/a was kept, /b was evicted");
  await assert.rejects(
    cache.read("/e", F, "*", "ts", 0, 10, () => Promise.reject<typeof one>(new Error("damaged"))),
    /damaged/,
  );
  await cache.read("/e", F, "*", "ts", 0, 10, load);
  assert.equal(loads, 2, "the failed read is tried again");
  // an entry larger than a quarter of the cache is answered but not kept
  const big = new ReadCache(100);
  await big.read("/a", F, "*", "ts", 0, 10, load);
  assert.equal(big.stats().entries, 0);
});

test("cached columns own their memory: views of a larger buffer are copied to their size", async () => {
  const page = new Float64Array(100_000); // a decoded page the rows were cut from
  page.set([1, 2], 500);
  const chunk = new Uint8Array(1 << 20);
  chunk.set([7, 8, 9], 10);
  const load = () =>
    Promise.resolve({ length: 2, ts: page.subarray(500, 502), sketch: [chunk.subarray(10, 13), null] });
  const cache = new ReadCache(1 << 20);
  const got = await cache.read("/f", F, "*", "ts", 0, 10, load);
  assert.deepEqual([...got.ts], [1, 2]);
  assert.equal(got.ts.buffer.byteLength, 16, "the page is not kept alive");
  assert.equal(got.sketch[0]!.buffer.byteLength, 3);
  assert.deepEqual([...got.sketch[0]!], [7, 8, 9]);
  assert.equal(cache.stats().bytes, 16 + 2 * 8 + 3);
});
