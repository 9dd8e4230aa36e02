import test from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import process from "node:process";
import { BINARY, ROOT, withTempDir } from "../helpers.ts";
import { runBinary, startBinary } from "./binary.ts";
import { COMMANDS } from "../../src/cli/main.ts";

test("the compiled binary runs from another directory with an empty environment and no config", async () => {
  await withTempDir(async (dir) => {
    const copy = path.join(dir, "stalker-storage");
    fs.copyFileSync(BINARY, copy);
    fs.chmodSync(copy, 0o755);
    const bin = await startBinary([], { cwd: dir, env: {}, binary: copy });
    try {
      const health = await fetch(`${bin.url}/healthz`);
      assert.equal(health.status, 200);
      assert.deepEqual(await health.json(), { status: "ok" });

      const status = await (await fetch(`${bin.url}/api/v1/status`)).json();
      assert.equal(status.state, "ready");
      assert.equal(status.data_dir, "./stalker-data");

      const metrics = await fetch(`${bin.url}/metrics`);
      assert.equal(metrics.status, 200);
      assert.match(await metrics.text(), /^stalker_up 1$/m);
      assert.ok(fs.existsSync(path.join(dir, "stalker-data", "LOCK")), "data dir defaults to ./stalker-data");
    } finally {
      const code = await bin.stop("SIGTERM");
      assert.equal(code, 0, bin.stderr());
    }
    assert.match(bin.stderr(), /shutting down signal=SIGTERM/);
    assert.ok(!fs.existsSync(path.join(dir, "stalker-data", "LOCK")), "clean shutdown releases the lock");
  });
});

test("the binary exits cleanly on SIGINT too", async () => {
  await withTempDir(async (dir) => {
    const bin = await startBinary(["--data-dir", path.join(dir, "d")]);
    assert.equal((await fetch(`${bin.url}/healthz`)).status, 200);
    assert.equal(await bin.stop("SIGINT"), 0);
  });
});

test("a second server on the same data directory is refused before it listens", async () => {
  await withTempDir(async (dir) => {
    const bin = await startBinary(["--data-dir", dir]);
    try {
      await assert.rejects(
        startBinary(["--data-dir", dir]),
        /exited with 1 before listening:[\s\S]*in use by process \d+/,
      );
      assert.equal((await fetch(`${bin.url}/readyz`)).status, 200, "the first server is unaffected");
    } finally {
      await bin.stop();
    }
  });
});

test("a lock left by kill -9, or naming a live process that holds no lock (PID reuse), does not block start", async () => {
  await withTempDir(async (dir) => {
    const first = await startBinary(["--data-dir", dir]);
    assert.equal(await first.stop("SIGKILL"), "SIGKILL");
    assert.match(fs.readFileSync(path.join(dir, "LOCK"), "utf8"), new RegExp(`^${first.proc.pid}\n`));
    const second = await startBinary(["--data-dir", dir]);
    assert.equal(await second.stop(), 0, second.stderr());
    // after a reboot the PID in the file may belong to any process: here, this test's own
    fs.writeFileSync(path.join(dir, "LOCK"), `${process.pid}\nhttp://127.0.0.1:1\n`);
    const third = await startBinary(["--data-dir", dir]);
    assert.match(fs.readFileSync(path.join(dir, "LOCK"), "utf8"), new RegExp(`^${third.proc.pid}\nhttp://`));
    assert.equal(await third.stop(), 0, third.stderr());
  });
});

test("two servers racing for one data directory: exactly one serves, the other fails naming it", async () => {
  await withTempDir(async (dir) => {
    const results = await Promise.allSettled([startBinary(["--data-dir", dir]), startBinary(["--data-dir", dir])]);
    const up = results.filter((r) => r.status === "fulfilled").map((r) => r.value);
    const refused = results.filter((r) => r.status === "rejected").map((r) => String(r.reason));
    try {
      assert.equal(up.length, 1, refused.join("\n"));
      assert.equal(refused.length, 1);
      assert.match(
        refused[0],
        new RegExp(`exited with 1 before listening:[\\s\\S]*in use by process ${up[0].proc.pid} `),
      );
      assert.equal((await fetch(`${up[0].url}/readyz`)).status, 200);
    } finally {
      for (const bin of up) await bin.stop();
    }
  });
});

test("a CLI command run by another user than the server's (LOCK not writable for it) finds the server", async () => {
  await withTempDir(async (dir) => {
    fs.chmodSync(dir, 0o755);
    const data = path.join(dir, "d");
    const bin = await startBinary(["--data-dir", data]);
    try {
      const res = await fetch(`${bin.url}/api/v1/ingest`, {
        method: "POST",
        body: JSON.stringify([{ namespace: "n", target: "t", poller: "p", value: 1 }]),
        headers: { "content-type": "application/json" },
      });
      assert.equal(res.status, 200, await res.text());
      const args = ["series", "--data-dir", data, "--format", "json"];
      // root may write any file: then run the command as nobody in the data directory's group (the data
      // directory is 0750: operators share the service's group); any other user cannot write a 0444 file
      const r = process.getuid?.() === 0
        ? spawnSync(
          "setpriv",
          ["--reuid=65534", `--regid=${fs.statSync(data).gid}`, "--clear-groups", BINARY, ...args],
          {
            env: {},
            encoding: "utf8",
          },
        )
        : (fs.chmodSync(path.join(data, "LOCK"), 0o444), spawnSync(BINARY, args, { env: {}, encoding: "utf8" }));
      assert.equal(r.status, 0, r.stderr);
      assert.deepEqual(JSON.parse(r.stdout).map((s: { poller: string }) => s.poller), ["p"]);
    } finally {
      assert.equal(await bin.stop(), 0, bin.stderr());
    }
  });
});

test("stalker-storage version and --help", () => {
  const v = runBinary(["version"]);
  assert.equal(v.status, 0);
  assert.match(v.stdout, /^stalker-storage \d+\.\d+\.\d+\n$/);
  const help = runBinary(["--help"]);
  assert.equal(help.status, 0);
  for (const cmd of Object.keys(COMMANDS)) {
    assert.match(help.stdout, new RegExp(`\\n  ${cmd} `));
  }
});

test("every command has --help", () => {
  for (const cmd of Object.keys(COMMANDS)) {
    const r = runBinary([cmd, "--help"]);
    assert.equal(r.status, 0, `${cmd} --help: ${r.stderr}`);
    assert.match(r.stdout, /Usage: stalker-storage/);
  }
});

test("config check passes storage.example.yaml", () => {
  const r = runBinary(["config", "check", path.join(ROOT, "storage.example.yaml")]);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /: OK$/m);
});

test("config check reports all three mistakes of a bad file", async () => {
  await withTempDir((dir) => {
    const file = path.join(dir, "bad.yaml");
    fs.writeFileSync(file, "retention:\n  raw: forever\nserver:\n  listen: nowhere\nquery:\n  timeout: 5 minutes\n");
    const r = runBinary(["config", "check", file]);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /3 problem\(s\)/);
    assert.match(r.stderr, /retention\.raw: "forever" is not a duration/);
    assert.match(r.stderr, /query\.timeout: "5 minutes" is not a duration/);
    assert.match(r.stderr, /server\.listen: "nowhere" is not host:port/);
    return Promise.resolve();
  });
});

test("config print-default prints YAML that config check accepts", async () => {
  await withTempDir((dir) => {
    const r = runBinary(["config", "print-default"]);
    assert.equal(r.status, 0);
    const file = path.join(dir, "default.yaml");
    fs.writeFileSync(file, r.stdout);
    assert.equal(runBinary(["config", "check", file]).status, 0);
    return Promise.resolve();
  });
});

test("requirements prints RAM, disk per tier and CPU", () => {
  const r = runBinary(["requirements"]);
  assert.equal(r.status, 0, r.stderr);
  for (const word of ["RAM", "Disk", "CPU", "raw", "5min", "hourly", "daily", "weekly", "WAL"]) {
    assert.match(r.stdout, new RegExp(`\\b${word}\\b`));
  }
  const json = JSON.parse(runBinary(["requirements", "--json"]).stdout);
  assert.ok(json.ramTotalBytes > 0 && json.diskTotalBytes > 0 && json.cpuCores >= 1);
});

test("an unknown command or flag fails with usage", () => {
  const r = runBinary(["frobnicate"]);
  assert.equal(r.status, 2);
  assert.match(r.stderr, /Unknown command "frobnicate"/);
  const f = runBinary(["serve", "--bogus"]);
  assert.equal(f.status, 2);
  assert.match(f.stderr, /Unknown option '--bogus'/);
});

test("data files are 0640 and directories 0750 under the default umask: nothing is world-readable", async () => {
  const old = process.umask(0o022);
  try {
    await withTempDir(async (dir) => {
      const data = path.join(dir, "d");
      const bin = await startBinary(["--data-dir", data]);
      const samples = [];
      const t0 = Math.floor(Date.now() / 60_000) * 60_000 - 3_600_000;
      for (let m = 0; m < 30; m++) {
        samples.push({ namespace: "e2e", target: "r1", poller: "cpu", timestamp_ms: t0 + m * 60_000, value: m });
      }
      const res = await fetch(`${bin.url}/api/v1/ingest`, {
        method: "POST",
        body: JSON.stringify({ samples }),
        headers: { "content-type": "application/json" },
      });
      assert.equal(res.status, 200);
      assert.equal(await bin.stop("SIGTERM"), 0, bin.stderr()); // flushes: Parquet, snapshot, manifest
      const entries = [data, ...(fs.readdirSync(data, { recursive: true }) as string[]).map((n) => path.join(data, n))];
      assert.ok(entries.some((p) => p.endsWith(".parquet")) && entries.some((p) => p.endsWith(".wal")));
      for (const p of entries) {
        const st = fs.statSync(p);
        const want = st.isDirectory() ? 0o750 : 0o640;
        assert.equal((st.mode & 0o777).toString(8), want.toString(8), p);
      }
    });
  } finally {
    process.umask(old);
  }
});
