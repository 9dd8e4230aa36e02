/**
 * Encodes tier files in memory (the bytes are written atomically by the caller): used by flush
 * encoding and rollups, on worker threads or inline. Columns arrive in batches, so a large file never
 * needs all its rows as columns at once: each batch is encoded into row groups and dropped.
 *
 * @module
 */
import type { EncodedFile } from "../aggregate/flush_batch.ts";
import type { CompressionAlgorithm } from "../config/schema.ts";
import type { AtomicFile } from "../platform/atomic.ts";
import { type AggColumns, DEFAULT_ROW_GROUP_ROWS, type RawColumns, tierWriterTo } from "../parquet/mod.ts";

/** Compression of the files. */
export interface EncodeOptions {
  compression: { algorithm: CompressionAlgorithm; level: number };
  /**
   * Called after each batch is encoded. The flush encoder thread collects garbage there once enough
   * has built up (`collectWhenGrown`): JavaScriptCore otherwise lets a flush's garbage (row-group
   * columns, pages, sketches) reach 200 MB before the job ends, resident memory the budget must hold.
   */
  afterBatch?: () => void;
}

/**
 * Encodes `batches` (sorted, and in order) as one tier file. Each batch is taken only once the
 * previous one is encoded, so a generator keeps one batch of columns alive at a time.
 *
 * `reused`: the generator fills the same arrays for every batch (fresh memory costs a page fault per
 * 4 KiB, more than filling it on the 2-core box). Every batch but the last must then be exactly one
 * row group ({@link DEFAULT_ROW_GROUP_ROWS} rows), so that the writer has encoded it before the next is
 * asked for; anything else throws.
 */
export async function encode(
  tier: EncodedFile["tier"],
  partition: number,
  batches: Iterable<RawColumns | AggColumns>,
  opts: EncodeOptions,
  arrays: "fresh" | "reused" = "fresh",
): Promise<EncodedFile> {
  const sink = new MemorySink(`${tier}/${partition}.parquet`);
  const writer = tierWriterTo(sink, { tier, compression: opts.compression });
  let pending = false;
  for (const cols of batches) {
    if (pending) {
      await writer.abort();
      throw new RangeError(`Cannot encode ${sink.path}: a reused batch was left pending (not a whole row group)`);
    }
    await (writer.write as (c: RawColumns | AggColumns) => Promise<void>)(cols);
    pending = arrays === "reused" && writer.rows % DEFAULT_ROW_GROUP_ROWS !== 0;
    opts.afterBatch?.();
  }
  const r = await writer.finish();
  return { tier, partition, bytes: sink.bytes(), rows: r.rows, minTs: r.minTs, maxTs: r.maxTs };
}

/**
 * A buffer a {@link MemorySink} left, for the next file of this thread: a file's bytes are copied
 * into memory already touched instead of fresh pages (a page fault per 4 KiB). At most one is kept,
 * and none above {@link SPARE_MAX_BYTES}.
 */
let spare: Uint8Array | null = null;
const SPARE_MAX_BYTES = 32 * 1024 * 1024;

/** An {@link AtomicFile} that keeps the bytes in memory; `bytes()` returns them as one exact array. */
class MemorySink implements AtomicFile {
  private buf: Uint8Array;
  bytesWritten = 0;

  constructor(readonly path: string) {
    this.buf = spare ?? new Uint8Array(1 << 20);
    spare = null;
  }

  get tempPath(): string {
    return this.path;
  }

  write(data: Uint8Array): Promise<void> {
    const end = this.bytesWritten + data.length;
    if (end > this.buf.length) {
      const grown = new Uint8Array(Math.max(end, 2 * this.buf.length));
      grown.set(this.buf.subarray(0, this.bytesWritten));
      this.buf = grown;
    }
    this.buf.set(data, this.bytesWritten); // copied now: the writer reuses `data`
    this.bytesWritten = end;
    return Promise.resolve();
  }

  commit(): Promise<void> {
    return Promise.resolve();
  }

  abort(): Promise<void> {
    this.release();
    return Promise.resolve();
  }

  bytes(): Uint8Array {
    const out = this.buf.slice(0, this.bytesWritten);
    this.release();
    return out;
  }

  private release(): void {
    if (this.buf.length > 0 && this.buf.length <= SPARE_MAX_BYTES && (!spare || spare.length < this.buf.length)) {
      spare = this.buf;
    }
    this.buf = new Uint8Array(0);
  }
}
