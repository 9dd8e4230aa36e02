import test from "node:test";
import assert from "node:assert/strict";
import { loadConfigText } from "../../../src/config/load.ts";
import { MEMORY_COSTS, planMemory } from "../../../src/config/memory_budget.ts";

const MiB = 2 ** 20;
const plan = (yaml: string) => planMemory(loadConfigText(yaml, {}));

test("the default budget holds 100,000 series with every share inside it and no problem", () => {
  const p = plan("");
  assert.equal(p.limitBytes, 512 * MiB);
  assert.deepEqual(p.problems, []);
  assert.ok(p.maxSeries >= 100_000, `max series ${p.maxSeries}`);
  const sum = p.runtimeBytes + p.bodiesBytes + p.headBytes + p.unflushedBytes + p.flushWorkBytes + p.ringBytes +
    p.queryCacheBytes;
  assert.ok(sum <= p.limitBytes, `shares ${sum} exceed ${p.limitBytes}`);
  assert.equal(p.queryCacheBytes, Math.floor((512 * MiB - MEMORY_COSTS.runtime) / 16));
  assert.equal(plan("server:\n  memory_limit: 4GiB\n").queryCacheBytes, 64 * MiB, "capped");
  assert.equal(p.unflushedBytes, p.bufferSamples * MEMORY_COSTS.rawSample);
  assert.equal(p.flushStartSamples, Math.floor(p.bufferSamples / 2));
  // a flush takes what is unflushed when it starts: at most the buffer, twice the flush planned
  assert.ok(p.flushStartSamples >= 500_000, `flushes of ${p.flushStartSamples} samples at the default budget`);
  assert.ok(p.bufferSamples <= 2 * p.flushStartSamples + 1);
});

test("shares grow with the budget; the ring takes what is left, capped by features.raw_buffer.memory_limit", () => {
  const small = plan("server:\n  memory_limit: 256MiB\n");
  const large = plan("server:\n  memory_limit: 2GiB\n");
  assert.ok(large.maxSeries > small.maxSeries && large.bufferSamples > small.bufferSamples);
  assert.equal(large.ringBytes, 256 * MiB, "capped by the raw buffer's own limit");
  const capped = plan("server:\n  memory_limit: 2GiB\nfeatures:\n  raw_buffer:\n    memory_limit: 32MiB\n");
  assert.equal(capped.ringBytes, 32 * MiB);
  assert.equal(plan("features:\n  raw_buffer:\n    enabled: false\n").ringBytes, 0);
});

test("ingestion.flush.max_buffer_size caps the buffer below the budget's share", () => {
  const p = plan("ingestion:\n  flush:\n    max_buffer_size: 100000\n");
  assert.equal(p.bufferSamples, 100_000);
  assert.equal(p.flushStartSamples, 50_000);
});

test("an explicit limits.max_series that cannot fit is a problem naming both settings", () => {
  const p = plan("server:\n  memory_limit: 128MiB\nlimits:\n  max_series: 1000000\nquery:\n  memory_limit: 16MiB\n");
  assert.equal(p.maxSeries, 1_000_000);
  assert.equal(p.problems.length, 1, p.problems.join("\n"));
  assert.match(p.problems[0], /server\.memory_limit .* limits\.max_series/);
});

test("scale.poller_count above what fits, and a DuckDB limit that would crowd out ingest, are problems", () => {
  const p = plan("scale:\n  poller_count: 2000000\nquery:\n  memory_limit: 400MiB\n");
  assert.equal(p.problems.length, 2, p.problems.join("\n"));
  assert.match(p.problems[0], /scale\.poller_count 2000000 exceeds .* raise server\.memory_limit to at least \d+ MiB/);
  assert.match(p.problems[1], /query\.memory_limit .* lower query\.memory_limit or raise server\.memory_limit/);
});
