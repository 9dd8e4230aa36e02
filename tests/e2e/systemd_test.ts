/**
 * The systemd lifecycle on the compiled binary, into a `--root` directory: install → upgrade while the
 * installed binary runs → uninstall → uninstall --purge; and the unit's `systemd-analyze security`
 * exposure (Debian's `systemd` package; `--offline=true` needs no running systemd).
 */
import test from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { BINARY, withTempDir } from "../helpers.ts";
import { runBinary, startBinary } from "./binary.ts";

const UNIT = "etc/systemd/system/stalker-storage.service";

function ok(r: { status: number | null; stdout: string; stderr: string }): string {
  assert.equal(r.status, 0, `${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

/** The exposure score `systemd-analyze security --offline=true` gives `unit`. */
function exposure(unit: string): number {
  const r = spawnSync("systemd-analyze", ["security", "--offline=true", "--no-pager", unit], { encoding: "utf8" });
  assert.equal(r.error, undefined, "systemd-analyze (Debian package systemd) must be installed");
  const m = /Overall exposure level for \S+: (\d+(?:\.\d+)?)/.exec(r.stdout + r.stderr);
  assert.ok(m, `no exposure level in:\n${r.stdout}\n${r.stderr}`);
  return Number(m[1]);
}

test("install-systemd honours --config, its WAL and snapshot dirs, --data-dir and --listen, and writes a 0600 token file", async () => {
  await withTempDir((dir) => {
    const root = path.join(dir, "root");
    const cfg = path.join(dir, "mine.yaml");
    fs.writeFileSync(
      cfg,
      "# my settings\ningestion:\n  wal:\n    dir: /srv/wal-disk/stalker\nserver:\n  snapshot_dir: /srv/backup/stalker\n",
    );
    const out = ok(runBinary([
      "install-systemd",
      "--root",
      root,
      "--no-start",
      "--config",
      cfg,
      "--data-dir",
      "/srv/data/stalker",
      "--listen",
      "0.0.0.0:7400",
    ]));
    // --root reports only what it did: no user, no ownership, no systemctl
    assert.doesNotMatch(out, /owner|owned|user|systemctl/i, out);
    assert.match(out, /created the data directory .*\/srv\/data\/stalker \(mode 0750\)/);
    assert.match(out, /created the WAL directory .*\/srv\/wal-disk\/stalker \(mode 0750\)/);
    assert.match(out, /created the snapshot directory .*\/srv\/backup\/stalker \(mode 0750\)/);
    const unit = fs.readFileSync(path.join(root, UNIT), "utf8");
    assert.match(unit, /^ReadWritePaths=\/srv\/data\/stalker \/srv\/wal-disk\/stalker \/srv\/backup\/stalker$/m);
    assert.match(unit, /^EnvironmentFile=-\/etc\/stalker-storage\/stalker-storage\.env$/m);
    assert.match(
      unit,
      /^ExecStart=\/usr\/local\/bin\/stalker-storage serve --config \/etc\/stalker-storage\/storage\.yaml$/m,
    );
    assert.doesNotMatch(unit, /IPAddressDeny/, "a non-loopback listen address is reachable");
    const installed = fs.readFileSync(path.join(root, "etc/stalker-storage/storage.yaml"), "utf8");
    assert.match(installed, /^# my settings$/m, "the operator's file, comments kept");
    assert.match(installed, /^data_dir: \/srv\/data\/stalker$/m);
    assert.match(installed, /listen: 0\.0\.0\.0:7400/);
    assert.match(installed, /dir: \/srv\/wal-disk\/stalker/);
    const env = path.join(root, "etc/stalker-storage/stalker-storage.env");
    assert.equal(fs.statSync(env).mode & 0o777, 0o600);
    assert.match(fs.readFileSync(env, "utf8"), /^STALKER_STORAGE_TOKEN=[0-9a-f]{48}$/m, "generated: non-loopback");
    assert.match(out, /with a generated token/);
    assert.ok(exposure(path.join(root, UNIT)) <= 2.0, "systemd-analyze security exposure ≤ 2.0");
    const generated = fs.readFileSync(env, "utf8");
    ok(runBinary(["install-systemd", "--root", root, "--no-start"]));
    assert.equal(fs.readFileSync(env, "utf8"), generated, "an upgrade keeps the token");
    assert.equal(fs.statSync(path.join(root, "etc/stalker-storage/storage.yaml")).mode & 0o777, 0o640);
    // a given token replaces it
    ok(runBinary(["install-systemd", "--root", root, "--no-start", "--token", "abc123"]));
    assert.match(fs.readFileSync(env, "utf8"), /^STALKER_STORAGE_TOKEN=abc123$/m);
    assert.equal(fs.statSync(env).mode & 0o777, 0o600);
    // --purge deletes the data and the WAL, keeps the snapshots (backups) outside the data directory
    fs.writeFileSync(path.join(root, "srv/backup/stalker/keep"), "x");
    const purged = ok(runBinary(["uninstall-systemd", "--root", root, "--purge"]));
    assert.match(purged, /kept the snapshots in \S+\/srv\/backup\/stalker \(server\.snapshot_dir\)/);
    assert.ok(fs.existsSync(path.join(root, "srv/backup/stalker/keep")));
    assert.ok(!fs.existsSync(path.join(root, "srv/data/stalker")));
    assert.ok(!fs.existsSync(path.join(root, "srv/wal-disk/stalker")));
    // a relative data_dir or snapshot_dir cannot serve a unit; nothing is written
    const bad = runBinary(["install-systemd", "--root", path.join(dir, "r2"), "--data-dir", "x", "--no-start"]);
    assert.equal(bad.status, 0, "--data-dir is made absolute");
    const rel = path.join(dir, "rel.yaml");
    fs.writeFileSync(rel, "data_dir: ./here\n");
    const r3 = runBinary(["install-systemd", "--root", path.join(dir, "r3"), "--config", rel, "--no-start"]);
    assert.equal(r3.status, 2);
    assert.match(r3.stderr, /absolute data_dir/);
    assert.ok(!fs.existsSync(path.join(dir, "r3")), "nothing written");
    fs.writeFileSync(rel, "data_dir: /srv/x\nserver:\n  snapshot_dir: snaps\n");
    const r4 = runBinary(["install-systemd", "--root", path.join(dir, "r4"), "--config", rel, "--no-start"]);
    assert.equal(r4.status, 2);
    assert.match(r4.stderr, /absolute server\.snapshot_dir, got "snaps"/);
    assert.ok(!fs.existsSync(path.join(dir, "r4")), "nothing written");
    return Promise.resolve();
  });
});

test("install → upgrade while the installed binary runs → uninstall → uninstall --purge, data untouched", async () => {
  await withTempDir(async (dir) => {
    const root = path.join(dir, "root");
    const data = path.join(dir, "data");
    ok(runBinary(["install-systemd", "--root", root, "--no-start", "--data-dir", data]));
    const bin = path.join(root, "usr/local/bin/stalker-storage");
    assert.equal(fs.statSync(bin).mode & 0o777, 0o755);
    const unit = fs.readFileSync(path.join(root, UNIT), "utf8");
    assert.match(unit, /^IPAddressDeny=any$/m, "loopback listen: no other host");
    assert.ok(exposure(path.join(root, UNIT)) <= 2.0, "systemd-analyze security exposure ≤ 2.0");
    assert.equal(
      fs.readFileSync(path.join(root, "etc/stalker-storage/stalker-storage.env"), "utf8").includes(
        "# STALKER_STORAGE_TOKEN=",
      ),
      true,
      "loopback: no token unless given",
    );

    // the installed binary runs (as systemd would run it); its data gets a sample
    const running = await startBinary(["--data-dir", path.join(root, data)], { binary: bin });
    try {
      const res = await fetch(`${running.url}/api/v1/ingest`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify([{ namespace: "n", target: "t", poller: "p", value: 1 }]),
      });
      assert.equal(res.status, 200);
      const before = fs.statSync(bin).ino;
      const config = fs.readFileSync(path.join(root, "etc/stalker-storage/storage.yaml"), "utf8");
      const up = ok(runBinary(["install-systemd", "--root", root, "--no-start"]));
      assert.match(up, /replaced .*usr\/local\/bin\/stalker-storage/);
      assert.match(up, /kept .*storage\.yaml/);
      assert.match(up, /kept the data directory/);
      assert.match(up, /stalker-storage\.service is unchanged/);
      assert.notEqual(fs.statSync(bin).ino, before, "a new file renamed into place, not the running one rewritten");
      assert.deepEqual(fs.readFileSync(bin), fs.readFileSync(BINARY));
      assert.equal(fs.readFileSync(path.join(root, "etc/stalker-storage/storage.yaml"), "utf8"), config);
      assert.equal((await fetch(`${running.url}/healthz`)).status, 200, "the running server is undisturbed");
      assert.deepEqual(fs.readdirSync(path.dirname(bin)), ["stalker-storage"], "no temporary file left");
    } finally {
      assert.equal(await running.stop(), 0);
    }
    const files = fs.readdirSync(path.join(root, data)).sort();
    assert.ok(files.includes("MANIFEST.json") || files.includes("wal"), files.join(","));

    const un = ok(runBinary(["uninstall-systemd", "--root", root]));
    assert.match(un, /removed .*stalker-storage\.service/);
    assert.ok(!fs.existsSync(path.join(root, UNIT)));
    assert.ok(!fs.existsSync(bin));
    assert.ok(!fs.existsSync(path.join(root, "etc/stalker-storage/stalker-storage.env")));
    assert.ok(fs.existsSync(path.join(root, "etc/stalker-storage/storage.yaml")), "config kept");
    assert.deepEqual(fs.readdirSync(path.join(root, data)).sort(), files, "data kept");
    assert.match(un, /--purge deletes them/);

    // installed again (the kept config), then purged
    ok(runBinary(["install-systemd", "--root", root, "--no-start"]));
    const purge = ok(runBinary(["uninstall-systemd", "--root", root, "--purge"]));
    assert.match(purge, /deleted .*data/);
    assert.ok(!fs.existsSync(path.join(root, data)));
    assert.ok(!fs.existsSync(path.join(root, "etc/stalker-storage")));
    const again = runBinary(["uninstall-systemd", "--root", root]);
    assert.equal(again.status, 1);
    assert.match(again.stderr, /no service is installed/);
  });
});
