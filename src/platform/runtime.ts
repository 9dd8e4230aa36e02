/**
 * The only place that touches `Deno.*` and `Bun.*`: serving HTTP, OS file locks, one-shot zstd and
 * naming the runtime. Everything else in the code base is runtime-neutral (`node:` built-ins, Web APIs).
 *
 * @module
 */
import fs from "node:fs";

// deno-lint-ignore no-explicit-any
const g = globalThis as any;

/** The JavaScript runtime executing this process. */
export const runtimeName: "bun" | "deno" | "node" = g.Bun ? "bun" : g.Deno ? "deno" : "node";

/**
 * zstd of `input` at `level` as one frame with its content size and a content checksum, through the
 * runtime's one-shot call: Bun's (`Bun.zstdCompressSync`, about 3× faster per page than `node:zlib`,
 * which builds a stream object per call: a quarter of a flush's CPU went there), or null where there
 * is none (then use `node:zlib`). The frame is byte for byte what `node:zlib` writes with
 * `ZSTD_c_checksumFlag` and the size pledged (tests/unit/zstd_frame_test.ts): Bun writes no checksum,
 * so the frame header's Content_Checksum_flag is set and the low 32 bits of the content's XXH64 (seed
 * 0) are appended, as RFC 8878 §3.1.1 lays the frame out.
 */
export const zstdOneShot: ((input: Uint8Array, level: number) => Uint8Array) | null = g.Bun?.zstdCompressSync &&
    g.Bun?.hash?.xxHash64
  ? (input, level) => {
    const frame: Uint8Array = g.Bun.zstdCompressSync(input, { level });
    const out = new Uint8Array(frame.length + 4);
    out.set(frame);
    out[4] |= CONTENT_CHECKSUM_FLAG; // Frame_Header_Descriptor follows the 4-byte magic number
    const hash: bigint = g.Bun.hash.xxHash64(input, 0n);
    new DataView(out.buffer).setUint32(frame.length, Number(hash & 0xffffffffn), true);
    return out;
  }
  : null;

/** Bit 2 of a zstd frame's header descriptor: a 4-byte content checksum ends the frame. */
const CONTENT_CHECKSUM_FLAG = 0b100;

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
  /** PEM certificate (chain) and key: HTTPS with the runtime's own TLS. */
  tls?: { cert: string; key: string };
  /**
   * SO_REUSEPORT, so a second listener can take the same port before the first closes (a certificate
   * reload without refusing a connection). Linux; another process of the same user could bind it too.
   */
  reusePort?: boolean;
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
    ...(options.tls ? { tls: { cert: options.tls.cert, key: options.tls.key } } : {}),
    ...(options.reusePort ? { reusePort: true } : {}),
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
        ...(options.tls ? { cert: options.tls.cert, key: options.tls.key } : {}),
        ...(options.reusePort ? { reusePort: true } : {}),
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

/** An exclusive OS lock (`flock`) on an open file. The kernel drops it when the process ends, however it ends. */
export interface OsLock {
  /** Unlocks and closes the file. */
  release(): void;
}

const LOCK_EX = 2, LOCK_NB = 4, EINTR = 4, EWOULDBLOCK = 11;

/**
 * Opens `path` (creating it) and takes an exclusive `flock` on it without waiting. Null when another
 * open file holds it: another process, or another {@link tryOsLock} of this one. The lock is on the
 * file `path` names when it returns: a lock taken on a file that was unlinked or replaced meanwhile
 * (its owner released it by deleting it) is dropped and taken again on the new file.
 */
export async function tryOsLock(path: string): Promise<OsLock | null> {
  for (let attempt = 0; attempt < 3; attempt++) {
    const held = runtimeName === "deno" ? lockDeno(path) : runtimeName === "bun" ? await lockBun(path) : unsupported();
    if (held === null) return null;
    if (sameFile(path, held.ino)) return held;
    held.release();
  }
  return null;
}

interface HeldLock extends OsLock {
  ino: number;
}

function unsupported(): never {
  throw new Error("Cannot lock a file under Node.js: run with Deno or the compiled binary");
}

function sameFile(path: string, ino: number): boolean {
  try {
    return fs.statSync(path).ino === ino;
  } catch {
    return false;
  }
}

/**
 * Opens `path` for locking: read-write (creating it), or read-only when that is refused (another user's
 * data directory, a read-only mount: `flock` needs no write access, and a CLI command only probes).
 */
function openForLock<T>(path: string, readWrite: () => T, readOnly: () => T): T {
  try {
    return readWrite();
  } catch (err) {
    if (!fs.existsSync(path)) throw err;
    return readOnly();
  }
}

function lockDeno(path: string): HeldLock | null {
  const file = openForLock(
    path,
    () => g.Deno.openSync(path, { read: true, write: true, create: true }),
    () => g.Deno.openSync(path, { read: true }),
  );
  let locked = false;
  try {
    locked = file.tryLockSync(true);
    if (!locked) return null;
    return { ino: file.statSync().ino, release: () => file.close() };
  } finally {
    if (!locked) file.close();
  }
}

interface Libc {
  flock(fd: number, operation: number): number;
  errno(): number;
}

let libc: Libc | null = null;

async function lockBun(path: string): Promise<HeldLock | null> {
  const c = libc ??= await loadLibc();
  const fd = openForLock(
    path,
    () => fs.openSync(path, fs.constants.O_RDWR | fs.constants.O_CREAT, 0o644),
    () => fs.openSync(path, fs.constants.O_RDONLY),
  );
  let rc: number;
  while ((rc = c.flock(fd, LOCK_EX | LOCK_NB)) !== 0 && c.errno() === EINTR);
  if (rc !== 0) {
    const errno = c.errno();
    fs.closeSync(fd);
    if (errno === EWOULDBLOCK) return null;
    throw new Error(`Cannot lock ${path}: flock failed with errno ${errno}`);
  }
  return { ino: fs.fstatSync(fd).ino, release: () => fs.closeSync(fd) };
}

/** libc's `flock` through Bun's FFI (Bun has no file-lock API of its own). */
async function loadLibc(): Promise<Libc> {
  const spec = "bun:ffi"; // a variable: Deno must not try to resolve Bun's built-in module
  const ffi = await import(spec);
  const symbols = {
    flock: { args: [ffi.FFIType.i32, ffi.FFIType.i32], returns: ffi.FFIType.i32 },
    __errno_location: { args: [], returns: ffi.FFIType.ptr },
  };
  const problems: string[] = [];
  for (const name of ["libc.so.6", "libc.musl-x86_64.so.1", "libc.musl-aarch64.so.1", `libc.${ffi.suffix}`]) {
    try {
      const lib = ffi.dlopen(name, symbols).symbols;
      return { flock: (fd, op) => lib.flock(fd, op), errno: () => ffi.read.i32(lib.__errno_location(), 0) };
    } catch (err) {
      problems.push(`${name}: ${(err as Error).message}`);
    }
  }
  throw new Error(`Cannot load libc to lock the data directory (${problems.join("; ")})`);
}

/** How {@link collectGarbage} collects: `full`, synchronously now; `hint`, when the runtime sees fit. */
export type Collection = "full" | "hint";

/** Asks the runtime to collect garbage (Bun: `Bun.gc`; elsewhere `gc` when exposed, always full). */
export function collectGarbage(how: Collection): void {
  if (runtimeName === "bun") g.Bun.gc(how === "full");
  else if (typeof g.gc === "function") g.gc();
}

/**
 * `fetch` that also trusts the PEM certificate `caPem` (a server's own, possibly self-signed,
 * certificate), with the runtime's TLS options (Bun's `tls.ca`, Deno's `createHttpClient`).
 */
export function fetchTrusting(url: string, init: RequestInit, caPem: string): Promise<Response> {
  if (runtimeName === "bun") return fetch(url, { ...init, tls: { ca: caPem } } as RequestInit);
  if (runtimeName === "deno") {
    const client = g.Deno.createHttpClient({ caCerts: [caPem] });
    return fetch(url, { ...init, client } as RequestInit);
  }
  return fetch(url, init);
}
