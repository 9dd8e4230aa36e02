/**
 * Loading and validating the configuration. Every problem is collected and reported at once, each
 * with its key, so one `config check` run shows everything to fix.
 *
 * @module
 */
import { isMap, isScalar, LineCounter, parseDocument } from "yaml";
import { parseCron } from "./cron.ts";
import { blankConfig, type Config, CONFIG_KEYS, type KeySpec } from "./schema.ts";
import { parseDuration, parseSize } from "./units.ts";

/** The configuration is invalid; `problems` lists every problem, each naming its key. */
export class ConfigError extends Error {
  constructor(readonly problems: string[], options?: ErrorOptions) {
    super(`Cannot use the configuration: ${problems.length} problem(s)\n  - ${problems.join("\n  - ")}`, options);
    this.name = "ConfigError";
  }
}

/** Values that override the file: command-line flags and the environment. */
export interface ConfigOverrides {
  dataDir?: string;
  listen?: string;
  /** Value of `STALKER_STORAGE_TOKEN`, when set. */
  envToken?: string;
}

const SPEC_BY_KEY = new Map(CONFIG_KEYS.map((s) => [s.key, s]));

/**
 * The configuration from embedded defaults only.
 *
 * @example
 * ```ts
 * import { defaultConfig } from "./load.ts";
 * if (defaultConfig().server.listen !== "127.0.0.1:7400") throw new Error();
 * ```
 */
export function defaultConfig(overrides: ConfigOverrides = {}): Config {
  return loadConfigText("", overrides);
}

/**
 * Parses and validates YAML text (empty text = all defaults). Throws {@link ConfigError} listing every
 * problem.
 */
export function loadConfigText(text: string, overrides: ConfigOverrides = {}): Config {
  const problems: string[] = [];
  const values = readYaml(text, problems);
  const config = blankConfig();
  for (const spec of CONFIG_KEYS) {
    const raw = values.has(spec.key) ? values.get(spec.key) : spec.default;
    try {
      spec.set(config, parseValue(spec, raw) as never);
    } catch (err) {
      problems.push(`${spec.key}: ${(err as Error).message}`);
    }
  }
  if (overrides.dataDir !== undefined) config.dataDir = overrides.dataDir;
  if (overrides.listen !== undefined) {
    try {
      config.server.listen = parseListen(overrides.listen);
    } catch (err) {
      problems.push(`--listen: ${(err as Error).message}`);
    }
  }
  if (overrides.envToken) config.server.authToken = overrides.envToken;
  if (problems.length === 0) problems.push(...crossCheck(config));
  if (problems.length > 0) throw new ConfigError(problems);
  return config;
}

/** Reads the YAML into a map of dotted key → scalar, reporting syntax errors and unknown keys. */
function readYaml(text: string, problems: string[]): Map<string, unknown> {
  const out = new Map<string, unknown>();
  if (text.trim() === "") return out;
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, uniqueKeys: true });
  for (const err of doc.errors) {
    const pos = err.linePos?.[0];
    problems.push(`YAML syntax${pos ? ` (line ${pos.line}, column ${pos.col})` : ""}: ${err.message.split("\n")[0]}`);
  }
  if (doc.errors.length > 0) return out;
  if (doc.contents === null) return out;
  if (!isMap(doc.contents)) {
    problems.push("the file must be a mapping of keys (like `data_dir: ./stalker-data`)");
    return out;
  }
  walk(doc.contents, "", out, problems);
  return out;
}

function walk(node: unknown, prefix: string, out: Map<string, unknown>, problems: string[]): void {
  if (!isMap(node)) return;
  for (const item of node.items) {
    const name = isScalar(item.key) ? String(item.key.value) : String(item.key);
    const key = prefix ? `${prefix}.${name}` : name;
    if (SPEC_BY_KEY.has(key)) {
      if (isScalar(item.value) || item.value === null) {
        out.set(key, isScalar(item.value) ? item.value.value : null);
      } else {
        problems.push(`${key}: expected a single value, found a ${isMap(item.value) ? "mapping" : "list"}`);
      }
    } else if (CONFIG_KEYS.some((s) => s.key.startsWith(`${key}.`))) {
      if (isMap(item.value)) walk(item.value, key, out, problems);
      else if (item.value !== null && !(isScalar(item.value) && item.value.value === null)) {
        problems.push(`${key}: expected a mapping of keys`);
      }
    } else {
      problems.push(`${key}: unknown key${suggest(key)}`);
    }
  }
}

function suggest(key: string): string {
  const leaf = key.split(".").pop() ?? key;
  const near = CONFIG_KEYS.find((s) => s.key.endsWith(`.${leaf}`) || s.key === leaf);
  return near ? ` (did you mean ${near.key}?)` : "";
}

function parseValue(spec: KeySpec, raw: unknown): unknown {
  if (raw === null || raw === undefined) throw new RangeError("a value is required");
  const kind = spec.kind;
  if (typeof kind === "object") {
    const s = String(raw).trim().toLowerCase();
    if (!kind.enum.includes(s)) throw new RangeError(`"${raw}" is not one of ${kind.enum.join(", ")}`);
    return s;
  }
  switch (kind) {
    case "string":
      if (typeof raw === "object") throw new TypeError("expected a string");
      return String(raw);
    case "bool":
      if (typeof raw !== "boolean") throw new TypeError(`expected true or false, got "${raw}"`);
      return raw;
    case "int":
      return bounded(spec, toInteger(raw));
    case "fraction": {
      const v = toNumber(raw);
      if (!(v > 0 && v <= 1)) throw new RangeError(`${v} must be a fraction in (0, 1]`);
      return v;
    }
    case "accuracy":
      return bounded(spec, toNumber(raw));
    case "duration":
      return bounded(spec, typeof raw === "number" && raw === 0 ? 0 : parseDuration(String(raw)), "duration");
    case "size":
      return bounded(spec, typeof raw === "number" ? toInteger(raw) : parseSize(String(raw)), "size");
    case "cron":
      return parseCron(String(raw)).source;
    case "listen":
      return parseListen(String(raw));
  }
}

function toNumber(raw: unknown): number {
  const v = typeof raw === "number" ? raw : typeof raw === "string" && raw.trim() !== "" ? Number(raw) : NaN;
  if (!Number.isFinite(v)) throw new TypeError(`expected a number, got "${raw}"`);
  return v;
}

function toInteger(raw: unknown): number {
  const v = toNumber(raw);
  if (!Number.isInteger(v)) throw new TypeError(`expected a whole number, got ${v}`);
  return v;
}

function bounded(spec: KeySpec, v: number, unit?: "duration" | "size"): number {
  const show = (n: number) => (unit === "duration" ? `${n} ms` : unit === "size" ? `${n} bytes` : String(n));
  if (spec.min !== undefined && v < spec.min) {
    throw new RangeError(`${show(v)} is below the minimum ${show(spec.min)}`);
  }
  if (spec.max !== undefined && v > spec.max) throw new RangeError(`${show(v)} is above the maximum ${show(spec.max)}`);
  return v;
}

/** Parses `host:port` (IPv6 as `[::1]:7400`); port 0 picks a free port. */
export function parseListen(text: string): string {
  const m = /^(\[[0-9a-fA-F:.]+\]|[^:\s]+):(\d{1,5})$/.exec(text.trim());
  if (!m || Number(m[2]) > 65535) throw new RangeError(`"${text}" is not host:port (like 127.0.0.1:7400)`);
  return text.trim();
}

/** Splits a validated listen address into hostname and port. */
export function splitListen(listen: string): { hostname: string; port: number } {
  const i = listen.lastIndexOf(":");
  let hostname = listen.slice(0, i);
  if (hostname.startsWith("[")) hostname = hostname.slice(1, -1);
  return { hostname, port: Number(listen.slice(i + 1)) };
}

/** Whether a hostname only accepts connections from this machine. */
export function isLoopback(hostname: string): boolean {
  return hostname === "localhost" || hostname === "::1" || /^127\.\d+\.\d+\.\d+$/.test(hostname);
}

function crossCheck(c: Config): string[] {
  const problems: string[] = [];
  const t = c.backpressure.thresholds;
  if (!(t.warning < t.critical && t.critical < t.emergency)) {
    problems.push(
      `backpressure.thresholds: warning (${t.warning}) < critical (${t.critical}) < emergency (${t.emergency}) must hold`,
    );
  }
  if (c.backpressure.recovery.hysteresis >= t.warning) {
    problems.push(
      `backpressure.recovery.hysteresis: ${c.backpressure.recovery.hysteresis} must be below the warning threshold ${t.warning}`,
    );
  }
  const { hostname } = splitListen(c.server.listen);
  if (!isLoopback(hostname) && c.server.authToken === "" && !c.server.allowInsecure) {
    problems.push(
      `server.listen: refusing to listen on non-loopback address ${hostname} without a token; set server.auth_token (or STALKER_STORAGE_TOKEN), or server.allow_insecure: true`,
    );
  }
  if (c.dataDir.trim() === "") problems.push("data_dir: must not be empty");
  if ((c.server.tls.certFile === "") !== (c.server.tls.keyFile === "")) {
    problems.push("server.tls: cert_file and key_file go together: set both (HTTPS) or neither (HTTP)");
  }
  return problems;
}
