import test from "node:test";
import assert from "node:assert/strict";
import { every, FakeClock, sleep, systemClock } from "../../../src/platform/clock.ts";

const live = () => new AbortController().signal;

test("FakeClock fires its timers in time order, each with the clock at its due time", () => {
  const clock = new FakeClock(1_000);
  const fired: [string, number][] = [];
  clock.setTimer(300, () => fired.push(["c", clock.now()]), live());
  clock.setTimer(100, () => fired.push(["a", clock.now()]), live());
  clock.setTimer(100, () => fired.push(["b", clock.now()]), live()); // same time: armed order
  clock.advance(200);
  assert.deepEqual(fired, [["a", 1_100], ["b", 1_100]]);
  assert.equal(clock.now(), 1_200);
  clock.advance(100);
  assert.deepEqual(fired.at(-1), ["c", 1_300]);
  assert.equal(clock.pendingTimers, 0);
});

test("FakeClock fires timers armed by a firing timer within the same advance", () => {
  const clock = new FakeClock(0);
  const fired: number[] = [];
  clock.setTimer(10, () => {
    fired.push(clock.now());
    clock.setTimer(10, () => fired.push(clock.now()), live());
  }, live());
  clock.advance(25);
  assert.deepEqual(fired, [10, 20]);
});

test("an aborted timer never fires, and one armed on an aborted signal is not armed", () => {
  const clock = new FakeClock(0);
  const stop = new AbortController();
  let fired = 0;
  clock.setTimer(10, () => fired++, stop.signal);
  stop.abort();
  clock.setTimer(10, () => fired++, stop.signal);
  clock.advance(100);
  assert.equal(fired, 0);
  assert.equal(clock.pendingTimers, 0);
});

test("every() runs at a fixed rate until its signal aborts", () => {
  const clock = new FakeClock(0);
  const stop = new AbortController();
  const at: number[] = [];
  every(clock, 100, () => at.push(clock.now()), stop.signal);
  clock.advance(350);
  stop.abort();
  clock.advance(1_000);
  assert.deepEqual(at, [100, 200, 300]);
  assert.equal(clock.pendingTimers, 0);
});

test("sleep() resolves when the clock reaches its time and rejects with the reason on abort", async () => {
  const clock = new FakeClock(0);
  let woke = false;
  const nap = sleep(clock, 1_000, live()).then(() => (woke = true));
  clock.advance(999);
  await Promise.resolve();
  assert.equal(woke, false);
  clock.advance(1);
  await nap;
  assert.equal(woke, true);

  const stop = new AbortController();
  const cut = sleep(clock, 1_000, stop.signal);
  stop.abort(new Error("shutting down"));
  await assert.rejects(cut, /shutting down/);
  await assert.rejects(sleep(clock, 10, stop.signal), /shutting down/, "an aborted signal rejects at once");
});

test("the system clock's timers fire in real time, stop on abort, and do not hold the process", async () => {
  const stop = new AbortController();
  const start = performance.now();
  const fired: number[] = [];
  systemClock.setTimer(20, () => fired.push(performance.now() - start), live());
  systemClock.setTimer(5, () => fired.push(-1), stop.signal);
  stop.abort();
  // the clock's timers are unref'd: this plain timeout keeps the test alive past them (timers fire in due order)
  await new Promise((resolve) => setTimeout(resolve, 60));
  assert.equal(fired.length, 1);
  assert.ok(fired[0] >= 19, `fired after ${fired[0]} ms`);
});
