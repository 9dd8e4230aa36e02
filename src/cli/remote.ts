/**
 * Talking to a running server from the CLI: `--server URL`, or the server that holds the data
 * directory's lock (it writes its URL into the lock file), with the token from the configuration or
 * `STALKER_STORAGE_TOKEN`.
 *
 * @module
 */
import type { Config } from "../config/schema.ts";
import { lockOwner } from "../platform/lock.ts";
import fs from "node:fs";
import { nodeFs } from "../platform/node_fs.ts";
import { fetchTrusting } from "../platform/runtime.ts";
import { CliError, EXIT } from "./errors.ts";

/** The flags of every command that may go through a running server: its URL and its bearer token. */
export const SERVER_OPTIONS = {
  server: { type: "string" as const },
  token: { type: "string" as const },
  "token-file": { type: "string" as const },
};

/** The flags that select series and a range, shared by query and export. */
export const SELECTION_OPTIONS = {
  namespace: { type: "string" as const },
  target: { type: "string" as const },
  poller: { type: "string" as const },
  from: { type: "string" as const },
  to: { type: "string" as const },
  tier: { type: "string" as const },
};

/** A server to ask. */
export interface Remote {
  url: string;
  token: string;
  /** PEM of `server.tls.cert_file` when readable: trusted for an https URL (a self-signed certificate). */
  ca?: string;
}

function caOf(config: Config): string | undefined {
  if (config.server.tls.certFile === "") return undefined;
  try {
    return fs.readFileSync(config.server.tls.certFile, "utf8");
  } catch {
    return undefined; // not readable for this user: the system's CAs only
  }
}

/**
 * The token in `file`: the `STALKER_STORAGE_TOKEN=` line of an environment file (the one
 * `install-systemd` writes, `#` comments allowed, the value optionally quoted), else the file's only line.
 */
export function tokenFromFile(file: string): string {
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    throw new CliError(
      `cannot read --token-file ${file} (${e.code ?? e.message})` +
        (e.code === "EACCES" ? ": it is readable only by its owner (sudo?)" : ""),
      e.code === "EACCES" ? EXIT.denied : EXIT.failed,
    );
  }
  const lines = text.split("\n").map((l) => l.trim()).filter((l) => l !== "" && !l.startsWith("#"));
  const assigned = lines.find((l) => l.startsWith("STALKER_STORAGE_TOKEN="));
  const token = assigned !== undefined
    ? assigned.slice("STALKER_STORAGE_TOKEN=".length).replace(/^(["'])(.*)\1$/, "$2")
    : lines.length === 1 && !lines[0].includes("=")
    ? lines[0]
    : "";
  if (token === "") {
    throw new CliError(`--token-file ${file} holds no token: a STALKER_STORAGE_TOKEN=… line, or the token alone`);
  }
  return token;
}

/**
 * The server to use: `--server`, else the one holding the data directory, else null (offline). The
 * token: `--token`, else `--token-file`, else `server.auth_token` of the configuration (or
 * `STALKER_STORAGE_TOKEN`).
 */
export async function findRemote(config: Config, values: Record<string, unknown>): Promise<Remote | null> {
  const server = values.server as string | undefined;
  const file = values["token-file"] as string | undefined;
  const bearer = (values.token as string | undefined) ?? (file !== undefined ? tokenFromFile(file) : undefined) ??
    config.server.authToken;
  if (server) return { url: server.replace(/\/+$/, ""), token: bearer, ca: caOf(config) };
  const owner = await lockOwner(nodeFs, config.dataDir);
  if (owner?.url) return { url: owner.url, token: bearer, ca: caOf(config) };
  return null;
}

/** Calls the API; throws with the server's error message on a non-2xx answer. */
export async function call(remote: Remote, path: string, init: RequestInit = {}): Promise<Response> {
  const headers = new Headers(init.headers);
  if (remote.token) headers.set("authorization", `Bearer ${remote.token}`);
  let res: Response;
  try {
    const url = `${remote.url}${path}`;
    res = remote.ca && url.startsWith("https:")
      ? await fetchTrusting(url, { ...init, headers }, remote.ca)
      : await fetch(url, { ...init, headers });
  } catch (err) {
    throw new CliError(
      `cannot reach the server at ${remote.url} (${(err as Error).message}); is it running? ` +
        `Name another one with --server URL.`,
      EXIT.unavailable,
      { cause: err },
    );
  }
  if (!res.ok) {
    const text = await res.text();
    let message = text;
    try {
      message = JSON.parse(text).error?.message ?? text;
    } catch {
      // not JSON
    }
    if (res.status === 401 || res.status === 403) {
      throw new CliError(
        `the server at ${remote.url} refused ${remote.token ? "the token" : "the request without a token"} ` +
          `(${res.status}: ${message.split("\n")[0]}).\nGive its server.auth_token with --token TOKEN, ` +
          `--token-file FILE, the STALKER_STORAGE_TOKEN environment variable, or server.auth_token in --config FILE.`,
        EXIT.denied,
      );
    }
    throw new Error(`the server answered ${res.status}: ${message}`);
  }
  return res;
}
