import test from "node:test";
import assert from "node:assert/strict";
import { defaultConfig } from "../../../src/config/load.ts";
import { Admission, type Level, WAIT_TICK_MS, WaitQueue } from "../../../src/ingest/admission.ts";
import { OverloadedError } from "../../../src/model/errors.ts";
import { FakeClock } from "../../../src/platform/clock.ts";

const cfg = defaultConfig().backpressure;

/** Admission as the storage does it without waiting: the 429 unless the request fits now. */
function admit(a: Admission, unflushed: number, size: number, memory: number, incoming = 0): void {
  if (!a.fits(unflushed, size, memory, incoming)) throw a.refusal(unflushed, size, incoming, 2_000);
} // warning 0.7, critical 0.85, emergency 0.95; hysteresis 0.1, cooldown 30 s

test("levels follow whichever budget is fuller: unflushed samples or memory", () => {
  const cases: [number, number, Level][] = [
    [0, 0, "none"],
    [700, 0, "warning"],
    [0, 0.7, "warning"],
    [860, 0.2, "critical"],
    [100, 0.86, "critical"],
    [0, 0.96, "emergency"],
    [960, 0, "emergency"],
  ];
  for (const [unflushed, memory, level] of cases) {
    const a = new Admission(cfg, 1000, new FakeClock(0));
    assert.equal(a.update(unflushed, memory), level, `unflushed ${unflushed}, memory ${memory}`);
  }
});

test("the buffer's level is left only after the cooldown and clearly below it (hysteresis)", () => {
  const clock = new FakeClock(0);
  const a = new Admission(cfg, 1000, clock);
  assert.equal(a.update(960, 0), "emergency");
  clock.advance(1_000);
  assert.equal(a.update(500, 0), "emergency", "within the cooldown");
  clock.advance(cfg.recovery.cooldownMs);
  assert.equal(a.update(900, 0), "emergency", "0.9 is not below 0.95 - 0.1");
  assert.equal(a.update(800, 0), "critical", "below emergency - hysteresis, not below critical - hysteresis");
  clock.advance(cfg.recovery.cooldownMs);
  assert.equal(a.update(100, 0), "none");
});

test("memory's level follows each reading at once: a collection ends the refusals it caused", () => {
  const a = new Admission(cfg, 1000, new FakeClock(0));
  assert.equal(a.update(0, 0.96), "emergency");
  assert.throws(() => admit(a, 0, 10, 0.96), OverloadedError);
  assert.equal(a.update(0, 0.3), "none", "no cooldown, no hysteresis");
  admit(a, 0, 10, 0.3);
  assert.equal(a.update(800, 0.3), "warning", "the buffer's level still counts");
});

test("refusals under memory pressure are 429s that name server.memory_limit; under buffer pressure the buffer", () => {
  const a = new Admission(cfg, 1000, new FakeClock(0));
  assert.throws(() => admit(a, 0, 10, 0.97), (err: unknown) => {
    assert.ok(err instanceof OverloadedError);
    assert.match(err.message, /memory at 97 % of server\.memory_limit.*raise server\.memory_limit/);
    return true;
  });
  const b = new Admission(cfg, 1000, new FakeClock(0));
  assert.throws(() => admit(b, 990, 10, 0.1), /990 unflushed samples of 1000.*ingestion\.flush\.max_buffer_size/);
  assert.equal(a.refused.emergency + b.refused.emergency, 2);
});

test("at critical a request is refused only when it would reach emergency", () => {
  const a = new Admission(cfg, 1000, new FakeClock(0));
  admit(a, 0, 10, 0.86, 0.05); // 0.91 after: accepted
  assert.throws(() => admit(a, 0, 10, 0.86, 0.1), /level critical/);
  assert.equal(a.refused.critical, 1);
});

test("with backpressure disabled nothing is refused", () => {
  const a = new Admission({ ...cfg, enabled: false }, 1000, new FakeClock(0));
  admit(a, 2000, 10, 2);
  assert.equal(a.level, "emergency");
});

test("fits: a request fits when neither budget would reach emergency; an empty buffer takes any batch", () => {
  const a = new Admission(cfg, 1000, new FakeClock(0));
  assert.equal(a.fits(900, 40, 0), true);
  assert.equal(a.fits(900, 50, 0), false, "950 reaches 95 %");
  assert.equal(a.fits(0, 5000, 0), true, "a batch larger than the buffer is not refused forever");
  assert.equal(a.fits(0, 10, 0.9, 0.05), false, "memory with the request's share");
  assert.equal(a.fits(0, 10, 0.9, 0.04), true);
});

test("WaitQueue: first come first served, each takes its room before the next looks; deadlines let go", async () => {
  const clock = new FakeClock(0);
  const q = new WaitQueue(clock);
  let room = 0;
  const order: string[] = [];
  const ask = (name: string, need: number, deadline: number) =>
    q.wait(() => room >= need, () => {
      room -= need;
      order.push(name);
    }, deadline).then((ok) => (ok ? name : `${name} refused`));
  const a = ask("a", 2, 1_000);
  const b = ask("b", 1, 1_000);
  const c = ask("c", 1, 100);
  assert.equal(q.length, 3);
  room = 1; // b would fit, but a is first
  clock.advance(WAIT_TICK_MS);
  assert.deepEqual(order, []);
  clock.advance(100);
  assert.equal(await c, "c refused");
  room = 3;
  q.wake();
  assert.deepEqual(await Promise.all([a, b]), ["a", "b"]);
  assert.deepEqual(order, ["a", "b"]);
  assert.equal(room, 0);
  assert.deepEqual(q.counts, { waited: 3, admitted: 2, timedOut: 1 });
  assert.equal(q.length, 0);
  clock.advance(WAIT_TICK_MS);
  assert.equal(clock.pendingTimers, 0, "it stops looking once nobody waits");
});

test("WaitQueue: nobody waits when it fits now and nobody is ahead; close fails the waiting", async () => {
  const clock = new FakeClock(0);
  const q = new WaitQueue(clock);
  assert.equal(await q.wait(() => true, () => {}, 0), true);
  assert.equal(await q.wait(() => false, () => {}, 0), false, "past its deadline: no wait at all");
  const waiting = q.wait(() => false, () => {}, 10_000);
  q.close(new Error("shutting down"));
  await assert.rejects(waiting, /shutting down/);
  assert.equal(q.counts.waited, 1);
});
