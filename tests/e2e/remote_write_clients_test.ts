/**
 * Prometheus remote-write from real senders into the compiled binary: vmagent (Debian `victoria-metrics`)
 * and Prometheus 2.42 in agent mode, each scraping a local target every second. Every value the target
 * served arrives, in its own series with its labels recoverable from the poller, counters as counters.
 */
import test from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { parsePoller } from "../../src/model/poller_labels.ts";
import { withTempDir } from "../helpers.ts";
import { type RunningBinary, startBinary } from "./binary.ts";
import { type Client, freePort, scrapeTarget, startClient, waitFor } from "./clients.ts";

const TOKEN = "remote-write-e2e";

const page = (n: number) =>
  `# HELP ifHCInOctets The total number of octets received on the interface.
# TYPE ifHCInOctets counter
ifHCInOctets{ifIndex="1",ifName="Gi0/1"} ${n * 1000}
# TYPE http_requests_total counter
http_requests_total{code="200",path="/a b"} ${n}
# TYPE temperature_celsius gauge
temperature_celsius{sensor="cpu"} 21.5
`;

interface Stored {
  poller: string;
  kind: string;
  values: number[];
}

/** The raw samples of every series of `target`, by metric name. */
async function stored(bin: RunningBinary, target: string): Promise<Map<string, Stored>> {
  const url = `${bin.url}/api/v1/query?namespace=default&target=${encodeURIComponent(target)}&tier=raw&from=-1h&to=now`;
  const res = await fetch(url, { headers: { authorization: `Bearer ${TOKEN}` } });
  const body = await res.json();
  if (res.status !== 200) throw new Error(JSON.stringify(body));
  const out = new Map<string, Stored>();
  for (const s of body.series as { poller: string; kind: string; samples: Record<string, unknown>[] }[]) {
    const kinds = new Set(s.samples.map((x) => x.kind));
    out.set(parsePoller(s.poller).metric, {
      poller: s.poller,
      kind: [...kinds].join("+"),
      values: s.samples.map((x) => Number(x.value_counter ?? x.value)),
    });
  }
  return out;
}

async function checkChain(start: (writeUrl: string, targetPort: number, dir: string) => Promise<Client>) {
  await withTempDir(async (dir) => {
    const bin = await startBinary(["--data-dir", path.join(dir, "data")], { env: { STALKER_STORAGE_TOKEN: TOKEN } });
    const target = await scrapeTarget(page);
    const instance = `127.0.0.1:${target.port}`;
    let client: Client | undefined;
    try {
      client = await start(`${bin.url}/api/v1/write`, target.port, dir);
      await waitFor(
        () => `4 scrapes (have ${target.scrapes()}):\n${client!.output()}`,
        () => Promise.resolve(target.scrapes() >= 4),
      );
      const served = target.scrapes();
      // every value served so far arrives
      let last = new Map<string, Stored>();
      await waitFor(
        () => `values 1..${served} of ifHCInOctets; stored: ${JSON.stringify([...last.values()])}\n${client!.output()}`,
        async () => {
          last = await stored(bin, instance);
          const have = new Set(last.get("ifHCInOctets")?.values ?? []);
          return Array.from({ length: served }, (_, k) => (k + 1) * 1000).every((v) => have.has(v));
        },
      );
      const octets = last.get("ifHCInOctets")!;
      assert.deepEqual(parsePoller(octets.poller), {
        metric: "ifHCInOctets",
        labels: [["ifIndex", "1"], ["ifName", "Gi0/1"], ["job", "snmp"]],
      });
      assert.equal(octets.kind, "counter");
      // nothing that was not served, nothing twice
      assert.ok(octets.values.every((v) => v % 1000 === 0 && v / 1000 <= target.scrapes()), String(octets.values));
      assert.equal(new Set(octets.values).size, octets.values.length);
      const requests = last.get("http_requests_total")!;
      assert.deepEqual(parsePoller(requests.poller).labels, [["code", "200"], ["job", "snmp"], ["path", "/a b"]]);
      assert.equal(requests.kind, "counter");
      const temperature = last.get("temperature_celsius")!;
      assert.equal(temperature.kind, "gauge");
      assert.ok(temperature.values.every((v) => v === 21.5));
      // the sender's own series about the scrape arrive too
      assert.equal(last.get("up")?.kind, "gauge");
    } finally {
      await client?.stop();
      await target.close();
      await bin.stop();
    }
  });
}

test("vmagent scrapes a target every second and remote-writes to the binary (bearer token)", async () => {
  await checkChain(async (writeUrl, targetPort, dir) => {
    const config = path.join(dir, "scrape.yml");
    fs.writeFileSync(
      config,
      `global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: snmp\n    static_configs:\n      - targets: ["127.0.0.1:${targetPort}"]\n`,
    );
    return await startClient("vmagent", [
      `-promscrape.config=${config}`,
      `-remoteWrite.url=${writeUrl}`,
      `-remoteWrite.bearerToken=${TOKEN}`,
      `-remoteWrite.tmpDataPath=${path.join(dir, "vmagent-queue")}`,
      "-remoteWrite.flushInterval=1s",
      `-httpListenAddr=127.0.0.1:${await freePort()}`,
    ]);
  });
});

test("Prometheus 2.42 in agent mode scrapes a target every second and remote-writes to the binary (basic auth)", async () => {
  await checkChain(async (writeUrl, targetPort, dir) => {
    const config = path.join(dir, "prometheus.yml");
    fs.writeFileSync(
      config,
      `global:
  scrape_interval: 1s
scrape_configs:
  - job_name: snmp
    static_configs:
      - targets: ["127.0.0.1:${targetPort}"]
remote_write:
  - url: ${writeUrl}
    basic_auth:
      username: prometheus
      password: ${TOKEN}
    queue_config:
      batch_send_deadline: 1s
      min_backoff: 100ms
      max_backoff: 1s
    metadata_config:
      send_interval: 1s
`,
    );
    return await startClient("prometheus", [
      "--enable-feature=agent",
      `--config.file=${config}`,
      `--storage.agent.path=${path.join(dir, "prom-agent")}`,
      `--web.listen-address=127.0.0.1:${await freePort()}`,
    ]);
  });
});
