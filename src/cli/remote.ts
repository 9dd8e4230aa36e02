/**
 * Talking to a running server from the CLI: `--server URL`, or the server that holds the data
 * directory's lock (it writes its URL into the lock file), with the token from the configuration or
 * `STALKER_STORAGE_TOKEN`.
 *
 * @module
 */
import type { Config } from "../config/schema.ts";
import { lockOwner } from "../platform/lock.ts";
import { nodeFs } from "../platform/node_fs.ts";

/** A server to ask. */
export interface Remote {
  url: string;
  token: string;
}

/** The server to use: `--server`, else the one holding the data directory, else null (offline). */
export async function findRemote(config: Config, server: string | undefined): Promise<Remote | null> {
  if (server) return { url: server.replace(/\/+$/, ""), token: config.server.authToken };
  const owner = await lockOwner(nodeFs, config.dataDir);
  if (owner?.url) return { url: owner.url, token: config.server.authToken };
  return null;
}

/** Calls the API; throws with the server's error message on a non-2xx answer. */
export async function call(remote: Remote, path: string, init: RequestInit = {}): Promise<Response> {
  const headers = new Headers(init.headers);
  if (remote.token) headers.set("authorization", `Bearer ${remote.token}`);
  let res: Response;
  try {
    res = await fetch(`${remote.url}${path}`, { ...init, headers });
  } catch (err) {
    throw new Error(`Cannot reach the server at ${remote.url}: ${(err as Error).message}`, { cause: err });
  }
  if (!res.ok) {
    const text = await res.text();
    let message = text;
    try {
      message = JSON.parse(text).error?.message ?? text;
    } catch {
      // not JSON
    }
    throw new Error(`The server answered ${res.status}: ${message}`);
  }
  return res;
}
