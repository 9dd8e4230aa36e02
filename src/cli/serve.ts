/**
 * `serve`: runs the collector until SIGTERM/SIGINT, then shuts down cleanly.
 *
 * @module
 */
import process from "node:process";
import { splitListen } from "../config/load.ts";
import { createApp } from "../http/app.ts";
import { systemClock } from "../platform/clock.ts";
import { createLogger } from "../platform/log.ts";
import { Metrics } from "../platform/metrics.ts";
import { nodeFs } from "../platform/node_fs.ts";
import { runtimeName, serve } from "../platform/runtime.ts";
import { Storage } from "../service/storage.ts";
import { VERSION } from "../version.ts";
import type { Command } from "./args.ts";
import { CliError, EXIT, whoAmI } from "./errors.ts";

/** Why binding failed, in words (Bun and Deno word it differently). */
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

/** The `serve` command (also the default). */
export const serveCommand: Command = {
  summary: "run the collector (the default command)",
  usage: `stalker-storage [serve] [--config FILE] [--data-dir DIR] [--listen ADDR]

Starts the HTTP API, replays the write-ahead log, and runs flushing, compaction and retention until
SIGTERM or SIGINT. Without --config it runs on embedded defaults with data in ./stalker-data.
`,
  async run({ loadConfig }) {
    const config = loadConfig();
    const log = createLogger();
    const metrics = new Metrics();
    const storage = Storage.create(config, { fs: nodeFs, clock: systemClock, log, metrics });
    await storage.lockDataDir(); // fail before listening when another server owns the directory
    const app = createApp({ storage, metrics, log, clock: systemClock, authToken: config.server.authToken });
    const { hostname, port } = splitListen(config.server.listen);
    let server;
    try {
      server = await serve({ hostname, port, fetch: app.fetch, maxRequestBodySize: config.server.maxBodyBytes });
    } catch (err) {
      throw new CliError(
        `cannot listen on ${config.server.listen}: ${listenProblem(err, port)}.\n` +
          `Choose another address with --listen HOST:PORT or server.listen in the configuration.`,
        EXIT.unavailable,
        { cause: err },
      );
    }
    const url = `http://${server.hostname.includes(":") ? `[${server.hostname}]` : server.hostname}:${server.port}`;
    await storage.advertise(url);
    log.info("stalker-storage listening", { version: VERSION, runtime: runtimeName, url, data_dir: config.dataDir });

    let stopping: Promise<void> | null = null;
    const stop = (signal: string) => {
      if (stopping) return stopping;
      log.info("shutting down", { signal });
      // the listener stays open while storage stops (final flush): requests get 503, not a refused connection
      stopping = (async () => {
        await storage.close();
        await server.close();
      })();
      return stopping;
    };
    const done = new Promise<number>((resolve) => {
      const onSignal = (signal: string) => {
        stop(signal).then(() => resolve(0), (err) => {
          log.error("shutdown failed", { error: err });
          resolve(1);
        });
      };
      process.on("SIGTERM", () => onSignal("SIGTERM"));
      // systemctl reload: SIGHUP must not end the process (its default action)
      process.on("SIGHUP", () => log.info("SIGHUP received: nothing to reload"));
      process.on("SIGINT", () => onSignal("SIGINT"));
    });
    try {
      await storage.start();
    } catch (err) {
      log.error("cannot start storage", { error: err });
      await server.close();
      await storage.close();
      return 1;
    }
    return await done;
  },
};
