/**
 * The unit under a live systemd: this machine's PID 1 is not systemd, so the test boots Debian's systemd
 * as PID 1 of new PID, mount, network, UTS and IPC namespaces (`unshare`, as a container manager would),
 * then drives the real `install-systemd` (system user, /usr/local/bin, /etc, `systemctl`), the service
 * itself (curl on its loopback, the token from the EnvironmentFile, `systemd-analyze security` of the
 * loaded unit, the sandbox seen from inside the service), `systemctl reload`, a `kill -9` that
 * Restart=on-failure recovers from, an upgrade in place, the
 * backup and restore blocks of docs/operations.md as written, a stop and `uninstall-systemd --purge`.
 *
 * Nothing reaches the host: /etc, /var, /usr/local and /root are overlays on a tmpfs, /run and /tmp are fresh
 * tmpfs (the checkout bound back in where it is, when under /tmp), /proc/sys is read-only, the network namespace has only its own loopback, and the boot starts
 * only an empty target with the units that touch the kernel or the host's files masked (sysctl,
 * tmpfiles — whose boot run would empty the shared /tmp —, binfmt, modules, udev, kernel file systems).
 * What systemd leaves on the host's cgroup file system (empty init.scope, system.slice) is removed after.
 *
 * Needs root (namespaces, mounts), `unshare`/`nsenter` (util-linux), systemd and curl: without them it
 * fails, never skips.
 */
import test from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import process from "node:process";
import { BINARY, ROOT } from "../helpers.ts";
import { requireBinary } from "./binary.ts";

const TOKEN = "live-systemd-token";
const URL = "http://127.0.0.1:7400";

/** Runs inside the namespaces before systemd replaces it (see the module comment). */
const BOOT = String.raw`
set -eu
mount --make-rprivate /
mount -t tmpfs tmpfs /run
for d in etc var usr/local root; do
  mkdir -p "/run/stalker-ov/$d/upper" "/run/stalker-ov/$d/work"
  mount -t overlay overlay -o "lowerdir=/$d,upperdir=/run/stalker-ov/$d/upper,workdir=/run/stalker-ov/$d/work" "/$d"
done
# the checkout (its binary and docs) stays reachable when it lives under /tmp, which gets a fresh tmpfs
repo="$1"
mkdir -p /run/stalker-repo
mount --bind "$repo" /run/stalker-repo
mount -t tmpfs tmpfs /tmp
mkdir -p "$repo"
mount --bind /run/stalker-repo "$repo"
mount --rbind /proc/sys /proc/sys
mount -o remount,bind,ro /proc/sys
u=/etc/systemd/system
rm -rf "$u"/*.wants "$u"/*.service
for unit in kmod-static-nodes.service proc-sys-fs-binfmt_misc.automount proc-sys-fs-binfmt_misc.mount \
  dev-hugepages.mount dev-mqueue.mount sys-fs-fuse-connections.mount sys-kernel-config.mount sys-kernel-debug.mount \
  sys-kernel-tracing.mount systemd-binfmt.service systemd-firstboot.service systemd-machine-id-commit.service \
  systemd-modules-load.service systemd-pcrphase-sysinit.service systemd-pcrphase.service systemd-random-seed.service \
  systemd-repart.service systemd-sysctl.service systemd-tmpfiles-setup-dev.service systemd-tmpfiles-setup.service \
  systemd-tmpfiles-clean.timer systemd-tmpfiles-clean.service systemd-remount-fs.service systemd-udevd.service \
  systemd-udev-trigger.service systemd-hwdb-update.service systemd-timesyncd.service cryptsetup.target \
  integritysetup.target veritysetup.target systemd-journald-audit.socket; do
  ln -sf /dev/null "$u/$unit"
done
printf '[Unit]\nDescription=stalker-storage live systemd test\n' > "$u/stalker-test.target"
exec env container=stalker-test /lib/systemd/systemd --system --unit=stalker-test.target
`;

/**
 * The shell blocks of docs/operations.md for a box installed by install-systemd (every line a `sudo`
 * command, one naming /etc/stalker-storage/): the backup and the restore.
 */
function installedBoxBlocks(): { snapshot: string[]; restore: string[] } {
  const text = fs.readFileSync(path.join(ROOT, "docs/operations.md"), "utf8");
  const blocks = [...text.matchAll(/^```sh\n([\s\S]*?)^```/gm)].map((m) => m[1].trim().split("\n"))
    .filter((b) => b.every((l) => l.startsWith("sudo ")) && b.some((l) => l.includes("/etc/stalker-storage/")));
  const snapshot = blocks.find((b) => b.some((l) => / snapshot /.test(l)));
  const restore = blocks.find((b) => b.some((l) => / restore /.test(l)));
  assert.ok(snapshot && restore, `docs/operations.md: no backup or restore block for an installed box`);
  return { snapshot, restore };
}

/** Stands in for sudo where it is not installed (this test runs as root): `sudo -u USER` is runuser. */
const SUDO_SHIM = `#!/bin/sh
if [ "$1" = "-u" ]; then u="$2"; shift 2; exec runuser -u "$u" -- "$@"; fi
exec "$@"
`;

/** The cgroup directories systemd makes at the root of each hierarchy it finds (removed after, when new). */
const CGROUP_DIRS = ["init.scope", "system.slice", "user.slice", "machine.slice"];

function cgroupDirs(): string[] {
  const out: string[] = [];
  for (const h of fs.readdirSync("/sys/fs/cgroup")) {
    for (const d of CGROUP_DIRS) {
      const p = `/sys/fs/cgroup/${h}/${d}`;
      if (fs.existsSync(p)) out.push(p);
    }
  }
  return out;
}

/** Removes a cgroup directory tree, deepest first (a cgroup directory goes with rmdir once empty). */
function removeCgroup(dir: string): void {
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    if (e.isDirectory()) removeCgroup(`${dir}/${e.name}`);
  }
  fs.rmdirSync(dir);
}

async function until<T>(what: string, ms: number, probe: () => T | null): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = probe();
    if (v !== null) return v;
    if (Date.now() > end) throw new Error(`${what}: not within ${ms / 1000} s`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
}

test("live systemd: install-systemd → the hardened service runs → reload → kill -9 → upgrade → the documented backup and restore → stop → uninstall --purge", async () => {
  requireBinary();
  assert.equal(process.getuid?.(), 0, "needs root: it boots systemd in its own PID, mount and network namespaces");
  const before = new Set(cgroupDirs());
  // what the namespace's commands write, which must not appear on the host
  const hostPaths = [
    "/etc/stalker-storage",
    "/etc/systemd/system/stalker-storage.service",
    "/usr/local/bin/stalker-storage",
    "/var/lib/stalker-storage",
    "/var/lib/stalker-storage.old",
    "/root/stalker-nightly.tar.gz",
  ].filter((p) => !fs.existsSync(p));
  const boot = spawn("unshare", [
    // if unshare dies, the kernel kills systemd (PR_SET_PDEATHSIG)
    "--kill-child",
    "--fork",
    "--pid",
    "--mount",
    "--net",
    "--uts",
    "--ipc",
    "--mount-proc",
    "sh",
    "-c",
    BOOT,
    "boot",
    ROOT,
  ], {
    stdio: ["ignore", "ignore", "pipe"],
  });
  let bootLog = "";
  boot.stderr.on("data", (c) => (bootLog += c));
  const bootExited = new Promise((r) => boot.on("exit", r));
  let pid1 = 0;
  try {
    assert.ok(boot.pid, "unshare (util-linux) must be installed");
    pid1 = await until("systemd as PID 1 of the namespace", 10_000, () => {
      const kids = fs.readFileSync(`/proc/${boot.pid}/task/${boot.pid}/children`, "utf8").trim();
      if (kids === "") return null;
      const pid = Number(kids.split(/\s+/)[0]);
      return fs.readFileSync(`/proc/${pid}/comm`, "utf8").trim() === "systemd" ? pid : null;
    });
    const ns = (cmd: string[], input?: string): Run => {
      const r = spawnSync("nsenter", ["-t", String(pid1), "-m", "-p", "-n", "-u", "-i", "--", ...cmd], {
        encoding: "utf8",
        input,
        timeout: 60_000,
        env: { ...process.env, PATH: "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" },
      });
      return { status: r.status, stdout: r.stdout ?? "", stderr: r.stderr ?? "" };
    };
    const ok = (cmd: string[], input?: string): string => {
      const r = ns(cmd, input);
      assert.equal(r.status, 0, `${cmd.join(" ")}:\n${r.stdout}\n${r.stderr}`);
      return r.stdout;
    };
    const show = (prop: string) => ok(["systemctl", "show", "-p", prop, "--value", "stalker-storage"]).trim();
    const curl = (path: string, ...args: string[]) =>
      ns(["curl", "-s", "-o", "/dev/stderr", "-w", "%{http_code}", ...args, `${URL}${path}`]);
    await until("systemd up", 20_000, () => {
      const s = ns(["systemctl", "is-system-running"]).stdout.trim();
      return s === "running" || s === "degraded" ? s : null;
    });

    const installed = ok([BINARY, "install-systemd", "--listen", "127.0.0.1:7400", "--token", TOKEN]);
    assert.match(installed, /created system user stalker/);
    assert.match(installed, /enabled and started stalker-storage/);
    assert.equal(ns(["systemctl", "is-enabled", "stalker-storage"]).stdout.trim(), "enabled");
    await until("readyz", 30_000, () => (curl("/readyz").stdout === "200" ? true : null));
    const mainPid = show("MainPID");
    assert.equal(ok(["stat", "-c", "%U", `/proc/${mainPid}`]).trim(), "stalker", "runs as the system user");

    // the loaded unit's score (live, not --offline), and its sandbox seen from inside the service
    const security = ns(["systemd-analyze", "security", "--no-pager", "stalker-storage"]);
    const exposure = /Overall exposure level for stalker-storage\.service: (\d+(?:\.\d+)?)/.exec(security.stdout);
    assert.ok(exposure, security.stdout + security.stderr);
    assert.ok(Number(exposure[1]) <= 2.0, `exposure ${exposure[1]}`);
    const inside = (script: string) => ns(["nsenter", "-t", mainPid, "-m", "--", "sh", "-c", script]);
    assert.equal(inside("touch /var/lib/stalker-storage/.probe && rm /var/lib/stalker-storage/.probe").status, 0);
    // ProtectSystem=strict, ReadWritePaths= the data directory only, ProtectHome=yes
    for (const dir of ["/etc", "/usr/local/bin", "/var/lib", "/root"]) {
      const w = inside(`touch ${dir}/.stalker-probe`);
      assert.notEqual(w.status, 0, `the service can write ${dir}`);
    }

    // the token comes from the EnvironmentFile: refused without it
    assert.equal(curl("/api/v1/series").stdout, "401");
    const ingest = (value: number) => {
      const body = JSON.stringify([{ namespace: "live", target: "box", poller: "cpu", value }]);
      const auth = `authorization: Bearer ${TOKEN}`;
      const r = curl("/api/v1/ingest", "-H", auth, "-H", "content-type: application/json", "--data-binary", body);
      assert.equal(r.stdout, "200", r.stderr);
    };
    ingest(42);
    const has = (value: number) => {
      const q = curl("/api/v1/query?namespace=live&tier=raw&from=-1h", "-H", `authorization: Bearer ${TOKEN}`);
      assert.equal(q.stdout, "200", q.stderr);
      return new RegExp(`"value":${value}\\b`).test(q.stderr);
    };
    assert.ok(has(42), "the sample is stored");

    // systemctl reload: SIGHUP, the process stays
    ok(["systemctl", "reload", "stalker-storage"]);
    await until(
      "SIGHUP logged",
      10_000,
      () => /SIGHUP: nothing to reload/.test(ok(["journalctl", "-u", "stalker-storage", "--no-pager"])) ? true : null,
    );
    assert.equal(show("MainPID"), mainPid, "reload keeps the process");

    // a crash (kill -9): Restart=on-failure brings it back, the WAL replay keeps the acknowledged sample
    ok(["kill", "-9", mainPid]);
    const restartedPid = await until("restarted after kill -9", 30_000, () => {
      const pid = show("MainPID");
      return pid !== "0" && pid !== mainPid &&
          ns(["systemctl", "is-active", "stalker-storage"]).stdout.trim() === "active"
        ? pid
        : null;
    });
    assert.equal(show("NRestarts"), "1");
    await until("readyz after the crash", 30_000, () => (curl("/readyz").stdout === "200" ? true : null));
    assert.ok(has(42), "the sample survives kill -9");

    // upgrade in place: the binary replaced, the service restarted on it, the data kept
    const upgraded = ok([BINARY, "install-systemd"]);
    assert.match(upgraded, /replaced \/usr\/local\/bin\/stalker-storage/);
    assert.match(upgraded, /restarted stalker-storage/);
    assert.notEqual(show("MainPID"), restartedPid, "a new process");
    await until("readyz after the upgrade", 30_000, () => (curl("/readyz").stdout === "200" ? true : null));
    assert.ok(has(42), "the sample survives the upgrade");

    // backup and restore as docs/operations.md writes them, line by line
    const docs = installedBoxBlocks();
    if (ns(["sh", "-c", "command -v sudo"]).status !== 0) {
      ok(["sh", "-c", `cat > /usr/local/bin/sudo && chmod 0755 /usr/local/bin/sudo`], SUDO_SHIM);
    }
    const runDocs = (lines: string[]) => {
      for (const line of lines) {
        const r = ns(["sh", "-c", line]);
        assert.equal(r.status, 0, `docs/operations.md: ${line}\n${r.stdout}\n${r.stderr}`);
      }
    };
    runDocs(docs.snapshot);
    assert.equal(ns(["test", "-s", "/root/stalker-nightly.tar.gz"]).status, 0, "the backup tarball");
    ingest(43);
    assert.ok(has(43));
    runDocs(docs.restore);
    await until("readyz after the restore", 30_000, () => (curl("/readyz").stdout === "200" ? true : null));
    assert.ok(has(42), "the restored service holds the sample taken before the backup");
    assert.ok(!has(43), "and not the one sent after it");

    // stop: SIGTERM, the final flush, exit 0 within TimeoutStopSec
    ok(["systemctl", "stop", "stalker-storage"]);
    assert.equal(show("Result"), "success");
    assert.equal(show("ExecMainStatus"), "0");
    assert.match(ok(["journalctl", "-u", "stalker-storage", "--no-pager"]), /storage stopped/);

    const purged = ok([BINARY, "uninstall-systemd", "--purge"]);
    assert.match(purged, /deleted the system user stalker/);
    assert.notEqual(ns(["id", "stalker"]).status, 0);
    assert.notEqual(ns(["test", "-e", "/var/lib/stalker-storage"]).status, 0, "the data directory is gone");
    assert.match(ns(["systemctl", "is-enabled", "stalker-storage"]).stdout, /not-found|disabled|^$/);
  } catch (err) {
    throw new Error(`${(err as Error).message}\n--- boot ---\n${bootLog.slice(-2000)}`);
  } finally {
    // PID 1 of the namespace gone: the kernel kills everything in it; its mounts go with the namespace
    if (pid1) process.kill(pid1, "SIGKILL");
    else boot.kill("SIGKILL");
    await bootExited;
    for (const dir of cgroupDirs()) if (!before.has(dir)) removeCgroup(dir);
  }
  for (const p of hostPaths) assert.ok(!fs.existsSync(p), `${p} was written on the host`);
});
