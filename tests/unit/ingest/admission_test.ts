import test from "node:test";
import assert from "node:assert/strict";
import { defaultConfig } from "../../../src/config/load.ts";
import { Admission, type Level } from "../../../src/ingest/admission.ts";
import { OverloadedError } from "../../../src/model/errors.ts";
import { FakeClock } from "../../../src/platform/clock.ts";

const cfg = defaultConfig().backpressure; // warning 0.7, critical 0.85, emergency 0.95; hysteresis 0.1, cooldown 30 s

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
  assert.throws(() => a.admit(0, 10, 0.96), OverloadedError);
  assert.equal(a.update(0, 0.3), "none", "no cooldown, no hysteresis");
  a.admit(0, 10, 0.3);
  assert.equal(a.update(800, 0.3), "warning", "the buffer's level still counts");
});

test("refusals under memory pressure are 429s that name server.memory_limit; under buffer pressure the buffer", () => {
  const a = new Admission(cfg, 1000, new FakeClock(0));
  assert.throws(() => a.admit(0, 10, 0.97), (err: unknown) => {
    assert.ok(err instanceof OverloadedError);
    assert.match(err.message, /memory at 97 % of server\.memory_limit.*raise server\.memory_limit/);
    return true;
  });
  const b = new Admission(cfg, 1000, new FakeClock(0));
  assert.throws(() => b.admit(990, 10, 0.1), /990 unflushed samples of 1000.*ingestion\.flush\.max_buffer_size/);
  assert.equal(a.refused.emergency + b.refused.emergency, 2);
});

test("at critical a request is refused only when it would reach emergency", () => {
  const a = new Admission(cfg, 1000, new FakeClock(0));
  a.admit(0, 10, 0.86, 0.05); // 0.91 after: accepted
  assert.throws(() => a.admit(0, 10, 0.86, 0.1), /level critical/);
  assert.equal(a.refused.critical, 1);
});

test("with backpressure disabled nothing is refused", () => {
  const a = new Admission({ ...cfg, enabled: false }, 1000, new FakeClock(0));
  a.admit(2000, 10, 2);
  assert.equal(a.level, "emergency");
});
