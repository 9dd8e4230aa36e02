import test from "node:test";
import assert from "node:assert/strict";
import { hashRange, identityHash, SeriesCache } from "../../../src/ingest/series_cache.ts";

const enc = new TextEncoder();

/** A body holding `ns`, `t`, `p` back to back, with their ranges. */
function key(ns: string, t: string, p: string) {
  const buf = enc.encode(ns + t + p);
  const a = enc.encode(ns).length, b = a + enc.encode(t).length;
  return { buf, r: [0, a, a, b, b, buf.length] as const };
}

test("entries whose hashes collide are told apart by their bytes, also at equal length", () => {
  const cache = new SeriesCache();
  const h = 12345; // forced: every key lands on the same chain
  const keys = [key("n", "ab", "c"), key("n", "ba", "c"), key("n", "a", "bc"), key("na", "b", "c")];
  keys.forEach(({ buf, r }, id) => {
    assert.equal(cache.lookup(buf, ...r, h), undefined);
    cache.insert(buf, ...r, h, { id, namespace: "", target: "", poller: "" });
  });
  keys.forEach(({ buf, r }, id) => assert.equal(cache.lookup(buf, ...r, h)?.id, id));
  const other = key("n", "ac", "c");
  assert.equal(cache.lookup(other.buf, ...other.r, h), undefined);
});

test("100,000 identities survive the table and arena growing", () => {
  const cache = new SeriesCache();
  const hashOf = (k: ReturnType<typeof key>) =>
    identityHash(hashRange(k.buf, k.r[0], k.r[1]), hashRange(k.buf, k.r[2], k.r[3]), hashRange(k.buf, k.r[4], k.r[5]));
  for (let i = 0; i < 100_000; i++) {
    const k = key("prod", `router-${i >> 5}`, `if${i & 31}.octets`);
    cache.insert(k.buf, ...k.r, hashOf(k), { id: i, namespace: "", target: "", poller: "" });
  }
  assert.equal(cache.size, 100_000);
  for (let i = 0; i < 100_000; i += 7) {
    const k = key("prod", `router-${i >> 5}`, `if${i & 31}.octets`);
    assert.equal(cache.lookup(k.buf, ...k.r, hashOf(k))?.id, i);
  }
  const miss = key("prod", "router-0", "if32.octets");
  assert.equal(cache.lookup(miss.buf, ...miss.r, hashOf(miss)), undefined);
});

test("follow finds the entry after the last one found, or the same one, by its bytes only", () => {
  const cache = new SeriesCache();
  const hashOf = (k: ReturnType<typeof key>) =>
    identityHash(hashRange(k.buf, k.r[0], k.r[1]), hashRange(k.buf, k.r[2], k.r[3]), hashRange(k.buf, k.r[4], k.r[5]));
  const keys = ["a", "b", "c", "d"].map((p) => key("prod", "r1", `if.${p}`));
  keys.forEach((k, id) => cache.insert(k.buf, ...k.r, hashOf(k), { id, namespace: "", target: "", poller: "" }));
  // after the last insert (d) nothing follows but d itself
  assert.equal(cache.follow(keys[3].buf, ...keys[3].r)?.id, 3);
  assert.equal(cache.follow(keys[0].buf, ...keys[0].r), undefined);
  // a look-up moves the place: the same order again follows entry by entry
  assert.equal(cache.lookup(keys[0].buf, ...keys[0].r, hashOf(keys[0]))?.id, 0);
  for (let id = 1; id < 4; id++) assert.equal(cache.follow(keys[id].buf, ...keys[id].r)?.id, id);
  // equal length, other bytes: not the next entry (the caller then looks it up by hash)
  const other = key("prod", "r1", "if.x");
  assert.equal(cache.follow(other.buf, ...other.r), undefined);
  assert.equal(cache.lookup(other.buf, ...other.r, hashOf(other)), undefined);
  // skipping an entry: follow misses, lookup finds it and follow goes on from there
  assert.equal(cache.lookup(keys[1].buf, ...keys[1].r, hashOf(keys[1]))?.id, 1);
  assert.equal(cache.follow(keys[3].buf, ...keys[3].r), undefined);
  assert.equal(cache.lookup(keys[3].buf, ...keys[3].r, hashOf(keys[3]))?.id, 3);
});
