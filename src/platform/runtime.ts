/**
 * The only place that touches `Deno.*` and `Bun.*`: serving HTTP and naming the runtime. Everything
 * else in the code base is runtime-neutral (`node:` built-ins, Web APIs).
 *
 * @module
 */

// deno-lint-ignore no-explicit-any
const g = globalThis as any;

/** The JavaScript runtime executing this process. */
export const runtimeName: "bun" | "deno" | "node" = g.Bun ? "bun" : g.Deno ? "deno" : "node";

/** A running HTTP server. */
export interface HttpServer {
  /** The port actually bound (useful with port 0). */
  readonly port: number;
  readonly hostname: string;
  /** Stops accepting connections and waits for in-flight requests. */
  close(): Promise<void>;
}

/** Options of {@link serve}. */
export interface ServeOptions {
  hostname: string;
  port: number;
  fetch: (request: Request) => Response | Promise<Response>;
  /** Largest request body the runtime itself should accept, in bytes. */
  maxRequestBodySize: number;
}

/** Starts an HTTP server with the runtime's native server. */
export function serve(options: ServeOptions): Promise<HttpServer> {
  if (runtimeName === "bun") return serveBun(options);
  if (runtimeName === "deno") return serveDeno(options);
  return Promise.reject(new Error("Cannot serve HTTP under Node.js: run with Deno or the compiled binary"));
}

function serveBun(options: ServeOptions): Promise<HttpServer> {
  const server = g.Bun.serve({
    hostname: options.hostname,
    port: options.port,
    fetch: options.fetch,
    // Bun rejects larger bodies itself (413); our own limit check runs first for a JSON error.
    maxRequestBodySize: options.maxRequestBodySize + 1024 * 1024,
    idleTimeout: 60,
  });
  return Promise.resolve({
    port: server.port,
    hostname: server.hostname,
    close: async () => {
      await server.stop(false);
    },
  });
}

function serveDeno(options: ServeOptions): Promise<HttpServer> {
  return new Promise((resolve, reject) => {
    try {
      const server = g.Deno.serve({
        hostname: options.hostname,
        port: options.port,
        onListen: (addr: { hostname: string; port: number }) => {
          resolve({
            port: addr.port,
            hostname: addr.hostname,
            close: async () => {
              await server.shutdown();
            },
          });
        },
        onError: (err: unknown) => {
          return new Response(JSON.stringify({ error: { code: "internal", message: String(err) } }), {
            status: 500,
            headers: { "content-type": "application/json" },
          });
        },
      }, options.fetch);
    } catch (err) {
      reject(err);
    }
  });
}

/** Whether the process runs as a `bun build --compile` single-file executable. */
export function isCompiledBinary(): boolean {
  if (runtimeName !== "bun") return false;
  const main = String(g.Bun.main ?? "");
  return main.startsWith("/$bunfs/") || main.includes("~BUN");
}

/**
 * What to hand `new Worker()` for a worker whose source is `sourceUrl` and whose entrypoint, relative to
 * the repository root, is `entry`: the source when running from source, the embedded copy inside a
 * compiled binary (the binary must be built with `entry` as an extra entrypoint; Bun places entrypoints
 * under their common root, with `.js` names).
 */
export function workerUrl(sourceUrl: URL, entry: string): URL | string {
  if (!isCompiledBinary()) return sourceUrl;
  const root = String(g.Bun.main).replace(/\/[^/]*$/, "");
  return `${root}/${entry.replace(/\.ts$/, ".js")}`;
}
