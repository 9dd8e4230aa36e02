#!/usr/bin/env node
// Bounded HTTP load driver for prepared request bodies (a sibling of the peers' post_lines.mjs, same
// rules): POSTs every body of a file to one loopback URL, C requests in flight over keep-alive
// connections, stops at end of file, at --max-requests or at --deadline-s (then exits non-zero), and
// aborts on the first non-2xx answer so failures are never timed as throughput. No dependencies.
//
//   --format lines   one body per line (e.g. api_batches.jsonl: one {"samples":[…]} per line)
//   --format lp      length-prefixed bodies: u32 little-endian length, then that many bytes
//                    (bench/lib/protobuf_bodies.ts writes stalker.SampleBatch bodies this way)
//
// Usage: node post_bodies.mjs --file F --format lines|lp --url http://127.0.0.1:PORT/path
//          [--content-type application/json] [--concurrency 2] [--max-requests 10000000]
//          [--deadline-s 600] [--timeout-ms 300000] [--latency-log FILE] [--retry-429 0]
// --latency-log writes one line per request: "<send time, Unix ms>,<latency ms>" (for latency while
// the server flushes). --retry-429 N: a 429 answer (backpressure) is not a success and not a failure
// yet: the request waits the answer's Retry-After (at most 10 s) and is sent again, at most N times;
// its latency then runs from its first send to its accepted answer (what a poller would see), and
// the refusals are counted. Prints one JSON object: requests, bytes, wall_s, request p50/p99
// (nearest rank, ms), refusals, and the client's own CPU seconds.

import fs from "node:fs";
import http from "node:http";
import { performance } from "node:perf_hooks";

function parseArgs(argv) {
  const a = {
    file: null,
    format: "lines",
    url: null,
    "content-type": "application/json",
    concurrency: 2,
    "max-requests": 10000000,
    "deadline-s": 600,
    "timeout-ms": 300000,
    "latency-log": null,
    "retry-429": 0,
  };
  for (let k = 0; k < argv.length; k++) {
    const [key, inline] = argv[k].replace(/^--/, "").split("=", 2);
    if (!(key in a)) throw new Error(`unknown option ${argv[k]}`);
    a[key] = inline !== undefined ? inline : argv[++k];
  }
  if (!a.file || !a.url) throw new Error("need --file and --url");
  if (!["lines", "lp"].includes(a.format)) throw new Error("--format must be lines or lp");
  return a;
}

const a = parseArgs(process.argv.slice(2));
const url = new URL(a.url);
if (!["127.0.0.1", "localhost", "[::1]"].includes(url.hostname)) throw new Error("refusing non-loopback target");
const conc = Number(a.concurrency), maxReq = Number(a["max-requests"]), timeoutMs = Number(a["timeout-ms"]);
const deadline = Date.now() + Number(a["deadline-s"]) * 1000;
const maxRetries = Number(a["retry-429"]);
const agent = new http.Agent({ keepAlive: true, maxSockets: conc });

/** Reads bodies from the file in 8 MiB chunks; every body is its own Buffer (safe while in flight). */
class Bodies {
  constructor(file, format) {
    this.fd = fs.openSync(file, "r");
    this.format = format;
    this.buf = Buffer.alloc(0);
    this.pos = 0;
    this.eof = false;
  }
  fill(need) {
    while (this.buf.length - this.pos < need && !this.eof) {
      const chunk = Buffer.allocUnsafe(8 << 20);
      const n = fs.readSync(this.fd, chunk, 0, chunk.length, null);
      if (n === 0) this.eof = true;
      this.buf = Buffer.concat([this.buf.subarray(this.pos), chunk.subarray(0, n)]);
      this.pos = 0;
    }
    return this.buf.length - this.pos >= need;
  }
  next() {
    if (this.format === "lp") {
      if (!this.fill(4)) return null;
      const len = this.buf.readUInt32LE(this.pos);
      if (!this.fill(4 + len)) throw new Error("truncated length-prefixed file");
      const body = Buffer.from(this.buf.subarray(this.pos + 4, this.pos + 4 + len));
      this.pos += 4 + len;
      return body;
    }
    for (;;) {
      const nl = this.buf.indexOf(10, this.pos);
      if (nl >= 0) {
        const body = Buffer.from(this.buf.subarray(this.pos, nl));
        this.pos = nl + 1;
        if (body.length > 0) return body;
        continue;
      }
      if (this.eof) {
        if (this.pos >= this.buf.length) return null;
        const body = Buffer.from(this.buf.subarray(this.pos));
        this.pos = this.buf.length;
        return body;
      }
      this.fill(this.buf.length - this.pos + 1);
    }
  }
  close() {
    fs.closeSync(this.fd);
  }
}

/** One attempt: resolves with the status, the Retry-After seconds and the body text. */
function attempt(body) {
  return new Promise((resolve, reject) => {
    const req = http.request({
      host: url.hostname,
      port: url.port,
      path: url.pathname + url.search,
      method: "POST",
      agent,
      timeout: timeoutMs,
      headers: { "Content-Type": a["content-type"], "Content-Length": body.length },
    }, (res) => {
      const chunks = [];
      res.on("data", (c) => chunks.push(c));
      res.on("end", () =>
        resolve({
          status: res.statusCode,
          retryAfterS: Number(res.headers["retry-after"] ?? 1),
          text: Buffer.concat(chunks).toString().slice(0, 300),
        }));
    });
    req.on("timeout", () => req.destroy(new Error(`request timeout ${timeoutMs} ms`)));
    req.on("error", reject);
    req.end(body);
  });
}

/** Sends a body until it is accepted (2xx), retrying 429 answers when allowed. */
async function post(body) {
  const t0 = performance.now();
  for (let refused = 0;; refused++) {
    const r = await attempt(body);
    if (r.status >= 200 && r.status <= 299) return { t0, ms: performance.now() - t0, refused };
    if (r.status !== 429 || refused >= maxRetries || Date.now() > deadline) {
      throw new Error(`HTTP ${r.status}: ${r.text}`);
    }
    await new Promise((res) => setTimeout(res, Math.min(10_000, Math.max(0, r.retryAfterS) * 1000)));
  }
}

async function main() {
  const bodies = new Bodies(a.file, a.format);
  const inflight = new Set();
  const lat = [];
  const log = a["latency-log"] ? [] : null;
  let requests = 0, bytes = 0, refused = 0, failed = null;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  for (let body = bodies.next(); body && requests < maxReq; body = bodies.next()) {
    while (inflight.size >= conc) await Promise.race(inflight);
    if (failed) throw failed;
    if (Date.now() > deadline) throw new Error("deadline exceeded");
    const p = post(body).then((r) => {
      lat.push(r.ms);
      refused += r.refused;
      log?.push(`${(performance.timeOrigin + r.t0).toFixed(3)},${r.ms.toFixed(3)}`);
    }, (e) => {
      failed = failed || e;
    }).finally(() => inflight.delete(p));
    inflight.add(p);
    requests++;
    bytes += body.length;
  }
  await Promise.all(inflight);
  if (failed) throw failed;
  const wall = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  bodies.close();
  agent.destroy();
  if (log) fs.writeFileSync(a["latency-log"], log.join("\n") + "\n");
  lat.sort((x, y) => x - y);
  const pct = (p) => Math.round(lat[Math.max(0, Math.ceil((p / 100) * lat.length) - 1)] * 1000) / 1000;
  console.log(JSON.stringify({
    requests,
    bytes,
    wall_s: Math.round(wall * 1e6) / 1e6,
    requests_per_s: Math.round(requests / wall),
    request_p50_ms: pct(50),
    request_p99_ms: pct(99),
    refused_429: refused,
    concurrency: conc,
    client_cpu_s: Math.round((cpu.user + cpu.system) / 1000) / 1000,
  }));
}

main().catch((e) => {
  console.error(`post_bodies: ${e.message}`);
  process.exit(1);
});
