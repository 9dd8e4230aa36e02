/**
 * The tier file writer behind `createTierWriter` (`parquet_writer.ts`): buffers batches into row
 * groups, encodes them column by column into an atomic file, and writes the footer on `finish()`.
 *
 * @module
 */
import { setImmediate } from "node:timers";
import { ByteWriter as PageWriter, ParquetWriter } from "hyparquet-writer";
import type { AtomicFile } from "../platform/atomic.ts";
import { pageCompressors, parquetCodec } from "./compressors.ts";
import { assertSorted, type Batch, concatBatches, type IdentityColumns, sliceBatch, type SortKey } from "./batch.ts";
import { assertIntegers, EncodeScratch, type LayoutParams, type TierLayout } from "./layout.ts";
import { appendRowGroup } from "./row_group.ts";
import {
  type ColumnSpec,
  CREATED_BY,
  KV_KEYS,
  pageBytesFor,
  schemaOf,
  STATISTICS_MAX_BYTES,
  TIER_FORMAT,
  TIER_FORMAT_VERSION,
} from "./schema.ts";
import type { TierWriter, TierWriteResult, TierWriterOptions } from "./writer.ts";

/**
 * Rows per row group: the unit of encoding between two yields to the event loop, of row-group
 * pruning and of `iterate*File` batches, and the page of `poll_ms` and of mostly-null columns.
 */
export const DEFAULT_ROW_GROUP_ROWS = 65_536;

/** Lets timers and I/O callbacks run (`setImmediate`: ≈ 10 µs, where `setTimeout(0)` costs 1-2 ms). */
function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** A hyparquet-writer `Writer` that hands the bytes written so far to the atomic file on `flush`. */
class FileSink extends PageWriter {
  constructor(private readonly file: AtomicFile) {
    super(1 << 16);
  }

  /**
   * Hands the bytes to the file as a view, not a copy: the file has read them when the returned
   * promise settles (`AtomicFile.write`), and every flush is awaited before anything more is appended.
   */
  flush(): Promise<void> {
    const chunk = new Uint8Array(this.buffer, 0, this.index);
    this.index = 0;
    return this.file.write(chunk);
  }

  override finish(): Promise<void> {
    return this.flush();
  }
}

type State = "open" | "finished" | "aborted";

/** A {@link TierWriter} over a layout and an atomic file. */
export class TierFileWriter<C extends Batch & IdentityColumns> implements TierWriter<C> {
  rows = 0;
  private rowGroups = 0;
  private pending: C[] = [];
  /** Rows of `pending[0]` already taken. */
  private pendingOffset = 0;
  private pendingRows = 0;
  private lastKey: SortKey | null = null;
  private minTs = Infinity;
  private maxTs = -Infinity;
  private parquet: { writer: ParquetWriter; sink: FileSink; specs: ColumnSpec[]; params: LayoutParams } | null = null;
  private state: State = "open";
  private readonly scratch = new EncodeScratch();

  constructor(
    private readonly layout: TierLayout<C, string>,
    private readonly file: AtomicFile,
    private readonly options: TierWriterOptions,
  ) {}

  get path(): string {
    return this.file.path;
  }

  write(batch: C): Promise<void> {
    return this.guard("write", async () => {
      this.accept(batch);
      const rowGroupRows = this.options.rowGroupRows ?? DEFAULT_ROW_GROUP_ROWS;
      while (this.pendingRows >= rowGroupRows) await this.writeRowGroup(rowGroupRows);
    });
  }

  finish(): Promise<TierWriteResult> {
    return this.guard("finish", async () => {
      if (this.pendingRows > 0) await this.writeRowGroup(this.pendingRows);
      if (!this.parquet) throw new RangeError(`Cannot finish ${this.path}: no rows were written (abort instead)`);
      this.parquet.writer.kvMetadata = this.kvMetadata();
      await this.parquet.writer.finish();
      await this.file.commit();
      this.state = "finished";
      const { path, rows, rowGroups, minTs, maxTs } = this;
      return { path, bytes: this.file.bytesWritten, rows, rowGroups, minTs, maxTs };
    });
  }

  async abort(): Promise<void> {
    if (this.state === "open") this.state = "aborted";
    await this.file.abort();
  }

  /** Validates a batch and queues it. */
  private accept(batch: C): void {
    if (batch.length === 0) return;
    const time = this.layout.time(batch);
    assertIntegers(time, Number.MIN_SAFE_INTEGER, this.layout.timeColumn, this.path);
    this.layout.validate(batch, this.path);
    this.lastKey = assertSorted(batch, time, this.lastKey, this.path);
    for (let i = 0; i < time.length; i++) {
      if (time[i] < this.minTs) this.minTs = time[i];
      if (time[i] > this.maxTs) this.maxTs = time[i];
    }
    this.pending.push(batch);
    this.pendingRows += batch.length;
    this.rows += batch.length;
  }

  /** Encodes and appends the first `rows` pending rows as one row group. */
  private async writeRowGroup(rows: number): Promise<void> {
    const group = this.takePending(rows);
    await yieldToEventLoop();
    const parquet = this.parquet ?? this.start(group);
    const data = this.layout.encode(group, parquet.params, this.scratch);
    const pageRows = this.options.pageRows ?? this.layout.defaultPageRows;
    const overrides = this.layout.encodingOverrides?.(data) ?? {};
    const columns = parquet.specs.map((spec) => ({
      spec: spec.element.name in overrides ? { ...spec, encoding: overrides[spec.element.name] } : spec,
      pageBytes: pageBytesFor(spec, pageRows),
      data: data[spec.element.name],
    }));
    await appendRowGroup(parquet.writer, columns, rows, async () => {
      await parquet.sink.flush();
      await yieldToEventLoop();
    });
    this.rowGroups++;
  }

  /** Removes the first `rows` pending rows and returns them as one batch (linear: no copy of the rest). */
  private takePending(rows: number): C {
    const parts: C[] = [];
    for (let need = rows; need > 0;) {
      const head = this.pending[0];
      const take = Math.min(head.length - this.pendingOffset, need);
      const whole = this.pendingOffset === 0 && take === head.length;
      parts.push(whole ? head : sliceBatch(head, this.pendingOffset, this.pendingOffset + take));
      this.pendingOffset += take;
      need -= take;
      if (this.pendingOffset === head.length) [this.pending, this.pendingOffset] = [this.pending.slice(1), 0];
    }
    this.pendingRows -= rows;
    return parts.length === 1 ? parts[0] : concatBatches(parts);
  }

  /** Creates the Parquet writer once the first row group fixed the per-file parameters. */
  private start(first: C): NonNullable<TierFileWriter<C>["parquet"]> {
    const params = this.options.gaugeScale === undefined
      ? this.layout.chooseParams(first)
      : { gaugeScale: this.options.gaugeScale };
    const specs = this.layout.specs(params);
    const sink = new FileSink(this.file);
    const writer = new ParquetWriter({
      writer: sink,
      schema: schemaOf(specs),
      codec: parquetCodec(this.options.compression.algorithm),
      compressors: pageCompressors(this.options.compression),
      statisticsTruncateLength: STATISTICS_MAX_BYTES,
      createdBy: CREATED_BY,
    });
    this.parquet = { writer, sink, specs, params };
    return this.parquet;
  }

  private kvMetadata(): { key: string; value: string }[] {
    const kv: Record<string, string> = {
      [KV_KEYS.format]: TIER_FORMAT,
      [KV_KEYS.formatVersion]: String(TIER_FORMAT_VERSION),
      [KV_KEYS.tier]: this.options.tier,
      [KV_KEYS.rows]: String(this.rows),
      [KV_KEYS.minTs]: String(this.minTs),
      [KV_KEYS.maxTs]: String(this.maxTs),
      ...(this.options.tier === "raw" ? { [KV_KEYS.gaugeScale]: String(this.parquet!.params.gaugeScale) } : {}),
      ...this.options.kv,
    };
    return Object.entries(kv).map(([key, value]) => ({ key, value }));
  }

  /** Runs an operation of an open writer; any failure aborts the file. */
  private async guard<T>(action: string, operation: () => Promise<T>): Promise<T> {
    if (this.state !== "open") throw new TypeError(`Cannot ${action} ${this.path}: the writer is ${this.state}`);
    try {
      return await operation();
    } catch (err) {
      await this.abort();
      throw err;
    }
  }
}
