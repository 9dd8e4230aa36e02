/**
 * The real InfluxDB 1.x CLI (`influx -import`, Debian `influxdb-client`) writing line protocol to the
 * compiled binary's `/write`, with `-precision=s` and `-precision=ns`, a token as its password: every
 * point arrives with its tags and kinds, and an import re-sent adds nothing.
 */
import test from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { withTempDir } from "../helpers.ts";
import { startBinary } from "./binary.ts";

const TOKEN = "influx-e2e-token";

function influxImport(port: number, file: string, precision: string, password: string) {
  const r = spawnSync(
    "influx",
    [
      "-host",
      "127.0.0.1",
      "-port",
      String(port),
      "-username",
      "telegraf",
      "-password",
      password,
      "-import",
      `-path=${file}`,
      `-precision=${precision}`,
    ],
    { encoding: "utf8", timeout: 30_000 },
  );
  if (r.error) throw new Error(`the influx CLI (Debian influxdb-client) cannot run: ${r.error.message}`);
  return { status: r.status, out: r.stdout + r.stderr };
}

test("influx -import (InfluxDB 1.x CLI) with precision s and ns into the binary's /write", async () => {
  await withTempDir(async (dir) => {
    const bin = await startBinary(["--data-dir", path.join(dir, "data")], { env: { STALKER_STORAGE_TOKEN: TOKEN } });
    try {
      const nowS = Math.floor(Date.now() / 1000) - 120;
      const header =
        "# DDL\nCREATE DATABASE snmp\n\n# DML\n# CONTEXT-DATABASE: snmp\n# CONTEXT-RETENTION-POLICY: autogen\n";
      const seconds = path.join(dir, "s.txt");
      fs.writeFileSync(
        seconds,
        header +
          `interface,agent_host=sw1,ifName=Gi0/1,ifDescr=GigabitEthernet0/1 ifHCInOctets=1000i,ifOperStatus=1i ${nowS}\n` +
          `interface,agent_host=sw1,ifName=Gi0/1,ifDescr=GigabitEthernet0/1 ifHCInOctets=61000i,ifOperStatus=1i ${
            nowS + 60
          }\n` +
          `system,agent_host=sw1 sysName="sw1.lab",uptime=12345u ${nowS}\n`,
      );
      const nanos = path.join(dir, "ns.txt");
      fs.writeFileSync(nanos, header + `cpu,host=srv\\ 1,cpu=cpu0 usage_idle=97.5 ${nowS}123456789\n`);

      const s = influxImport(bin.port, seconds, "s", TOKEN);
      assert.equal(s.status, 0, s.out);
      assert.match(s.out, /Processed 3 inserts/, s.out);
      assert.match(s.out, /Failed 0 inserts/, s.out);
      const ns = influxImport(bin.port, nanos, "ns", TOKEN);
      assert.equal(ns.status, 0, ns.out);
      assert.match(ns.out, /Processed 1 inserts/, ns.out);
      assert.match(ns.out, /Failed 0 inserts/, ns.out);
      const denied = influxImport(bin.port, nanos, "ns", "wrong");
      assert.match(denied.out, /Wrong token[\s\S]*1 point was not inserted/, denied.out);

      const res = await fetch(`${bin.url}/api/v1/series`, { headers: { authorization: `Bearer ${TOKEN}` } });
      const series = (await res.json()).series as {
        namespace: string;
        target: string;
        poller: string;
        kind: string;
        last_timestamp_ms: number;
        value?: number;
        value_counter?: number;
        value_text?: string;
      }[];
      const got = series.map((x) => [x.namespace, x.target, x.poller, x.kind, x.last_timestamp_ms]).sort();
      const labels = '{ifDescr="GigabitEthernet0/1",ifName="Gi0/1"}';
      assert.deepEqual(got, [
        ["snmp", "srv 1", 'cpu_usage_idle{cpu="cpu0"}', "gauge", nowS * 1000 + 123],
        ["snmp", "sw1", "interface_ifHCInOctets" + labels, "counter", (nowS + 60) * 1000],
        ["snmp", "sw1", "interface_ifOperStatus" + labels, "gauge", (nowS + 60) * 1000],
        ["snmp", "sw1", "system_sysName", "text", nowS * 1000],
        ["snmp", "sw1", "system_uptime", "counter", nowS * 1000],
      ]);
      const octets = series.find((x) => x.poller.startsWith("interface_ifHCInOctets"))!;
      assert.equal(octets.value_counter, 61000);
      assert.equal(series.find((x) => x.poller === "system_sysName")!.value_text, "sw1.lab");

      // re-sent: nothing new, every point skipped as a duplicate
      const counter = async (name: string) => {
        const text = await (await fetch(`${bin.url}/metrics`)).text();
        return Number(new RegExp(`^${name} (\\d+)$`, "m").exec(text)?.[1]);
      };
      const before = await counter("stalker_ingest_duplicate_samples_total");
      assert.equal(influxImport(bin.port, seconds, "s", TOKEN).status, 0);
      assert.equal(await counter("stalker_ingest_duplicate_samples_total"), before + 6);
      assert.equal(
        (await (await fetch(`${bin.url}/api/v1/series`, { headers: { authorization: `Bearer ${TOKEN}` } })).json())
          .series.length,
        5,
      );
    } finally {
      await bin.stop();
    }
  });
});
