/**
 * `install-systemd`: installs stalker-storage as a hardened systemd service — a dedicated system user,
 * the binary, a configuration file, a data directory, and a unit that can write only there.
 *
 * @module
 */
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import process from "node:process";
import { renderDefaultYaml } from "../config/example.ts";
import type { Command } from "./args.ts";
import { CliError, EXIT, whoAmI } from "./errors.ts";

/** Where things go. */
export interface InstallPlan {
  user: string;
  binary: string;
  configFile: string;
  dataDir: string;
  unitFile: string;
  listen: string;
}

/** The unit file for a plan. */
export function unitFile(p: InstallPlan): string {
  return `[Unit]
Description=stalker-storage edge time-series collector
Documentation=https://github.com/stalker/stalker-storage
After=network-online.target
Wants=network-online.target

[Service]
Type=simple
User=${p.user}
Group=${p.user}
ExecStart=${p.binary} serve --config ${p.configFile}
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

# Hardening: the service can write only its data directory.
NoNewPrivileges=yes
ProtectSystem=strict
ProtectHome=yes
PrivateTmp=yes
PrivateDevices=yes
ProtectKernelTunables=yes
ProtectKernelModules=yes
ProtectKernelLogs=yes
ProtectControlGroups=yes
ProtectClock=yes
ProtectHostname=yes
RestrictSUIDSGID=yes
RestrictRealtime=yes
RestrictNamespaces=yes
LockPersonality=yes
RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX
CapabilityBoundingSet=
AmbientCapabilities=
SystemCallArchitectures=native
SystemCallFilter=@system-service
SystemCallErrorNumber=EPERM
UMask=0027
ReadWritePaths=${p.dataDir}
ReadOnlyPaths=${path.dirname(p.configFile)}

[Install]
WantedBy=multi-user.target
`;
}

/** The `install-systemd` command. */
export const installSystemdCommand: Command = {
  summary: "install as a hardened systemd service (dedicated user, unit file, data and config paths)",
  usage: `stalker-storage install-systemd [--dry-run] [--user stalker] [--bin /usr/local/bin/stalker-storage]
                                 [--config-file /etc/stalker-storage/storage.yaml]
                                 [--data-dir /var/lib/stalker-storage] [--root DIR] [--no-start]

Creates the system user, copies this binary, writes a default configuration (kept if present), creates
the data directory, writes /etc/systemd/system/stalker-storage.service, then enables and starts it.
--dry-run prints every step and the unit file, changing nothing. --root installs under DIR (packaging;
no user creation, no systemctl).
`,
  options: {
    "dry-run": { type: "boolean" },
    user: { type: "string" },
    bin: { type: "string" },
    "config-file": { type: "string" },
    root: { type: "string" },
    "no-start": { type: "boolean" },
  },
  run({ values, io }) {
    const plan: InstallPlan = {
      user: (values.user as string) ?? "stalker",
      binary: (values.bin as string) ?? "/usr/local/bin/stalker-storage",
      configFile: (values["config-file"] as string) ?? "/etc/stalker-storage/storage.yaml",
      dataDir: (values["data-dir"] as string) ?? "/var/lib/stalker-storage",
      unitFile: "/etc/systemd/system/stalker-storage.service",
      listen: "127.0.0.1:7400",
    };
    const dry = Boolean(values["dry-run"]);
    const root = values.root as string | undefined;
    if (!dry && root === undefined && process.getuid?.() !== 0) {
      throw new CliError(
        `needs root (it creates a system user, writes ${plan.binary}, /etc and the unit, and runs systemctl); ` +
          `you are ${whoAmI()}.\nRun it with sudo, or see what it would do with --dry-run.`,
        EXIT.denied,
      );
    }
    const steps = stepsOf(plan, root, !values["no-start"] && !root);
    for (const step of steps) {
      io.out(`${dry ? "would " : ""}${step.describe}\n`);
      if (!dry) step.run();
    }
    if (dry) io.out(`\n--- ${plan.unitFile} ---\n${unitFile(plan)}`);
    return Promise.resolve(0);
  },
};

interface Step {
  describe: string;
  run(): void;
}

function stepsOf(p: InstallPlan, root: string | undefined, start: boolean): Step[] {
  const at = (file: string) => (root ? path.join(root, file) : file);
  const steps: Step[] = [];
  if (!root) {
    steps.push({
      describe: `create system user ${p.user} (useradd --system --no-create-home --shell /usr/sbin/nologin)`,
      run: () => {
        if (spawnSync("id", ["-u", p.user]).status !== 0) {
          exec("useradd", [
            "--system",
            "--no-create-home",
            "--home-dir",
            p.dataDir,
            "--shell",
            "/usr/sbin/nologin",
            p.user,
          ]);
        }
      },
    });
  }
  steps.push({
    describe: `copy ${process.execPath} to ${at(p.binary)}`,
    run: () => {
      fs.mkdirSync(path.dirname(at(p.binary)), { recursive: true });
      fs.copyFileSync(process.execPath, at(p.binary));
      fs.chmodSync(at(p.binary), 0o755);
    },
  });
  steps.push({
    describe: `write ${at(p.configFile)} with data_dir ${p.dataDir} (kept if it exists)`,
    run: () => {
      fs.mkdirSync(path.dirname(at(p.configFile)), { recursive: true });
      if (!fs.existsSync(at(p.configFile))) {
        fs.writeFileSync(at(p.configFile), renderDefaultYaml().replace(/^data_dir: .*$/m, `data_dir: ${p.dataDir}`), {
          mode: 0o640,
        });
      }
    },
  });
  steps.push({
    describe: `create ${at(p.dataDir)} owned by ${p.user}, mode 0750`,
    run: () => {
      fs.mkdirSync(at(p.dataDir), { recursive: true, mode: 0o750 });
      if (!root) exec("chown", ["-R", `${p.user}:${p.user}`, p.dataDir]);
      if (!root) exec("chgrp", [p.user, p.configFile]);
    },
  });
  steps.push({
    describe: `write ${at(p.unitFile)}`,
    run: () => {
      fs.mkdirSync(path.dirname(at(p.unitFile)), { recursive: true });
      fs.writeFileSync(at(p.unitFile), unitFile(p));
    },
  });
  if (start) {
    steps.push({
      describe: "systemctl daemon-reload && systemctl enable --now stalker-storage",
      run: () => {
        exec("systemctl", ["daemon-reload"]);
        exec("systemctl", ["enable", "--now", "stalker-storage"]);
      },
    });
  }
  return steps;
}

function exec(cmd: string, args: string[]): void {
  const r = spawnSync(cmd, args, { stdio: "inherit" });
  if (r.status !== 0) throw new Error(`Cannot install: ${cmd} ${args.join(" ")} failed (exit ${r.status ?? r.error})`);
}
