import test from "node:test";
import assert from "node:assert/strict";
import { Head } from "../../../src/head/head.ts";
import { type ColdLookup, Dedup, type Found, type StoredValue } from "../../../src/ingest/dedup.ts";
import { FLAG_VALID, SampleBatch } from "../../../src/model/batch.ts";
import { UnavailableError } from "../../../src/model/errors.ts";
import { counter, gauge, type Sample, text } from "../../../src/model/sample.ts";
import { rng } from "../../helpers.ts";

const T0 = 1_795_392_000_000;

/** A head that keeps nothing once flushed, a "disk" holding what was flushed, and a lookup into it. */
function setup() {
  const head = new Head({ accuracy: null, hotWindowMs: 0, hotMemoryBytes: 0 });
  const dedup = new Dedup(head);
  const disk = new Map<number, Map<number, StoredValue>>();
  const calls: Map<number, number[]>[] = [];
  const lookup: ColdLookup = (wanted) => {
    calls.push(wanted);
    const found: Found = new Map();
    for (const [series, times] of wanted) {
      for (const t of times) {
        const v = disk.get(series)?.get(t);
        if (v) found.set(series, (found.get(series) ?? new Map()).set(t, v));
      }
    }
    return Promise.resolve(found);
  };
  /** Writes every unflushed sample to the disk and evicts it from memory. */
  const flush = () => {
    for (const { chunk, lo, hi } of head.raw.ranges(head.raw.flushedPos, head.raw.end)) {
      for (let i = lo; i < hi; i++) {
        const kind = chunk.kind[i];
        let m = disk.get(chunk.series[i]);
        if (!m) disk.set(chunk.series[i], m = new Map());
        m.set(chunk.ts[i], {
          kind,
          valid: (chunk.flags[i] & FLAG_VALID) !== 0,
          value: kind === 1 ? chunk.value[i] : NaN,
          counter: kind === 2 ? chunk.big?.get(i) ?? BigInt(chunk.value[i]) : null,
          text: kind === 3 ? chunk.text?.get(i) ?? "" : null,
          error: chunk.error?.get(i) ?? "",
        });
      }
    }
    head.flushed(head.raw.end, T0);
    assert.equal(head.raw.held, 0);
  };
  const batch = (samples: Sample[]) => {
    const b = SampleBatch.of(samples);
    head.series.resolveBatch(b);
    return b;
  };
  /** One request: claim, apply at once (as the WAL does once durable). */
  const send = async (samples: Sample[]) => {
    const claim = await dedup.claim(batch(samples), lookup);
    claim.apply();
    await claim.settled();
    return { accepted: claim.fresh.length, duplicates: claim.duplicates, conflicts: claim.conflicts };
  };
  return { head, dedup, disk, calls, lookup, flush, batch, send };
}

test("samples newer than their series' newest never reach the slow path or the disk", async () => {
  const { send, flush, calls } = setup();
  for (let m = 0; m < 50; m++) {
    const samples = [];
    for (let s = 0; s < 20; s++) samples.push(gauge("ns", `t${s}`, "cpu", T0 + m * 60_000, m));
    assert.deepEqual(await send(samples), { accepted: 20, duplicates: 0, conflicts: 0 });
    if (m % 7 === 0) flush();
  }
  assert.equal(calls.length, 0, "no cold lookup");
});

test("a random mix of re-sends, overlaps, reordering and flushes stores every (series, ts) once", async () => {
  const random = rng(Number(Deno.env.get("DEDUP_SEED") ?? 4242));
  const { head, send, flush, disk } = setup();
  const model = new Map<string, string>(); // key → the value stored first
  const sent: Sample[] = [];
  let accepted = 0;
  for (let r = 0; r < 300; r++) {
    const samples: Sample[] = [];
    const n = 1 + Math.floor(random() * 40);
    for (let k = 0; k < n; k++) {
      if (sent.length > 0 && random() < 0.4) {
        const old = sent[Math.floor(random() * sent.length)];
        // a re-send, sometimes with another value (a conflict)
        samples.push(random() < 0.2 ? changed(old) : old);
        continue;
      }
      const series = Math.floor(random() * 12);
      const ts = T0 + Math.floor(random() * 400) * 1_000;
      const s = series % 3 === 0
        ? counter("ns", `t${series}`, "c", ts, BigInt(Math.floor(random() * 100)))
        : series % 3 === 1
        ? gauge("ns", `t${series}`, "g", ts, Math.floor(random() * 5))
        : text("ns", `t${series}`, "x", ts, `v${Math.floor(random() * 3)}`);
      samples.push(s);
    }
    let wantNew = 0, wantDup = 0, wantConflict = 0;
    for (const s of samples) {
      const key = `${s.target}/${s.timestampMs}`;
      const v = `${s.kind}:${s.value}:${s.counter}:${s.text}`;
      if (!model.has(key)) {
        model.set(key, v);
        wantNew++;
      } else {
        wantDup++;
        if (model.get(key) !== v) wantConflict++;
      }
    }
    const got = await send(samples);
    assert.deepEqual(got, { accepted: wantNew, duplicates: wantDup, conflicts: wantConflict }, `request ${r}`);
    accepted += got.accepted;
    sent.push(...samples);
    if (random() < 0.1) flush();
  }
  let stored = head.raw.held;
  for (const m of disk.values()) stored += m.size;
  assert.equal(stored, model.size);
  assert.equal(accepted, model.size);
});

/** The same sample with another value. */
function changed(s: Sample): Sample {
  if (s.kind === "counter") return { ...s, counter: s.counter! + 1n, value: s.value + 1 };
  if (s.kind === "text") return { ...s, text: `${s.text}!` };
  return { ...s, value: s.value + 1 };
}

test("a request counting on a queued one waits for it and fails when it fails", async () => {
  const { dedup, batch, lookup, head } = setup();
  const samples = [gauge("ns", "t", "p", T0, 1), gauge("ns", "t", "p", T0 + 1_000, 2)];
  const a = await dedup.claim(batch(samples), lookup);
  assert.equal(a.fresh.length, 2);
  assert.equal(dedup.queuedRequests, 1);
  const b = await dedup.claim(batch(samples), lookup);
  assert.equal(b.fresh.length, 0);
  assert.equal(b.duplicates, 2);
  let settled = false;
  const waiting = b.settled().then(() => (settled = true), (err) => err);
  await new Promise((r) => setTimeout(r, 5));
  assert.equal(settled, false, "not acknowledged before the stored copy is durable");
  a.fail(); // the WAL write failed
  assert.ok((await waiting) instanceof UnavailableError);
  assert.equal(dedup.queuedRequests, 0);
  const c = await dedup.claim(batch(samples), lookup);
  assert.equal(c.fresh.length, 2, "after the failure the samples are new again");
  c.apply();
  await c.settled();
  assert.equal(head.raw.held, 2);
  const d = await dedup.claim(batch([gauge("ns", "t", "p", T0 + 500, 9)]), lookup);
  assert.equal(d.fresh.length, 1, "an older sample that was never stored is new");
});

test("a queued request that succeeds acknowledges the duplicates counted on it", async () => {
  const { dedup, batch, lookup } = setup();
  const samples = [gauge("ns", "t", "p", T0, 1)];
  const a = await dedup.claim(batch(samples), lookup);
  const b = await dedup.claim(batch(samples), lookup);
  const done = b.settled();
  a.apply();
  await done;
  assert.equal(b.duplicates, 1);
});

test("a cold lookup made stale by an eviction meanwhile is done again", async () => {
  const { dedup, batch, head, flush, disk } = setup();
  await (async () => {
    const c = await dedup.claim(batch([gauge("ns", "t", "p", T0 + 10_000, 1)]), () => Promise.resolve(new Map()));
    c.apply();
  })();
  flush(); // the log now covers only times after T0 + 10 s
  const x = gauge("ns", "t", "p", T0, 5);
  let calls = 0;
  const lookup: ColdLookup = async (wanted) => {
    calls++;
    const found: Found = new Map();
    if (calls === 1) {
      // while this lookup reads, another request stores x, and a flush evicts it
      const other = await dedup.claim(batch([x]), () => Promise.resolve(new Map()));
      other.apply();
      flush();
      return found; // what the files said when this lookup started: nothing
    }
    for (const [s, times] of wanted) {
      for (const t of times) {
        const v = disk.get(s)?.get(t);
        if (v) found.set(s, new Map([[t, v]]));
      }
    }
    return found;
  };
  const claim = await dedup.claim(batch([x]), lookup);
  assert.equal(calls, 2);
  assert.equal(claim.duplicates, 1);
  assert.equal(claim.fresh.length, 0);
  assert.equal(head.raw.held, 0);
});

test("a series the index forgot is checked against the disk", async () => {
  const { dedup, batch, head, disk, lookup, calls } = setup();
  const s = gauge("ns", "t", "p", T0, 1);
  const b = batch([s]);
  disk.set(b.seriesId[0], new Map([[T0, { kind: 1, valid: true, value: 1, counter: null, text: null, error: "" }]]));
  head.series.forgottenNewest = T0 + 60_000;
  head.raw.coverageStart = T0 + 60_001;
  const claim = await dedup.claim(b, lookup);
  assert.equal(calls.length, 1);
  assert.equal(claim.duplicates, 1);
  const next = await dedup.claim(batch([gauge("ns", "t", "p", T0 + 120_000, 1)]), lookup);
  assert.equal(next.fresh.length, 1);
  assert.equal(calls.length, 1, "newer than anything forgotten: no lookup");
});
