/**
 * The server's listener: plain HTTP, or HTTPS with the runtime's own TLS from `server.tls.cert_file` /
 * `key_file`, whose certificate is reloaded on SIGHUP without refusing a connection: a second listener
 * takes the port (SO_REUSEPORT) with the new certificate, then the first one stops accepting and
 * finishes its requests.
 *
 * @module
 */
import fs from "node:fs";
import net from "node:net";
import { splitListen } from "../config/load.ts";
import type { Config } from "../config/schema.ts";
import { type HttpServer, serve } from "../platform/runtime.ts";
import { CliError, EXIT, whoAmI } from "./errors.ts";

/** A listener whose certificate can be replaced. */
export interface Listener {
  readonly url: string;
  readonly port: number;
  readonly secure: boolean;
  /** Reads the certificate files again and serves new connections with them; throws (keeping the old) when they are bad. */
  reload(): Promise<void>;
  close(): Promise<void>;
}

/** Reads `server.tls` files; a message naming the key when one cannot be read or is not PEM. */
export function readTls(config: Config): { cert: string; key: string } | undefined {
  const { certFile, keyFile } = config.server.tls;
  if (certFile === "" && keyFile === "") return undefined;
  const read = (file: string, key: string, marker: RegExp) => {
    let text: string;
    try {
      text = fs.readFileSync(file, "utf8");
    } catch (err) {
      const e = err as Error & { code?: string };
      throw new CliError(
        `cannot read ${key} ${file} (${e.code ?? e.message}) as user ${whoAmI()}: fix ${key} or the file's permissions`,
      );
    }
    if (!marker.test(text)) throw new CliError(`${key} ${file} is not a PEM file (no "-----BEGIN" block)`);
    return text;
  };
  return {
    cert: read(certFile, "server.tls.cert_file", /-----BEGIN CERTIFICATE-----/),
    key: read(keyFile, "server.tls.key_file", /-----BEGIN [A-Z ]*PRIVATE KEY-----/),
  };
}

function listenProblem(err: unknown, port: number): string {
  const e = err as Error & { code?: string; name?: string };
  const text = `${e?.code ?? ""} ${e?.name ?? ""} ${e?.message ?? err}`;
  if (/EADDRINUSE|AddrInUse|in use/i.test(text)) return `the port ${port} is in use by another process`;
  if (/EACCES|PermissionDenied|permission/i.test(text)) {
    return `not allowed for user ${whoAmI()}${
      port < 1024 ? " (ports below 1024 need root or CAP_NET_BIND_SERVICE)" : ""
    }`;
  }
  if (/EADDRNOTAVAIL|AddrNotAvailable|not available/i.test(text)) return "no interface has that address";
  return String(e?.message ?? err).split("\n")[0];
}

function cannotListen(config: Config, err: unknown, port: number): CliError {
  return new CliError(
    `cannot listen on ${config.server.listen}: ${listenProblem(err, port)}.\n` +
      `Choose another address with --listen HOST:PORT or server.listen in the configuration.`,
    EXIT.unavailable,
    { cause: err },
  );
}

function isTlsError(err: unknown): boolean {
  return /X509|X\.509|PEM|KEY_VALUES|certificate|private key|SSL|TLS/i.test(String((err as Error)?.message ?? err));
}

function badCertificate(config: Config, err: unknown): CliError {
  return new CliError(
    `cannot use server.tls.cert_file ${config.server.tls.certFile} with key_file ${config.server.tls.keyFile}: ` +
      `${String((err as Error)?.message ?? err).split("\n")[0]} (is the key the certificate's?)`,
    EXIT.failed,
    { cause: err },
  );
}

/** Whether the port is free: SO_REUSEPORT would let a listener share it with another one of the same user. */
function probe(hostname: string, port: number): Promise<void> {
  if (port === 0) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once("error", reject);
    s.listen({ host: hostname, port, exclusive: true }, () => s.close(() => resolve()));
  });
}

/** Starts listening as `config.server` says. */
export async function listen(
  config: Config,
  fetch: (request: Request) => Response | Promise<Response>,
): Promise<Listener> {
  const { hostname, port } = splitListen(config.server.listen);
  const tls = readTls(config);
  const options = { hostname, fetch, maxRequestBodySize: config.server.maxBodyBytes };
  let server: HttpServer;
  try {
    if (tls) await probe(hostname, port);
    server = await serve({ ...options, port, tls, reusePort: tls !== undefined });
  } catch (err) {
    if (tls && isTlsError(err)) throw badCertificate(config, err);
    throw cannotListen(config, err, port);
  }
  const host = server.hostname.includes(":") ? `[${server.hostname}]` : server.hostname;
  const url = `${tls ? "https" : "http"}://${host}:${server.port}`;
  let reloading: Promise<void> = Promise.resolve();
  return {
    url,
    port: server.port,
    secure: tls !== undefined,
    reload() {
      const next = reloading.then(async () => {
        if (!tls) throw new CliError("no server.tls.cert_file: nothing to reload");
        const fresh = readTls(config)!;
        let replacement: HttpServer;
        try {
          replacement = await serve({ ...options, port: server.port, tls: fresh, reusePort: true });
        } catch (err) {
          throw isTlsError(err) ? badCertificate(config, err) : err;
        }
        const old = server;
        server = replacement;
        await old.close();
      });
      reloading = next.catch(() => {});
      return next;
    },
    async close() {
      await reloading;
      await server.close();
    },
  };
}
