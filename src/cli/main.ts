/**
 * The command-line entry: dispatches to commands and prints help.
 *
 * @module
 */
import { VERSION } from "../version.ts";
import { type Command, COMMON_HELP, configFromFlags, type Io, parseCommandArgs, processIo } from "./args.ts";
import { configCommand } from "./config_cmd.ts";
import { requirementsCommand } from "./requirements_cmd.ts";
import { serveCommand } from "./serve.ts";
import { queryCommand, seriesCommand, sqlCommand } from "./query_cmds.ts";
import { compactCommand, retentionCommand, walCommand } from "./admin_cmds.ts";
import { installSystemdCommand, uninstallSystemdCommand } from "./systemd_cmd.ts";
import { EXIT, explain } from "./errors.ts";
import { exportCommand, restoreCommand, snapshotCommand } from "./backup_cmds.ts";

const versionCommand: Command = {
  summary: "print the version",
  usage: "stalker-storage version\n",
  run({ io }) {
    io.out(`stalker-storage ${VERSION}\n`);
    return Promise.resolve(0);
  },
};

/** Every command by name. */
export const COMMANDS: Record<string, Command> = {
  serve: serveCommand,
  query: queryCommand,
  sql: sqlCommand,
  series: seriesCommand,
  compact: compactCommand,
  retention: retentionCommand,
  wal: walCommand,
  snapshot: snapshotCommand,
  restore: restoreCommand,
  export: exportCommand,
  requirements: requirementsCommand,
  config: configCommand,
  "install-systemd": installSystemdCommand,
  "uninstall-systemd": uninstallSystemdCommand,
  version: versionCommand,
};

function mainHelp(): string {
  const width = Math.max(...Object.keys(COMMANDS).map((n) => n.length));
  const lines = Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(width)}  ${c.summary}`);
  return `stalker-storage ${VERSION} — edge time-series collector

Usage: stalker-storage [COMMAND] [OPTIONS]

Commands:
${lines.join("\n")}

Run "stalker-storage COMMAND --help" for a command's options.

${COMMON_HELP}`;
}

/**
 * Runs the CLI with `argv` (without the runtime and script path) and returns the exit code.
 */
export async function main(argv: string[], io: Io = processIo): Promise<number> {
  if (argv[0] === "--version" || argv[0] === "-V") argv = ["version"];
  if (argv.length === 1 && (argv[0] === "--help" || argv[0] === "-h" || argv[0] === "help")) {
    io.out(mainHelp());
    return 0;
  }
  const named = argv.length > 0 && !argv[0].startsWith("-");
  const name = named ? argv[0] : "serve";
  const command = COMMANDS[name];
  if (!command) {
    io.err(`Unknown command "${name}".\n\n${mainHelp()}`);
    return EXIT.usage;
  }
  let values;
  try {
    values = parseCommandArgs(command, named ? argv.slice(1) : argv);
  } catch (err) {
    io.err(`${name}: ${(err as Error).message}\nRun "stalker-storage ${name} --help" for its usage and options.\n`);
    return EXIT.usage;
  }
  if (values.help) {
    io.out(`${command.summary}\n\nUsage: ${command.usage}\n${COMMON_HELP}`);
    return 0;
  }
  try {
    return await command.run({
      values,
      positionals: values._,
      io,
      loadConfig: () => configFromFlags(values),
    });
  } catch (err) {
    const { text, code } = explain(name, err, { debug: Boolean(values.debug) });
    io.err(text);
    return code;
  }
}
