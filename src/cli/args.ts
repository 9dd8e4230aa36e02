/**
 * Shared command-line handling: the common flags (`--config`, `--data-dir`, `--listen`, `--help`),
 * loading the configuration they point to, and the command table type.
 *
 * @module
 */
import fs from "node:fs";
import process from "node:process";
import { parseArgs, type ParseArgsConfig } from "node:util";
import { ConfigError, loadConfigText } from "../config/load.ts";
import type { Config } from "../config/schema.ts";

/** Where a command writes. */
export interface Io {
  out(text: string): void;
  err(text: string): void;
}

/** Standard output and error of the process. */
export const processIo: Io = {
  out: (t) => process.stdout.write(t),
  err: (t) => process.stderr.write(t),
};

/** A command: its help text, its own options, and what it does. */
export interface Command {
  summary: string;
  usage: string;
  options?: ParseArgsConfig["options"];
  /** Set when the command takes positional arguments. */
  positionals?: boolean;
  run(ctx: CommandContext): Promise<number>;
}

/** What a running command receives. */
export interface CommandContext {
  values: Record<string, string | boolean | string[] | undefined>;
  positionals: string[];
  io: Io;
  /** Loads the configuration from `--config` (or embedded defaults) with flag overrides applied. */
  loadConfig(): Config;
}

/** Options every command accepts. */
export const COMMON_OPTIONS: NonNullable<ParseArgsConfig["options"]> = {
  config: { type: "string", short: "c" },
  "data-dir": { type: "string" },
  listen: { type: "string" },
  debug: { type: "boolean" },
  help: { type: "boolean", short: "h" },
};

/** Help lines for the common options. */
export const COMMON_HELP = `Common options:
  -c, --config FILE    YAML configuration (default: embedded defaults; env STALKER_STORAGE_CONFIG)
      --data-dir DIR   data directory (overrides data_dir)
      --listen ADDR    HTTP address host:port (overrides server.listen)
      --debug          on failure, print the whole error with its stack trace
  -h, --help           show help

Exit codes: 0 done, 1 failed (the message says why), 2 bad usage, 3 not allowed (token refused, not
root), 4 unavailable (server unreachable, port in use). See docs/operations.md.
`;

/** Parses `argv` for `command`; throws a TypeError with a readable message on bad flags. */
export function parseCommandArgs(command: Command, argv: string[]): CommandContext["values"] & { _: string[] } {
  const options = { ...COMMON_OPTIONS, ...command.options };
  const { values, positionals } = parseArgs({
    args: joinNegativeValues(argv, options),
    options,
    allowPositionals: true,
    strict: true,
  });
  if (!command.positionals && positionals.length > 0) {
    throw new TypeError(`unexpected argument "${positionals[0]}"`);
  }
  return { ...values, _: positionals };
}

/**
 * `--from -1h` as `--from=-1h`: a string option's value may start with a dash when a digit follows
 * (relative times, negative numbers); `node:util` `parseArgs` would take it for an option.
 */
export function joinNegativeValues(argv: string[], options: NonNullable<ParseArgsConfig["options"]>): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === "--") {
      out.push(...argv.slice(i));
      break;
    }
    const long = /^--([^=]+)$/.exec(arg)?.[1];
    const short = /^-([A-Za-z])$/.exec(arg)?.[1];
    const name = long ?? (short ? Object.keys(options).find((k) => options[k].short === short) : undefined);
    const next = argv[i + 1];
    if (name && options[name]?.type === "string" && next !== undefined && /^-\d/.test(next)) {
      out.push(`--${name}=${next}`);
      i++;
    } else out.push(arg);
  }
  return out;
}

/** Reads the configuration named by the flags. */
export function configFromFlags(values: CommandContext["values"]): Config {
  const path = (values.config as string | undefined) ?? process.env.STALKER_STORAGE_CONFIG;
  let text = "";
  if (path) {
    try {
      text = fs.readFileSync(path, "utf8");
    } catch (err) {
      throw new ConfigError([`cannot read ${path}: ${(err as Error).message}`], { cause: err });
    }
  }
  return loadConfigText(text, {
    dataDir: values["data-dir"] as string | undefined,
    listen: values.listen as string | undefined,
    envToken: process.env.STALKER_STORAGE_TOKEN,
  });
}
