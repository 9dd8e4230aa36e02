/**
 * `install-systemd` and `uninstall-systemd`: stalker-storage as a hardened systemd service — a dedicated
 * system user, the binary, a configuration file, a token file, the data (and WAL) directories, and a
 * unit that can write only there. Installing again upgrades in place: the binary is replaced by rename
 * (a running binary is never written to), the configuration and data are kept, the service restarts.
 *
 * @module
 */
import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import process from "node:process";
import { parseDocument } from "yaml";
import { renderDefaultYaml } from "../config/example.ts";
import { isLoopback, loadConfigText, splitListen } from "../config/load.ts";
import type { Config } from "../config/schema.ts";
import type { Command } from "./args.ts";
import { CliError, EXIT, usageError, whoAmI } from "./errors.ts";

/** Where things go. */
export interface InstallPlan {
  user: string;
  binary: string;
  configFile: string;
  /** `STALKER_STORAGE_TOKEN=…`, mode 0600, read by systemd (root) before it drops to the user. */
  envFile: string;
  unitFile: string;
  dataDir: string;
  /** The WAL directory when it is outside the data directory, else "". */
  walDir: string;
  /** The snapshot directory (server.snapshot_dir) when it is outside the data directory, else "". */
  snapshotDir: string;
  listen: string;
}

const UNIT = "stalker-storage.service";
const DEFAULTS = {
  user: "stalker",
  binary: "/usr/local/bin/stalker-storage",
  configFile: "/etc/stalker-storage/storage.yaml",
  unitFile: `/etc/systemd/system/${UNIT}`,
};

/** The unit file for a plan. */
export function unitFile(p: InstallPlan): string {
  const { hostname } = splitListen(p.listen);
  const writable = [p.dataDir, p.walDir, p.snapshotDir].filter((d) => d !== "");
  return `[Unit]
Description=stalker-storage edge time-series collector
Documentation=https://github.com/stalker/stalker-storage/blob/main/docs/operations.md
After=network-online.target
Wants=network-online.target

[Service]
Type=simple
User=${p.user}
Group=${p.user}
ExecStart=${p.binary} serve --config ${p.configFile}
ExecReload=/bin/kill -HUP $MAINPID
# The bearer token (STALKER_STORAGE_TOKEN), mode 0600, kept out of the unit and the configuration.
EnvironmentFile=-${p.envFile}
Restart=on-failure
RestartSec=2s
# A clean shutdown flushes the buffers to Parquet; give it time.
TimeoutStopSec=120s
KillSignal=SIGTERM
LimitNOFILE=65536
# Memory: the process holds itself to server.memory_limit (512 MiB by default, docs/memory.md), refusing
# ingest with 429 before crossing it. The kernel's limits sit above it as a backstop; raise them together.
MemoryHigh=640M
MemoryMax=768M

# Hardening: the service can write only its data (and WAL) directory. systemd-analyze security: < 2.0.
NoNewPrivileges=yes
ProtectSystem=strict
ProtectHome=yes
PrivateTmp=yes
PrivateDevices=yes
PrivateMounts=yes
ProtectKernelTunables=yes
ProtectKernelModules=yes
ProtectKernelLogs=yes
ProtectControlGroups=yes
ProtectClock=yes
ProtectHostname=yes
ProtectProc=invisible
RemoveIPC=yes
RestrictSUIDSGID=yes
RestrictRealtime=yes
RestrictNamespaces=yes
LockPersonality=yes
RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX
${
    isLoopback(hostname)
      ? "# server.listen is a loopback address: no other host can reach or be reached.\nIPAddressAllow=localhost\nIPAddressDeny=any\n"
      : ""
  }CapabilityBoundingSet=
AmbientCapabilities=
SystemCallArchitectures=native
SystemCallFilter=@system-service
SystemCallErrorNumber=EPERM
UMask=0027
ReadWritePaths=${writable.join(" ")}
ReadOnlyPaths=${path.dirname(p.configFile)}

[Install]
WantedBy=multi-user.target
`;
}

const INSTALL_OPTIONS = {
  "dry-run": { type: "boolean" as const },
  user: { type: "string" as const },
  bin: { type: "string" as const },
  "config-file": { type: "string" as const },
  token: { type: "string" as const },
  root: { type: "string" as const },
  "no-start": { type: "boolean" as const },
};

/** The `install-systemd` command. */
export const installSystemdCommand: Command = {
  summary: "install or upgrade the hardened systemd service (user, binary, config, token file, unit)",
  usage: `stalker-storage install-systemd [--dry-run] [--config FILE] [--data-dir DIR] [--listen ADDR]
                                 [--token TOKEN] [--user stalker] [--bin /usr/local/bin/stalker-storage]
                                 [--config-file /etc/stalker-storage/storage.yaml] [--root DIR] [--no-start]

Creates the system user, installs this binary (replacing an installed one by rename, so a running
service is never disturbed), installs the configuration (--config FILE, else the installed one is kept,
else the defaults; --data-dir and --listen are written into it), writes the token file (mode 0600),
creates the data, WAL and snapshot directories of the configuration, writes the unit, then enables
and (re)starts the service. Installing again upgrades in place; the data is never touched.
The token: --token, else STALKER_STORAGE_TOKEN, else the installed token file; generated when none
exists and server.listen is not a loopback address.
--dry-run prints every step and the unit, changing nothing. --root DIR writes the files under DIR
(packaging): no user, no ownership, no systemctl.
`,
  options: INSTALL_OPTIONS,
  run({ values, io }) {
    const dry = Boolean(values["dry-run"]);
    const root = values.root as string | undefined;
    const at = (file: string) => (root ? path.join(root, file) : file);
    const configFile = (values["config-file"] as string) ?? DEFAULTS.configFile;
    if (!path.isAbsolute(configFile)) throw usageError(`--config-file must be an absolute path, got "${configFile}"`);
    if (!dry && root === undefined && process.getuid?.() !== 0) {
      throw new CliError(
        `needs root (it creates a system user, writes ${DEFAULTS.binary}, /etc and the unit, and runs systemctl); ` +
          `you are ${whoAmI()}.\nRun it with sudo, or see what it would do with --dry-run.`,
        EXIT.denied,
      );
    }
    const yaml = configText(values, at(configFile));
    const config = checkedConfig(yaml.text);
    const plan: InstallPlan = {
      user: (values.user as string) ?? DEFAULTS.user,
      binary: (values.bin as string) ?? DEFAULTS.binary,
      configFile,
      envFile: path.join(path.dirname(configFile), "stalker-storage.env"),
      unitFile: DEFAULTS.unitFile,
      dataDir: path.resolve("/", config.dataDir),
      walDir: outsideDataDir(config, config.ingestion.wal.dir),
      snapshotDir: outsideDataDir(config, config.server.snapshotDir),
      listen: config.server.listen,
    };
    if (!path.isAbsolute(config.dataDir)) {
      throw usageError(`the service needs an absolute data_dir, got "${config.dataDir}": give --data-dir DIR`);
    }
    for (
      const [key, dir] of [["ingestion.wal.dir", config.ingestion.wal.dir], [
        "server.snapshot_dir",
        config.server.snapshotDir,
      ]]
    ) {
      if (dir !== "" && !path.isAbsolute(dir)) throw usageError(`the service needs an absolute ${key}, got "${dir}"`);
    }
    const steps = installSteps(plan, yaml, config, values, { root, start: !values["no-start"] && !root });
    for (const step of steps) {
      if (dry) io.out(`would ${step.plan}\n`);
      else io.out(`${step.run()}\n`);
    }
    if (dry) io.out(`\n--- ${plan.unitFile} ---\n${unitFile(plan)}`);
    return Promise.resolve(EXIT.ok);
  },
};

/** The configuration to install: `--config FILE`, else the installed file, else the defaults; flags applied. */
function configText(
  values: Record<string, unknown>,
  installed: string,
): { text: string; source: string; changed: boolean } {
  const from = values.config as string | undefined;
  let text: string;
  let source: string;
  if (from !== undefined) {
    try {
      text = fs.readFileSync(from, "utf8");
    } catch (err) {
      throw new CliError(`cannot read --config ${from}: ${(err as Error).message}`);
    }
    source = from;
  } else if (fs.existsSync(installed)) {
    text = fs.readFileSync(installed, "utf8");
    source = "installed";
  } else {
    text = renderDefaultYaml().replace(/^data_dir: .*$/m, "data_dir: /var/lib/stalker-storage");
    source = "defaults";
  }
  const doc = parseDocument(text);
  let changed = from !== undefined || source === "defaults";
  if (values["data-dir"] !== undefined) {
    doc.setIn(["data_dir"], path.resolve(values["data-dir"] as string));
    changed = true;
  }
  if (values.listen !== undefined) {
    doc.setIn(["server", "listen"], values.listen);
    changed = true;
  }
  return { text: changed ? doc.toString() : text, source, changed };
}

/** The configuration as the service will read it (the token comes from the token file at run time). */
function checkedConfig(text: string): Config {
  return loadConfigText(text, { envToken: "(set in the token file)" });
}

/** `dir` (a directory of the configuration) when the unit must allow writing it besides the data directory, else "". */
function outsideDataDir(config: Config, dir: string): string {
  if (dir === "") return "";
  const abs = path.resolve("/", dir);
  const data = path.resolve("/", config.dataDir);
  return abs === data || abs.startsWith(data + "/") ? "" : abs;
}

interface Step {
  /** What it will do (for --dry-run). */
  plan: string;
  /** Does it; returns what it did. */
  run(): string;
}

function installSteps(
  p: InstallPlan,
  yaml: { text: string; source: string; changed: boolean },
  config: Config,
  values: Record<string, unknown>,
  { root, start }: { root: string | undefined; start: boolean },
): Step[] {
  const at = (file: string) => (root ? path.join(root, file) : file);
  const steps: Step[] = [];
  if (!root) {
    steps.push({
      plan: `create system user ${p.user} (useradd --system --no-create-home --shell /usr/sbin/nologin)`,
      run: () => {
        if (spawnSync("id", ["-u", p.user]).status === 0) return `system user ${p.user} exists`;
        exec("useradd", [
          "--system",
          "--no-create-home",
          "--home-dir",
          p.dataDir,
          "--shell",
          "/usr/sbin/nologin",
          p.user,
        ]);
        return `created system user ${p.user}`;
      },
    });
  }
  steps.push({
    plan: `install ${process.execPath} as ${at(p.binary)} (by rename: a running binary is not disturbed)`,
    run: () => {
      const target = at(p.binary);
      const existed = fs.existsSync(target);
      if (existed && sameFile(process.execPath, target)) return `${target} is this binary already`;
      fs.mkdirSync(path.dirname(target), { recursive: true });
      atomicCopy(process.execPath, target, 0o755);
      return existed ? `replaced ${target} with ${process.execPath}` : `installed ${process.execPath} as ${target}`;
    },
  });
  steps.push({
    plan: yaml.changed
      ? `write ${at(p.configFile)} (from ${yaml.source}) with data_dir ${p.dataDir}, server.listen ${p.listen}`
      : `keep ${at(p.configFile)} (data_dir ${p.dataDir}, server.listen ${p.listen})`,
    run: () => {
      if (!yaml.changed) return `kept ${at(p.configFile)}`;
      fs.mkdirSync(path.dirname(at(p.configFile)), { recursive: true, mode: 0o755 });
      atomicWrite(at(p.configFile), yaml.text, 0o640);
      if (!root) exec("chown", [`root:${p.user}`, p.configFile]);
      return `wrote ${at(p.configFile)} (from ${yaml.source}, mode 0640${root ? "" : `, group ${p.user}`})`;
    },
  });
  const given = (values.token as string | undefined) ?? process.env.STALKER_STORAGE_TOKEN;
  steps.push({
    plan: given !== undefined
      ? `write the token to ${at(p.envFile)} (mode 0600)`
      : `keep the token file ${at(p.envFile)}, or create it (mode 0600)${
        isLoopback(splitListen(p.listen).hostname) ? "" : " with a generated token"
      }`,
    run: () => {
      const file = at(p.envFile);
      fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o755 });
      const exists = fs.existsSync(file);
      const kept = exists ? /^STALKER_STORAGE_TOKEN=(.+)$/m.exec(fs.readFileSync(file, "utf8"))?.[1] ?? "" : "";
      const inConfig = Boolean(parseDocument(yaml.text).getIn(["server", "auth_token"]));
      const needed = !isLoopback(splitListen(p.listen).hostname) && !inConfig && !config.server.allowInsecure;
      if (given === undefined && exists && (kept !== "" || !needed)) {
        fs.chmodSync(file, 0o600);
        return `kept the token file ${file}`;
      }
      let token = given ?? "";
      let note = "";
      if (token === "" && needed) {
        token = randomBytes(24).toString("hex");
        note = " with a generated token (clients send Authorization: Bearer <it>)";
      }
      if (/[\n\r]/.test(token)) throw usageError("--token must be one line");
      atomicWrite(
        file,
        "# stalker-storage's bearer token (server.auth_token); read by systemd, mode 0600.\n" +
          (token === "" ? "# STALKER_STORAGE_TOKEN=\n" : `STALKER_STORAGE_TOKEN=${token}\n`),
        0o600,
      );
      return `wrote ${file} (mode 0600)${note}`;
    },
  });
  const dirs = [[p.dataDir, "data directory"], [p.walDir, "WAL directory"], [p.snapshotDir, "snapshot directory"]];
  for (const [dir, what] of dirs) {
    if (dir === "") continue;
    steps.push({
      plan: `create the ${what} ${at(dir)} (mode 0750${root ? "" : `, owner ${p.user}`}) unless it exists`,
      run: () => {
        const existed = fs.existsSync(at(dir));
        fs.mkdirSync(at(dir), { recursive: true, mode: 0o750 });
        if (root) return existed ? `kept the ${what} ${at(dir)}` : `created the ${what} ${at(dir)} (mode 0750)`;
        const owned = spawnSync("stat", ["-c", "%U", dir], { encoding: "utf8" }).stdout.trim() === p.user;
        if (!owned) exec("chown", ["-R", `${p.user}:${p.user}`, dir]);
        return `${existed ? "kept" : "created"} the ${what} ${dir}${owned ? "" : ` (now owned by ${p.user})`}`;
      },
    });
  }
  steps.push({
    plan: `write ${at(p.unitFile)}`,
    run: () => {
      const file = at(p.unitFile);
      const old = fs.existsSync(file) ? fs.readFileSync(file, "utf8") : null;
      fs.mkdirSync(path.dirname(file), { recursive: true });
      atomicWrite(file, unitFile(p), 0o644);
      return old === null ? `wrote ${file}` : old === unitFile(p) ? `${file} is unchanged` : `updated ${file}`;
    },
  });
  if (start) {
    steps.push({
      plan: "systemctl daemon-reload, enable stalker-storage, and restart it if it runs (else start it)",
      run: () => {
        exec("systemctl", ["daemon-reload"]);
        exec("systemctl", ["enable", UNIT]);
        const active = spawnSync("systemctl", ["is-active", "--quiet", UNIT]).status === 0;
        exec("systemctl", [active ? "restart" : "start", UNIT]);
        return active ? "restarted stalker-storage (it runs the new binary)" : "enabled and started stalker-storage";
      },
    });
  } else if (!root) {
    steps.push({
      plan: "systemctl daemon-reload and enable stalker-storage (--no-start: not started)",
      run: () => {
        exec("systemctl", ["daemon-reload"]);
        exec("systemctl", ["enable", UNIT]);
        return "enabled stalker-storage (not started: --no-start; a running one keeps the old binary until restarted)";
      },
    });
  }
  return steps;
}

/** The `uninstall-systemd` command. */
export const uninstallSystemdCommand: Command = {
  summary: "stop and remove the systemd service (--purge: also its configuration, data and user)",
  usage: `stalker-storage uninstall-systemd [--purge] [--dry-run] [--root DIR]

Stops and disables the service and removes the unit, the installed binary and the token file. The
configuration, the data and WAL directories and the user stay, unless --purge (which deletes every
stored sample, and the snapshots under the data directory; a server.snapshot_dir outside it is kept).
The paths are read from the installed unit.
`,
  options: { purge: { type: "boolean" }, "dry-run": { type: "boolean" }, root: { type: "string" } },
  run({ values, io }) {
    const dry = Boolean(values["dry-run"]);
    const root = values.root as string | undefined;
    const purge = Boolean(values.purge);
    const at = (file: string) => (root ? path.join(root, file) : file);
    if (!dry && root === undefined && process.getuid?.() !== 0) {
      throw new CliError(
        `needs root (it runs systemctl and removes files under /etc and /usr/local/bin); you are ${whoAmI()}.\n` +
          `Run it with sudo, or see what it would do with --dry-run.`,
        EXIT.denied,
      );
    }
    const unitPath = at(DEFAULTS.unitFile);
    if (!fs.existsSync(unitPath)) throw new CliError(`no service is installed: ${unitPath} does not exist`);
    const p = readUnit(fs.readFileSync(unitPath, "utf8"));
    // snapshots outside the data directory are backups: --purge leaves them
    const snapshots = purge ? installedSnapshotDir(at(p.configFile)) : "";
    const steps: Step[] = [];
    if (!root) {
      steps.push({
        plan: "systemctl disable --now stalker-storage",
        run: () => {
          exec("systemctl", ["disable", "--now", UNIT]);
          return "stopped and disabled stalker-storage";
        },
      });
    }
    const files = [DEFAULTS.unitFile, p.binary, p.envFile, ...(purge ? [p.configFile] : [])];
    for (const f of files) {
      steps.push({
        plan: `remove ${at(f)}`,
        run: () => (fs.rmSync(at(f), { force: true }), `removed ${at(f)}`),
      });
    }
    if (purge) {
      for (const dir of [path.dirname(p.configFile), ...p.writable.filter((d) => d !== snapshots)]) {
        steps.push({
          plan: `delete ${at(dir)}${p.writable.includes(dir) ? " and every sample in it" : " if empty"}`,
          run: () => {
            if (!fs.existsSync(at(dir))) return `${at(dir)} is already gone`;
            if (!p.writable.includes(dir)) {
              if (fs.readdirSync(at(dir)).length > 0) return `kept ${at(dir)}: it holds other files`;
              fs.rmdirSync(at(dir));
            } else fs.rmSync(at(dir), { recursive: true, force: true });
            return `deleted ${at(dir)}`;
          },
        });
      }
      if (!root) {
        steps.push({
          plan: `delete the system user ${p.user}`,
          run: () => {
            if (spawnSync("id", ["-u", p.user]).status !== 0) return `no user ${p.user}`;
            exec("userdel", [p.user]);
            return `deleted the system user ${p.user}`;
          },
        });
      }
    }
    if (!root) {
      steps.push({
        plan: "systemctl daemon-reload",
        run: () => (exec("systemctl", ["daemon-reload"]), "reloaded systemd"),
      });
    }
    for (const step of steps) io.out(dry ? `would ${step.plan}\n` : `${step.run()}\n`);
    if (!purge) {
      io.out(
        `${dry ? "would keep" : "kept"} ${at(p.configFile)} and the data in ${
          p.writable.map(at).join(", ")
        } (--purge deletes them, but for a server.snapshot_dir outside the data directory)\n`,
      );
    } else if (snapshots !== "" && p.writable.includes(snapshots)) {
      io.out(`${dry ? "would keep" : "kept"} the snapshots in ${at(snapshots)} (server.snapshot_dir)\n`);
    }
    return Promise.resolve(EXIT.ok);
  },
};

/** server.snapshot_dir of the installed configuration, "" when unset or unreadable. */
function installedSnapshotDir(configFile: string): string {
  try {
    const dir = checkedConfig(fs.readFileSync(configFile, "utf8")).server.snapshotDir;
    return dir === "" ? "" : path.resolve("/", dir);
  } catch {
    return "";
  }
}

/** What an installed unit names: user, binary, configuration, token file, writable directories. */
export function readUnit(text: string): {
  user: string;
  binary: string;
  configFile: string;
  envFile: string;
  writable: string[];
} {
  const get = (key: string) => new RegExp(`^${key}=(.*)$`, "m").exec(text)?.[1]?.trim() ?? "";
  const exec = get("ExecStart").split(/\s+/);
  const configAt = exec.indexOf("--config");
  if (!exec[0] || configAt < 0) throw new CliError(`the installed unit has no ExecStart with --config: ${exec}`);
  return {
    user: get("User"),
    binary: exec[0],
    configFile: exec[configAt + 1],
    envFile: get("EnvironmentFile").replace(/^-/, ""),
    writable: get("ReadWritePaths").split(/\s+/).filter(Boolean),
  };
}

function sameFile(a: string, b: string): boolean {
  try {
    const sa = fs.statSync(a), sb = fs.statSync(b);
    return sa.ino === sb.ino && sa.dev === sb.dev;
  } catch {
    return false;
  }
}

/** Copies `from` to a temporary file beside `to`, fsyncs it and renames it over `to`. */
function atomicCopy(from: string, to: string, mode: number): void {
  const tmp = `${to}.new-${process.pid}`;
  try {
    fs.copyFileSync(from, tmp);
    fs.chmodSync(tmp, mode);
    const fd = fs.openSync(tmp, "r");
    fs.fsyncSync(fd);
    fs.closeSync(fd);
    fs.renameSync(tmp, to);
  } catch (err) {
    fs.rmSync(tmp, { force: true });
    throw err;
  }
}

/** Writes `text` to a temporary file beside `to` with `mode`, fsyncs it and renames it over `to`. */
function atomicWrite(to: string, text: string, mode: number): void {
  const tmp = `${to}.new-${process.pid}`;
  try {
    const fd = fs.openSync(tmp, "w", mode);
    fs.writeSync(fd, text);
    fs.fsyncSync(fd);
    fs.closeSync(fd);
    fs.chmodSync(tmp, mode); // whatever the umask
    fs.renameSync(tmp, to);
  } catch (err) {
    fs.rmSync(tmp, { force: true });
    throw err;
  }
}

function exec(cmd: string, args: string[]): void {
  const r = spawnSync(cmd, args, { stdio: "inherit" });
  if (r.status !== 0) {
    throw new CliError(
      `${cmd} ${args.join(" ")} failed (exit ${r.status ?? r.error?.message}); nothing after it was done`,
    );
  }
}
