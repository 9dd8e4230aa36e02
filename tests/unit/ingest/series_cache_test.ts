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
