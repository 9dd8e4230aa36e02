/**
 * `serve`: runs the collector until SIGTERM/SIGINT, then shuts down cleanly.
 *
 * @module
 */
import process from "node:process";
import { isLoopback, splitListen } from "../config/load.ts";
import { createApp } from "../http/app.ts";
import { systemClock } from "../platform/clock.ts";
import { createLogger } from "../platform/log.ts";
import { Metrics } from "../platform/metrics.ts";
import { nodeFs } from "../platform/node_fs.ts";
import { runtimeName } from "../platform/runtime.ts";
import { Storage } from "../service/storage.ts";
import { VERSION } from "../version.ts";
import type { Command } from "./args.ts";
import { listen } from "./listener.ts";

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
    const server = await listen(config, app.fetch);
    const url = server.url;
    if (!server.secure && config.server.authToken !== "" && !isLoopback(splitListen(config.server.listen).hostname)) {
      log.warn("the bearer token crosses the network in clear: set server.tls.cert_file and key_file", {
        listen: config.server.listen,
      });
    }
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
      process.on("SIGHUP", () => {
        if (!server.secure) return log.info("SIGHUP: nothing to reload (no server.tls)");
        server.reload().then(
          () => log.info("SIGHUP: TLS certificate reloaded", { cert_file: config.server.tls.certFile }),
          (err) => log.error("SIGHUP: the TLS certificate was not reloaded, the old one stays", { error: err.message }),
        );
      });
      process.on("SIGINT", () => onSignal("SIGINT"));
    });
    try {
      await storage.start();
      storage.startBackground();
    } catch (err) {
      log.error("cannot start storage", { error: err });
      await server.close();
      await storage.close();
      return 1;
    }
    return await done;
  },
};
