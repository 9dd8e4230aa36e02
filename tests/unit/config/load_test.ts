import test from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import { ConfigError, defaultConfig, loadConfigText } from "../../../src/config/load.ts";
import { renderConfigTable, renderDefaultYaml } from "../../../src/config/example.ts";
import { CONFIG_KEYS } from "../../../src/config/schema.ts";

const root = new URL("../../..", import.meta.url);

function problemsOf(yaml: string): string[] {
  try {
    loadConfigText(yaml);
  } catch (err) {
    assert.ok(err instanceof ConfigError);
    return err.problems;
  }
  assert.fail("expected a ConfigError");
}

test("embedded defaults match DESIGN.md", () => {
  const c = defaultConfig();
  assert.equal(c.dataDir, "./stalker-data");
  assert.equal(c.server.listen, "127.0.0.1:7400");
  assert.equal(c.retention.rawMs, 48 * 3_600_000);
  assert.equal(c.retention.fiveMinMs, 720 * 3_600_000);
  assert.equal(c.retention.hourlyMs, 2160 * 3_600_000);
  assert.equal(c.retention.dailyMs, 17520 * 3_600_000);
  assert.equal(c.retention.weeklyMs, 87600 * 3_600_000);
  assert.equal(c.ingestion.wal.syncMode, "fsync");
  assert.equal(c.features.compression.algorithm, "zstd");
});

test("storage.example.yaml loads and equals the embedded defaults", () => {
  const text = fs.readFileSync(new URL("storage.example.yaml", root), "utf8");
  assert.deepEqual(loadConfigText(text), defaultConfig());
});

test("storage.example.yaml is the rendered default (regenerate with deno task gen)", () => {
  assert.equal(fs.readFileSync(new URL("storage.example.yaml", root), "utf8"), renderDefaultYaml());
});

test("storage.example.yaml documents every key", () => {
  const text = renderDefaultYaml();
  for (const spec of CONFIG_KEYS) {
    const leaf = spec.key.split(".").pop()!;
    assert.match(text, new RegExp(`^\\s*${leaf}:`, "m"), spec.key);
  }
});

test("docs/config.md contains the generated key table", () => {
  const doc = fs.readFileSync(new URL("docs/config.md", root), "utf8");
  assert.ok(doc.includes(renderConfigTable()), "regenerate docs/config.md with deno task gen");
});

test("a config with three mistakes reports all three, each with its key", () => {
  const problems = problemsOf(`
ingestion:
  wal:
    sync_mode: sometimes
retention:
  raw: 2 days
query:
  max_rows: -5
`);
  assert.equal(problems.length, 3, problems.join("\n"));
  assert.match(problems[0], /^retention\.raw: "2 days" is not a duration/);
  assert.match(problems[1], /^ingestion\.wal\.sync_mode: "sometimes" is not one of fsync, sync, async/);
  assert.match(problems[2], /^query\.max_rows: -5 is below the minimum 1/);
});

test("unknown keys are reported with a suggestion", () => {
  const problems = problemsOf("ingestion:\n  wal:\n    sync_intervall: 1s\nfoo: 1\n");
  assert.deepEqual(problems, ["ingestion.wal.sync_intervall: unknown key", "foo: unknown key"]);
  assert.match(problemsOf("max_rows: 5\n")[0], /did you mean query\.max_rows/);
});

test("a YAML syntax error is reported with its line", () => {
  assert.match(problemsOf("server:\n  listen: [oops\n")[0], /YAML syntax \(line \d+/);
});

test("wrong types are reported", () => {
  const problems = problemsOf("features:\n  percentile:\n    enabled: yes please\n  raw_buffer: 5\n");
  assert.equal(problems.length, 2);
  assert.match(problems[0], /features\.raw_buffer: expected a mapping/);
  assert.match(problems[1], /features\.percentile\.enabled: expected true or false/);
});

test("durations, sizes and cron are parsed into units", () => {
  const c = loadConfigText(`
ingestion:
  wal: { sync_mode: async, sync_interval: 250ms, max_segment_size: 8MiB }
  flush: { interval: 1m }
compaction:
  schedule: { five_min_to_hourly: "7 * * * *" }
query: { memory_limit: 1GB, timeout: 5s }
`);
  assert.equal(c.ingestion.wal.syncMode, "async");
  assert.equal(c.ingestion.wal.syncIntervalMs, 250);
  assert.equal(c.ingestion.wal.maxSegmentBytes, 8 * 2 ** 20);
  assert.equal(c.ingestion.flush.intervalMs, 60_000);
  assert.equal(c.compaction.schedule.fiveMinToHourly, "7 * * * *");
  assert.equal(c.query.memoryLimitBytes, 1e9);
  assert.equal(c.query.timeoutMs, 5_000);
});

test("a bad cron expression names its key", () => {
  assert.match(
    problemsOf("compaction:\n  schedule:\n    hourly_to_daily: '61 * * * *'\n")[0],
    /^compaction\.schedule\.hourly_to_daily: .*minute "61"/,
  );
});

test("backpressure thresholds must increase", () => {
  assert.match(
    problemsOf("backpressure:\n  thresholds: { warning: 0.9, critical: 0.8 }\n")[0],
    /warning \(0\.9\) < critical \(0\.8\)/,
  );
});

test("a non-loopback listen address needs a token or allow_insecure", () => {
  assert.match(
    problemsOf("server:\n  listen: 0.0.0.0:7400\n")[0],
    /refusing to listen on non-loopback address 0\.0\.0\.0 without a token/,
  );
  assert.doesNotThrow(() => loadConfigText("server:\n  listen: 0.0.0.0:7400\n  auth_token: s3cret\n"));
  assert.doesNotThrow(() => loadConfigText("server:\n  listen: 0.0.0.0:7400\n  allow_insecure: true\n"));
  assert.doesNotThrow(() => loadConfigText("server:\n  listen: 0.0.0.0:7400\n", { envToken: "from-env" }));
});

test("flags override the file", () => {
  const c = loadConfigText("data_dir: /var/lib/x\n", { dataDir: "/tmp/y", listen: "127.0.0.1:9999" });
  assert.equal(c.dataDir, "/tmp/y");
  assert.equal(c.server.listen, "127.0.0.1:9999");
});
