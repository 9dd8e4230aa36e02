/**
 * `start`/`end` on the label-browsing calls (`/api/v1/series`, `/api/v1/labels`,
 * `/api/v1/label/<name>/values`), which Grafana sends with every label browse: only the series with data
 * in the range are listed. The same samples go to the compiled binary (through `/api/v1/ingest`, then
 * SIGTERM and a restart, so the answers come from the files it wrote), to VictoriaMetrics
 * (`/api/v1/import`) and to Prometheus (`promtool tsdb create-blocks-from openmetrics`), and the answers
 * must be the same. Series live on different days (VictoriaMetrics answers to the day, Prometheus to
 * its blocks): one only three days ago, one only yesterday, one on both days, plus a labelled poller
 * only three days ago (its label name is listed only then).
 */
import test from "node:test";
import assert from "node:assert/strict";
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { seriesLabels } from "../../src/prom/labels.ts";
import { withTempDir } from "../helpers.ts";
import { startBinary } from "./binary.ts";
import { freePort, waitHttp } from "./clients.ts";

const DAY = 86_400_000;
const HOUR = 3_600_000;
const TODAY = Math.floor(Date.now() / DAY) * DAY;
/** 10:00–10:59 UTC three days ago and yesterday, a sample a minute. */
const OLD = TODAY - 3 * DAY + 10 * HOUR;
const NEW = TODAY - DAY + 10 * HOUR;

const SERIES: { poller: string; windows: number[] }[] = [
  { poller: "cpu_old", windows: [OLD] },
  { poller: "cpu_new", windows: [NEW] },
  { poller: "cpu_both", windows: [OLD, NEW] },
  { poller: 'sensor_temp{sensor="s1"}', windows: [OLD] },
];

function samples(windows: number[]): { ts: number; value: number }[] {
  return windows.flatMap((w) => Array.from({ length: 60 }, (_, i) => ({ ts: w + i * 60_000, value: i })));
}

function startPeer(cmd: string, args: string[]): ChildProcess {
  const p = spawn(cmd, args, { stdio: ["ignore", "ignore", "pipe"] });
  p.stderr!.on("data", () => {});
  return p;
}

async function get(base: string, route: string, params: [string, string][]): Promise<unknown> {
  const res = await fetch(`${base}${route}?${new URLSearchParams(params)}`);
  const doc = await res.json();
  if (res.status !== 200 || doc.status !== "success") throw new Error(`${base}${route}: ${JSON.stringify(doc)}`);
  const data = doc.data as unknown[];
  return [...data].map((x) => JSON.stringify(x)).sort();
}

test("series, labels and label values keep to start/end as VictoriaMetrics and Prometheus do", async () => {
  await withTempDir(async (dir) => {
    const vmLines: string[] = [], om: string[] = [], ours: unknown[] = [];
    for (const s of SERIES) {
      const points = samples(s.windows);
      const labels = Object.fromEntries(seriesLabels("prod", "r1", s.poller));
      vmLines.push(
        JSON.stringify({ metric: labels, values: points.map((p) => p.value), timestamps: points.map((p) => p.ts) }),
      );
      const { __name__: name, ...rest } = labels;
      const sel = `${name}{${Object.entries(rest).map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(",")}}`;
      for (const p of points) om.push(`${sel} ${p.value} ${p.ts / 1000}`);
      for (const p of points) {
        ours.push({
          namespace: "prod",
          target: "r1",
          poller: s.poller,
          timestamp_ms: p.ts,
          value: p.value,
          valid: true,
        });
      }
    }
    // Prometheus: offline backfill (OpenMetrics wants samples in time order within a series: they are)
    fs.writeFileSync(path.join(dir, "om.txt"), om.join("\n") + "\n# EOF\n");
    const r = spawnSync("promtool", [
      "tsdb",
      "create-blocks-from",
      "openmetrics",
      path.join(dir, "om.txt"),
      path.join(dir, "prom"),
    ], {
      encoding: "utf8",
      timeout: 60_000,
    });
    if (r.error || r.status !== 0) {
      throw new Error(`promtool failed (install prometheus): ${r.error?.message ?? r.stderr}`);
    }
    fs.writeFileSync(path.join(dir, "prometheus.yml"), "global:\n  scrape_interval: 60s\nscrape_configs: []\n");
    const promPort = await freePort(), vmPort = await freePort();
    const prom = startPeer("prometheus", [
      `--config.file=${path.join(dir, "prometheus.yml")}`,
      `--storage.tsdb.path=${path.join(dir, "prom")}`,
      "--storage.tsdb.retention.time=10y",
      `--web.listen-address=127.0.0.1:${promPort}`,
    ]);
    const vm = startPeer("victoria-metrics", [
      `-storageDataPath=${path.join(dir, "vm")}`,
      `-httpListenAddr=127.0.0.1:${vmPort}`,
      "-retentionPeriod=1y",
      "-search.disableCache",
    ]);
    const dataDir = path.join(dir, "ours");
    let binary = await startBinary(["--data-dir", dataDir]);
    try {
      const vmUrl = `http://127.0.0.1:${vmPort}`, promUrl = `http://127.0.0.1:${promPort}`;
      await waitHttp(`${vmUrl}/health`);
      const imported = await fetch(`${vmUrl}/api/v1/import`, { method: "POST", body: vmLines.join("\n") + "\n" });
      assert.equal(imported.status, 204, await imported.text());
      await (await fetch(`${vmUrl}/internal/force_flush`)).body?.cancel();
      const posted = await fetch(`${binary.url}/api/v1/ingest`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ samples: ours }),
      });
      assert.equal(posted.status, 200, await posted.text());
      // the answers must come from the files the product wrote
      assert.equal(await binary.stop("SIGTERM"), 0);
      binary = await startBinary(["--data-dir", dataDir]);
      await waitHttp(`${promUrl}/-/ready`);
      const all: [string, string][] = [["start", String((OLD - DAY) / 1000)], ["end", String(TODAY / 1000)]];
      for (let i = 0; i < 100; i++) {
        if (((await get(vmUrl, "/api/v1/series", [...all, ["match[]", '{target="r1"}']])) as unknown[]).length === 4) {
          break;
        }
        await new Promise((r) => setTimeout(r, 200));
      }

      const day = (
        t: number,
      ): [string, string][] => [["start", String(t / 1000)], ["end", String((t + DAY - 1000) / 1000)]];
      const oldDay = day(TODAY - 3 * DAY), newDay = day(TODAY - DAY), between = day(TODAY - 2 * DAY);
      const calls: [string, [string, string][], number][] = [
        ["/api/v1/series", [...oldDay, ["match[]", '{target="r1"}']], 3],
        ["/api/v1/series", [...newDay, ["match[]", '{target="r1"}']], 2],
        ["/api/v1/series", [...between, ["match[]", '{target="r1"}']], 0],
        ["/api/v1/series", [...all, ["match[]", '{__name__=~"cpu_.*"}']], 3],
        ["/api/v1/labels", oldDay, 4],
        ["/api/v1/labels", newDay, 3],
        ["/api/v1/labels", [...newDay, ["match[]", "cpu_both"]], 3],
        ["/api/v1/label/__name__/values", oldDay, 3],
        ["/api/v1/label/__name__/values", newDay, 2],
        ["/api/v1/label/__name__/values", [...oldDay, ["match[]", '{__name__=~"cpu_.*"}']], 2],
        ["/api/v1/label/sensor/values", newDay, 0],
        ["/api/v1/label/sensor/values", oldDay, 1],
      ];
      const failures: string[] = [];
      for (const [route, params, expected] of calls) {
        const [mine, fromVm, fromProm] = await Promise.all(
          [`${binary.url}/prometheus`, vmUrl, promUrl].map((base) => get(base, route, params)),
        );
        const call = `${route}?${new URLSearchParams(params)}`;
        if ((mine as unknown[]).length !== expected) failures.push(`${call}: ours ${JSON.stringify(mine)}`);
        if (JSON.stringify(mine) !== JSON.stringify(fromVm)) {
          failures.push(`${call}: ours ${JSON.stringify(mine)}, VictoriaMetrics ${JSON.stringify(fromVm)}`);
        }
        if (JSON.stringify(mine) !== JSON.stringify(fromProm)) {
          failures.push(`${call}: ours ${JSON.stringify(mine)}, Prometheus ${JSON.stringify(fromProm)}`);
        }
      }
      assert.deepEqual(failures, []);

      // a series in memory only (not flushed): yesterday and now; listed for yesterday, not before
      const mem = [NEW + 2 * HOUR, Date.now() - 60_000].map((ts) => ({
        namespace: "prod",
        target: "r1",
        poller: "cpu_mem",
        timestamp_ms: ts,
        value: 1,
        valid: true,
      }));
      const late = await fetch(`${binary.url}/api/v1/ingest`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ samples: mem }),
      });
      assert.equal(late.status, 200, await late.text());
      const names = (params: [string, string][]) =>
        get(`${binary.url}/prometheus`, "/api/v1/label/__name__/values", params);
      assert.deepEqual(await names(newDay), ['"cpu_both"', '"cpu_mem"', '"cpu_new"']);
      assert.deepEqual(await names(oldDay), ['"cpu_both"', '"cpu_old"', '"sensor_temp"']);
    } finally {
      await binary.stop("SIGTERM").catch(() => {});
      prom.kill("SIGTERM");
      vm.kill("SIGTERM");
      await Promise.all([prom, vm].map((p) => new Promise((r) => p.exitCode !== null ? r(null) : p.on("exit", r))));
    }
  });
});
