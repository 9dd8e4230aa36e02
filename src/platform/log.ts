/**
 * A tiny structured logger: one line per event on stderr, `time level message key=value ...`, which
 * journald and grep both read well.
 *
 * @module
 */
import process from "node:process";

/** Severity levels, lowest first. */
export type LogLevel = "debug" | "info" | "warn" | "error";

const ORDER: Record<LogLevel, number> = { debug: 0, info: 1, warn: 2, error: 3 };

/** A logger. */
export interface Logger {
  debug(message: string, fields?: Record<string, unknown>): void;
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
}

/** A logger writing to stderr at or above `level` (env `STALKER_LOG_LEVEL` overrides). */
export function createLogger(level: LogLevel = "info"): Logger {
  const envLevel = process.env.STALKER_LOG_LEVEL as LogLevel | undefined;
  const min = ORDER[envLevel && envLevel in ORDER ? envLevel : level];
  const write = (lvl: LogLevel, message: string, fields?: Record<string, unknown>) => {
    if (ORDER[lvl] < min) return;
    process.stderr.write(`${new Date().toISOString()} ${lvl.toUpperCase()} ${message}${formatFields(fields)}\n`);
  };
  return {
    debug: (m, f) => write("debug", m, f),
    info: (m, f) => write("info", m, f),
    warn: (m, f) => write("warn", m, f),
    error: (m, f) => write("error", m, f),
  };
}

/** A logger that drops everything (tests). */
export const silentLogger: Logger = { debug() {}, info() {}, warn() {}, error() {} };

function formatFields(fields?: Record<string, unknown>): string {
  if (!fields) return "";
  let out = "";
  for (const [k, v] of Object.entries(fields)) {
    const s = v instanceof Error ? v.message : typeof v === "string" ? v : JSON.stringify(v);
    out += ` ${k}=${/[\s"=]/.test(s ?? "") ? JSON.stringify(s) : s}`;
  }
  return out;
}
