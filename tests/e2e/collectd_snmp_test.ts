/**
 * A real SNMP chain into the compiled binary: `snmpd` (Debian) serves IF-MIB on a loopback UDP port,
 * collectd's `snmp` plugin (Debian `collectd-core` + `libsnmp40`) polls the 64-bit interface octet counters
 * every second and delivers them with `write_http` (Format "JSON") to `POST /collectd`. The stored counters
 * lie between what `snmpget` reads before and after, and the rate in the 5-minute tier matches snmpget's.
 */
import test from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import path from "node:path";
import { withTempDir } from "../helpers.ts";
import { startBinary } from "./binary.ts";
import { type Client, freePort, startClient, waitFor } from "./clients.ts";

const TOKEN = "collectd-e2e";
/** IF-MIB::ifHCInOctets of ifIndex 1 (`lo`: the loopback interface, which this test loads steadily). */
const IF_HC_IN_OCTETS_1 = ".1.3.6.1.2.1.31.1.1.1.6.1";

function snmpget(port: number, oid: string): { value: number; at: number } {
  const r = spawnSync("snmpget", ["-v2c", "-c", "public", "-On", "-Oqv", `udp:127.0.0.1:${port}`, oid], {
    encoding: "utf8",
    env: { MIBS: "" },
    timeout: 10_000,
  });
  if (r.error) throw new Error(`snmpget (Debian snmp) cannot run: ${r.error.message}`);
  if (r.status !== 0 || !/^\d+$/.test(r.stdout.trim())) throw new Error(`snmpget failed: ${r.stdout}${r.stderr}`);
  return { value: Number(r.stdout.trim()), at: Date.now() };
}

/** Sends `bytesPerSecond` over a loopback TCP connection, so the `lo` counters grow steadily. */
async function loopbackTraffic(bytesPerSecond: number): Promise<() => Promise<void>> {
  const server = net.createServer((socket) => socket.on("data", () => {}));
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const socket = net.connect((server.address() as net.AddressInfo).port, "127.0.0.1");
  await new Promise<void>((resolve) => socket.on("connect", resolve));
  const chunk = new Uint8Array(bytesPerSecond / 20);
  const timer = setInterval(() => socket.write(chunk), 50);
  return async () => {
    clearInterval(timer);
    socket.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  };
}

test("snmpd IF-MIB → collectd snmp plugin → write_http JSON → binary: counters and 5-minute rates match snmpget", async () => {
  await withTempDir(async (dir) => {
    const bin = await startBinary(["--data-dir", path.join(dir, "data")], { env: { STALKER_STORAGE_TOKEN: TOKEN } });
    const snmpPort = await freePort();
    fs.writeFileSync(
      path.join(dir, "snmpd.conf"),
      `agentaddress udp:127.0.0.1:${snmpPort}\nrocommunity public 127.0.0.1\n`,
    );
    let snmpd: Client | undefined;
    let collectd: Client | undefined;
    const stopTraffic = await loopbackTraffic(4_000_000);
    try {
      snmpd = await startClient("snmpd", [
        "-f",
        "-Lo",
        "-C",
        "-c",
        path.join(dir, "snmpd.conf"),
        "-p",
        path.join(dir, "snmpd.pid"),
      ]);
      let first: { value: number; at: number } | undefined;
      await waitFor(() => `snmpd answering:\n${snmpd!.output().slice(-2000)}`, () => {
        try {
          first = snmpget(snmpPort, IF_HC_IN_OCTETS_1);
          return Promise.resolve(true);
        } catch {
          return Promise.resolve(false);
        }
      }, 15_000);
      const conf = path.join(dir, "collectd.conf");
      fs.writeFileSync(
        conf,
        `Interval 1
BaseDir "${dir}"
PIDFile "${path.join(dir, "collectd.pid")}"
PluginDir "/usr/lib/collectd"
TypesDB "/usr/share/collectd/types.db"
LoadPlugin snmp
<LoadPlugin write_http>
  FlushInterval 1
</LoadPlugin>
<Plugin snmp>
  <Data "if_octets64">
    Type "if_octets"
    Table true
    TypeInstanceOID ".1.3.6.1.2.1.31.1.1.1.1"
    Values ".1.3.6.1.2.1.31.1.1.1.6" ".1.3.6.1.2.1.31.1.1.1.10"
  </Data>
  <Host "sw1">
    Address "udp:127.0.0.1:${snmpPort}"
    Version 2
    Community "public"
    Collect "if_octets64"
    Interval 1
  </Host>
</Plugin>
<Plugin write_http>
  <Node "stalker">
    URL "${bin.url}/collectd"
    Format "JSON"
    User "collectd"
    Password "${TOKEN}"
    StoreRates false
    BufferSize 4096
  </Node>
</Plugin>
`,
      );
      collectd = await startClient("collectd", ["-f", "-C", conf]);
      const poller = 'snmp_if_octets_rx{type_instance="lo"}';
      const query = async (tier: string) => {
        const url = `${bin.url}/api/v1/query?namespace=default&target=sw1&poller=${
          encodeURIComponent(poller)
        }&tier=${tier}&from=-1h&to=now`;
        const res = await fetch(url, { headers: { authorization: `Bearer ${TOKEN}` } });
        return (await res.json()).series[0];
      };
      await waitFor(
        () => `10 polls of lo stored:\n${collectd!.output().slice(-3000)}`,
        async () => {
          if (collectd!.exited()) throw new Error(`collectd exited:\n${collectd!.output()}`);
          return ((await query("raw"))?.samples?.length ?? 0) >= 10;
        },
        40_000,
      );
      await collectd.stop();
      collectd = undefined;
      const last = snmpget(snmpPort, IF_HC_IN_OCTETS_1);
      const raw = await query("raw");
      assert.ok(raw.samples.every((s: { kind: string }) => s.kind === "counter"), JSON.stringify(raw.samples[0]));
      const values: number[] = raw.samples.map((s: { value_counter: number }) => Number(s.value_counter));
      const times: number[] = raw.samples.map((s: { t: number }) => s.t);
      // the same counter snmpget reads: between its readings, never decreasing
      assert.ok(values[0] >= first!.value, `${values[0]} >= ${first!.value}`);
      assert.ok(values[values.length - 1] <= last.value, `${values[values.length - 1]} <= ${last.value}`);
      for (let i = 1; i < values.length; i++) assert.ok(values[i] >= values[i - 1]);
      // The 5-minute tier's rate is the mean of the per-poll rates; it matches the stored counters' rate (the
      // polls are a second apart: 10 % for jitter) and snmpget's over the whole run within 30 %: the traffic
      // is steady, but snmpd refreshes its interface table only every few seconds, so a short run sees few
      // steps, and other traffic on lo adds to the test's.
      const tier = await query("5min");
      assert.equal(tier.kind, "rate");
      const snmpRate = (last.value - first!.value) / ((last.at - first!.at) / 1000);
      const storedRate = (values[values.length - 1] - values[0]) / ((times[times.length - 1] - times[0]) / 1000);
      const tierRate = tier.points.reduce((a: number, p: { avg: number; count: number }) => a + p.avg * p.count, 0) /
        tier.points.reduce((a: number, p: { count: number }) => a + p.count, 0);
      const rates = `tier ${tierRate} B/s, stored ${storedRate} B/s, snmpget ${snmpRate} B/s`;
      assert.ok(Math.abs(tierRate - storedRate) / storedRate < 0.1, rates);
      assert.ok(Math.abs(tierRate - snmpRate) / snmpRate < 0.3, rates);
    } finally {
      await collectd?.stop();
      await snmpd?.stop();
      await stopTraffic();
      await bin.stop();
    }
  });
});
