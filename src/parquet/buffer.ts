/**
 * An hyparquet `AsyncBuffer` over an open file of the file-system port, counting what it reads
 * (tests use the counts to prove that pruning skips pages; the bench reports them).
 *
 * @module
 */
import type { AsyncBuffer } from "hyparquet";
import { CorruptionError } from "../model/errors.ts";
import type { FileHandle } from "../platform/fs.ts";

/** Reads up to this many bytes synchronously (page-cache hits; lower latency than a promise round trip). */
const SYNC_READ_MAX_BYTES = 256 * 1024;

/** I/O done through a buffer. */
export interface ReadStats {
  /** Bytes read from the file. */
  bytes: number;
  /** Number of reads. */
  reads: number;
}

/** A fresh, zeroed {@link ReadStats}. */
export function newReadStats(): ReadStats {
  return { bytes: 0, reads: 0 };
}

/**
 * An `AsyncBuffer` reading `handle` (of `size` bytes). Small slices use `readSync`, large ones `read`.
 * A slice that ends past the end of the file (a file shrunk under us) throws a CorruptionError.
 *
 * @example
 * ```ts
 * import { MemFs } from "../platform/mem_fs.ts";
 * import { fileBuffer, newReadStats } from "./buffer.ts";
 * const fs = new MemFs();
 * await fs.writeFile("/f", new Uint8Array([1, 2, 3, 4]));
 * const stats = newReadStats();
 * const buffer = fileBuffer(await fs.open("/f", "r"), 4, stats);
 * const bytes = new Uint8Array(await buffer.slice(1, 3));
 * if (bytes[0] !== 2 || stats.bytes !== 2) throw new Error("slice");
 * ```
 */
export function fileBuffer(handle: FileHandle, size: number, stats?: ReadStats): AsyncBuffer {
  return {
    byteLength: size,
    slice(start: number, end = size): ArrayBuffer | Promise<ArrayBuffer> {
      const into = new Uint8Array(end - start);
      if (stats) {
        stats.bytes += into.length;
        stats.reads++;
      }
      return into.length <= SYNC_READ_MAX_BYTES ? readFullySync(handle, into, start) : readFully(handle, into, start);
    },
  };
}

function readFullySync(handle: FileHandle, into: Uint8Array, start: number): ArrayBuffer {
  let done = 0;
  while (done < into.length) {
    const n = handle.readSync(into.subarray(done), start + done);
    if (n === 0) throw endsEarly(handle, start, into.length, done);
    done += n;
  }
  return into.buffer as ArrayBuffer;
}

async function readFully(handle: FileHandle, into: Uint8Array, start: number): Promise<ArrayBuffer> {
  let done = 0;
  while (done < into.length) {
    const n = await handle.read(into.subarray(done), start + done);
    if (n === 0) throw endsEarly(handle, start, into.length, done);
    done += n;
  }
  return into.buffer as ArrayBuffer;
}

function endsEarly(handle: FileHandle, start: number, wanted: number, got: number): CorruptionError {
  return new CorruptionError(handle.path, start + got, `file ends early: wanted ${wanted} bytes, got ${got}`);
}
