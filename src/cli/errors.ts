/**
 * What the CLI says when a command fails: one or two lines naming the flag or setting and the fix, the
 * stack only under `--debug`; and the exit codes (documented in docs/operations.md, "Exit codes").
 *
 * @module
 */
import os from "node:os";
import process from "node:process";
import { ConfigError } from "../config/load.ts";
import { LockedError } from "../model/errors.ts";

/** Exit codes of every command. */
export const EXIT = {
  /** Done. */
  ok: 0,
  /** The command ran and failed: the message says why (server error, SQL error, I/O, damage found). */
  failed: 1,
  /** Bad usage: unknown command or flag, a missing or malformed value. Nothing was done. */
  usage: 2,
  /** Not allowed: the server refused the token (401/403), or the command needs root. Nothing was done. */
  denied: 3,
  /** A server cannot be reached, or the port to listen on cannot be bound. */
  unavailable: 4,
} as const;

/** A failure whose message already says what to do; printed as is, without a stack. */
export class CliError extends Error {
  constructor(message: string, readonly exitCode: number = EXIT.failed, options?: ErrorOptions) {
    super(message, options);
    this.name = "CliError";
  }
}

/** A usage error (exit 2): a missing or malformed flag value. */
export function usageError(message: string): CliError {
  return new CliError(message, EXIT.usage);
}

/** The user the process runs as, for messages about permissions: `name (uid N)`. */
export function whoAmI(): string {
  let name = "?";
  try {
    name = os.userInfo().username;
  } catch {
    // no passwd entry (containers)
  }
  return `${name} (uid ${process.getuid?.() ?? "?"})`;
}

/** Error codes of the file system that mean "this user may not write there". */
const DENIED = new Set(["EACCES", "EPERM", "EROFS"]);

/**
 * Turns `err` into what the user reads and the exit code. Known failures get their own words; the rest
 * the first line of their message. `debug` adds the stack.
 */
export function explain(
  command: string,
  err: unknown,
  { debug }: { debug: boolean },
): { text: string; code: number } {
  const e = err as Error & { code?: string; path?: string; syscall?: string };
  const stack = debug && e?.stack ? `\n${e.stack}\n` : "";
  if (err instanceof CliError) return { text: `${command}: ${err.message}\n${stack}`, code: err.exitCode };
  if (err instanceof ConfigError || err instanceof LockedError) return { text: `${e.message}\n${stack}`, code: 1 };
  if (e?.code && DENIED.has(e.code) && e.path) {
    return {
      text:
        `${command}: cannot write ${e.path} (${e.code}${e.syscall ? `, ${e.syscall}` : ""}) as user ${whoAmI()}.\n` +
        `Give that user the directory (chown), or choose a writable one with --data-dir DIR (data_dir in the ` +
        `configuration; ingestion.wal.dir for the WAL).\n${stack}`,
      code: EXIT.failed,
    };
  }
  if (e?.code === "ENOSPC") {
    return {
      text: `${command}: the disk is full${e.path ? ` at ${e.path}` : ""}: free space and retry.\n${stack}`,
      code: 1,
    };
  }
  const message = String(e?.message ?? err);
  if (debug) return { text: `${command}: ${message}\n${stack}`, code: EXIT.failed };
  const first = message.split("\n")[0].trim();
  const more = message.includes("\n") ? " (--debug shows the whole message)" : "";
  return { text: `${command}: ${first}${more}\n`, code: EXIT.failed };
}
