/**
 * The CLI's answers to common mistakes on the compiled binary: one or two lines naming the flag or
 * setting and the fix, no stack trace (only under `--debug`), the documented exit codes.
 */
import test from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import path from "node:path";
import { BINARY, withTempDir } from "../helpers.ts";
import { requireBinary, runBinary, startBinary } from "./binary.ts";

/** No JavaScript stack frame in `text`. */
function noStack(text: string): void {
  assert.doesNotMatch(text, /\n\s+at /, `a stack trace:\n${text}`);
  assert.doesNotMatch(text, /\$bunfs/, text);
}

/** At most two lines. */
function short(text: string): void {
  assert.ok(text.trimEnd().split("\n").length <= 2, `more than two lines:\n${text}`);
}

/** Runs the binary as user nobody (the tests run as root, whom no permission stops). */
function asNobody(args: string[], cwd: string) {
  requireBinary();
  const r = spawnSync("setpriv", ["--reuid=65534", "--regid=65534", "--clear-groups", BINARY, ...args], {
    cwd,
    env: {},
    encoding: "utf8",
    timeout: 60_000,
  });
  assert.equal(r.error, undefined, "setpriv (util-linux) runs the binary as nobody");
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

test("a port in use names --listen and server.listen; exit 4", async () => {
  await withTempDir(async (dir) => {
    const busy = net.createServer();
    await new Promise<void>((r) => busy.listen(0, "127.0.0.1", r));
    const port = (busy.address() as net.AddressInfo).port;
    try {
      const r = runBinary(["serve", "--data-dir", path.join(dir, "d"), "--listen", `127.0.0.1:${port}`]);
      assert.equal(r.status, 4, r.stderr);
      assert.match(r.stderr, new RegExp(`cannot listen on 127\\.0\\.0\\.1:${port}: the port ${port} is in use`));
      assert.match(r.stderr, /--listen HOST:PORT or server\.listen/);
      noStack(r.stderr);
      short(r.stderr);
      const debug = runBinary(["serve", "--data-dir", path.join(dir, "d"), "--listen", `127.0.0.1:${port}`, "--debug"]);
      assert.equal(debug.status, 4);
      assert.match(debug.stderr, /\n\s+at /, "--debug shows the stack");
    } finally {
      busy.close();
    }
  });
});

test("an unwritable data directory names the user, --data-dir and data_dir; exit 1", async () => {
  await withTempDir((dir) => {
    fs.chmodSync(dir, 0o755);
    const locked = path.join(dir, "locked");
    fs.mkdirSync(locked, { mode: 0o555 });
    fs.chmodSync(locked, 0o555);
    const r = asNobody(["serve", "--data-dir", path.join(locked, "data"), "--listen", "127.0.0.1:0"], dir);
    assert.equal(r.status, 1, r.stderr);
    assert.match(r.stderr, /cannot write .*locked\/data \(EACCES, mkdir\) as user \S+ \(uid 65534\)/);
    assert.match(r.stderr, /--data-dir DIR \(data_dir/);
    noStack(r.stderr);
    short(r.stderr);
    return Promise.resolve();
  });
});

test("install-systemd without root says so; exit 3", async () => {
  await withTempDir((dir) => {
    fs.chmodSync(dir, 0o755);
    const r = asNobody(["install-systemd"], dir);
    assert.equal(r.status, 3, r.stderr);
    assert.match(r.stderr, /install-systemd: needs root .* you are \S+ \(uid 65534\)/);
    assert.match(r.stderr, /sudo.*--dry-run/);
    noStack(r.stderr);
    short(r.stderr);
    return Promise.resolve();
  });
});

test("query mistakes, SQL errors and a refused token: one line each, the right exit code", async () => {
  await withTempDir(async (dir) => {
    const data = path.join(dir, "d");
    const bin = await startBinary(["--data-dir", data], { env: { STALKER_STORAGE_TOKEN: "s3cret" } });
    try {
      const ingest = await fetch(`${bin.url}/api/v1/ingest`, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: "Bearer s3cret" },
        body: JSON.stringify([{ namespace: "prod", target: "r1", poller: "cpu", value: 1.5 }]),
      });
      assert.equal(ingest.status, 200, await ingest.text());
      const token = { STALKER_STORAGE_TOKEN: "s3cret" };

      // the README's form: a relative time after a space
      const q = runBinary(["query", "--data-dir", data, "--namespace", "prod", "--from", "-1h"], { env: token });
      assert.equal(q.status, 0, q.stderr);
      assert.match(q.stdout, /prod \/ r1 \/ cpu/);
      const negLimit = runBinary(["query", "--data-dir", data, "--namespace", "prod", "--limit", "-5"], { env: token });
      assert.equal(negLimit.status, 2, negLimit.stderr);
      assert.match(negLimit.stderr, /^query: --limit must be a positive integer, got "-5"$/m);

      const noNs = runBinary(["query", "--data-dir", data, "--target", "r1"], { env: token });
      assert.equal(noNs.status, 2);
      assert.match(noNs.stderr, /^query: --namespace is required/);
      noStack(noNs.stderr);
      short(noNs.stderr);

      const sql = runBinary(["sql", "--data-dir", data, "SELEC 1"], { env: token });
      assert.equal(sql.status, 1);
      assert.match(sql.stderr, /^sql: the server answered 400: .*SELEC/);
      noStack(sql.stderr);
      short(sql.stderr);
      const binder = runBinary(["sql", "--data-dir", data, "SELECT now() - INTERVAL 1 DAY"], { env: token });
      assert.equal(binder.status, 1);
      short(binder.stderr); // DuckDB's list of candidate functions only under --debug
      assert.match(binder.stderr, /--debug shows the whole message/);

      const denied = runBinary(["series", "--data-dir", data], { env: { STALKER_STORAGE_TOKEN: "wrong" } });
      assert.equal(denied.status, 3, denied.stderr);
      assert.match(denied.stderr, /refused the token \(401/);
      assert.match(denied.stderr, /--token TOKEN, --token-file FILE, the STALKER_STORAGE_TOKEN environment variable/);
      noStack(denied.stderr);
      short(denied.stderr);
      const flag = runBinary(["series", "--data-dir", data, "--token", "s3cret", "--format", "csv"]);
      assert.equal(flag.status, 0, flag.stderr);
      assert.doesNotMatch(flag.stdout, /undefined/);
      assert.match(flag.stdout, /^prod,r1,cpu,[^,]+,gauge,1\.5,true,$/m, "no error: an empty field");

      const gone = runBinary(["series", "--server", "http://127.0.0.1:1"]);
      assert.equal(gone.status, 4);
      assert.match(gone.stderr, /cannot reach the server at http:\/\/127\.0\.0\.1:1 .*--server URL/);
      short(gone.stderr);
    } finally {
      assert.equal(await bin.stop(), 0);
    }
  });
});
