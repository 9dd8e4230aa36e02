/**
 * HTTPS on the compiled binary with `server.tls.cert_file`/`key_file`: self-signed certificates made by
 * `openssl req -x509`, requests by `curl`, the certificate replaced and reloaded on SIGHUP (a bad one
 * keeps the old), the CLI talking to the HTTPS server it finds through the lock file.
 */
import test from "node:test";
import assert from "node:assert/strict";
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import process from "node:process";
import { BINARY, withTempDir } from "../helpers.ts";
import { requireBinary, runBinary } from "./binary.ts";

/** A self-signed certificate for 127.0.0.1 with common name `cn`. */
function certificate(dir: string, cn: string): { cert: string; key: string } {
  const cert = path.join(dir, `${cn}.crt`), key = path.join(dir, `${cn}.key`);
  const r = spawnSync("openssl", [
    "req",
    "-x509",
    "-newkey",
    "ec",
    "-pkeyopt",
    "ec_paramgen_curve:prime256v1",
    "-nodes",
    "-keyout",
    key,
    "-out",
    cert,
    "-days",
    "2",
    "-subj",
    `/CN=${cn}`,
    "-addext",
    "subjectAltName=IP:127.0.0.1",
  ], { encoding: "utf8" });
  assert.equal(r.status, 0, `openssl (Debian package openssl) makes a certificate: ${r.stderr}${r.error ?? ""}`);
  return { cert, key };
}

/** `curl` with `args`: exit code and body. */
function curl(args: string[]): { status: number | null; body: string } {
  const r = spawnSync("curl", ["-sS", "--max-time", "10", ...args], { encoding: "utf8" });
  assert.equal(r.error, undefined, "curl (Debian package curl) must be installed");
  return { status: r.status, body: r.stdout + r.stderr };
}

/** The subject common name the server presents now. */
function presented(port: number, ca: string): string {
  const r = curl(["-v", "--cacert", ca, `https://127.0.0.1:${port}/healthz`, "-o", "/dev/null"]);
  return /subject: CN=(\S+)/.exec(r.body)?.[1] ?? `(none: ${r.body.slice(0, 300)})`;
}

async function waitFor(get: () => string, re: RegExp, what: string): Promise<RegExpExecArray> {
  const until = Date.now() + 20_000;
  while (Date.now() < until) {
    const m = re.exec(get());
    if (m) return m;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`timed out waiting for ${what}:\n${get()}`);
}

test("HTTPS with the runtime's TLS: curl, the CLI, a SIGHUP reload, a bad certificate keeps the old", async () => {
  requireBinary();
  await withTempDir(async (dir) => {
    const a = certificate(dir, "first.test");
    const b = certificate(dir, "second.test");
    const cert = path.join(dir, "server.crt"), key = path.join(dir, "server.key");
    fs.copyFileSync(a.cert, cert);
    fs.copyFileSync(a.key, key);
    const config = path.join(dir, "storage.yaml");
    fs.writeFileSync(config, `server:\n  tls:\n    cert_file: ${cert}\n    key_file: ${key}\n`);
    const data = path.join(dir, "data");
    const env = { STALKER_STORAGE_TOKEN: "tok" };
    const proc: ChildProcess = spawn(
      BINARY,
      ["serve", "--config", config, "--data-dir", data, "--listen", "127.0.0.1:0"],
      { env, stdio: ["ignore", "ignore", "pipe"] },
    );
    let log = "";
    proc.stderr!.on("data", (c: Uint8Array) => (log += new TextDecoder().decode(c)));
    const exited = new Promise<number | string>((r) => proc.on("exit", (code, sig) => r(code ?? sig ?? -1)));
    try {
      const port = Number((await waitFor(() => log, /listening .*url=https:\/\/127\.0\.0\.1:(\d+)/, "listening"))[1]);
      await waitFor(() => log, /storage ready/, "ready");
      const base = `https://127.0.0.1:${port}`;

      const ingest = curl([
        "--cacert",
        a.cert,
        `${base}/api/v1/ingest`,
        "-H",
        "authorization: Bearer tok",
        "-H",
        "content-type: application/json",
        "-d",
        '[{"namespace":"tls","target":"r1","poller":"cpu","value":7}]',
      ]);
      assert.equal(ingest.status, 0, ingest.body);
      assert.match(ingest.body, /"accepted":1/);
      assert.notEqual(curl([`http://127.0.0.1:${port}/healthz`]).status, 0, "no plain HTTP on the TLS port");
      assert.equal(curl([`${base}/healthz`]).status, 60, "an unknown self-signed certificate is refused by default");
      assert.equal(presented(port, a.cert), "first.test");

      // the CLI finds the server through the lock file and trusts server.tls.cert_file
      const series = runBinary(["series", "--config", config, "--data-dir", data, "--format", "csv"], { env });
      assert.equal(series.status, 0, series.stderr);
      assert.match(series.stdout, /^tls,r1,cpu,/m);

      // a new certificate and key in place, SIGHUP: new connections get it
      fs.copyFileSync(b.cert, cert);
      fs.copyFileSync(b.key, key);
      process.kill(proc.pid!, "SIGHUP");
      await waitFor(() => log, /TLS certificate reloaded/, "the reload");
      assert.equal(presented(port, b.cert), "second.test");
      assert.equal(curl(["--cacert", a.cert, `${base}/healthz`]).status, 60, "the old certificate is gone");

      // a certificate whose key does not match, then a file that is not PEM: the server keeps the good one
      fs.copyFileSync(a.cert, cert);
      process.kill(proc.pid!, "SIGHUP");
      await waitFor(() => log, /not reloaded.*KEY_VALUES_MISMATCH|not reloaded.*key/i, "the refused reload");
      fs.writeFileSync(cert, "not a certificate\n");
      process.kill(proc.pid!, "SIGHUP");
      await waitFor(() => log, /not reloaded.*not a PEM file/, "the refused reload");
      assert.equal(presented(port, b.cert), "second.test");
      const after = curl(["--cacert", b.cert, `${base}/api/v1/series`, "-H", "authorization: Bearer tok"]);
      assert.equal(after.status, 0, after.body);
      assert.match(after.body, /"target":"r1"/);
    } finally {
      process.kill(proc.pid!, "SIGTERM"); // (ChildProcess.kill makes Deno report the signal, not the exit code)
    }
    assert.equal(await exited, 0, log);
  });
});

test("TLS mistakes: one key without the other, an unreadable file, a key of another certificate", async () => {
  await withTempDir((dir) => {
    const a = certificate(dir, "a.test");
    const b = certificate(dir, "b.test");
    const conf = (text: string) => {
      const f = path.join(dir, `c${Math.random()}.yaml`);
      fs.writeFileSync(f, text);
      return f;
    };
    const half = runBinary(["config", "check", conf(`server:\n  tls:\n    cert_file: ${a.cert}\n`)]);
    assert.equal(half.status, 1);
    assert.match(half.stderr, /server\.tls: cert_file and key_file go together/);
    const data = path.join(dir, "d");
    const missing = runBinary([
      "serve",
      "--data-dir",
      data,
      "--listen",
      "127.0.0.1:0",
      "--config",
      conf(`server:\n  tls:\n    cert_file: ${dir}/nope.crt\n    key_file: ${a.key}\n`),
    ]);
    assert.equal(missing.status, 1);
    assert.match(missing.stderr, /^serve: cannot read server\.tls\.cert_file .*nope\.crt \(ENOENT\)/);
    const mismatch = runBinary([
      "serve",
      "--data-dir",
      data,
      "--listen",
      "127.0.0.1:0",
      "--config",
      conf(`server:\n  tls:\n    cert_file: ${a.cert}\n    key_file: ${b.key}\n`),
    ]);
    assert.equal(mismatch.status, 1);
    assert.match(mismatch.stderr, /^serve: cannot use server\.tls\.cert_file .* with key_file .*KEY_VALUES_MISMATCH/);
    assert.ok(mismatch.stderr.trimEnd().split("\n").length <= 2, mismatch.stderr);
    return Promise.resolve();
  });
});
