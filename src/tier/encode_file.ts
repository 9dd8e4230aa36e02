/**
 * Encodes columns as one complete tier file in memory (the bytes are written atomically by the
 * caller): used by flush encoding and rollups, on worker threads or inline.
 *
 * @module
 */
import type { EncodedFile } from "../aggregate/flush_batch.ts";
import type { CompressionAlgorithm } from "../config/schema.ts";
import type { AggregateTier } from "../model/tier.ts";
import { MemFs } from "../platform/mem_fs.ts";
import type { AggColumns, RawColumns } from "./columns.ts";
import { createTierWriter } from "./parquet_writer.ts";

/** Compression of the files. */
export interface EncodeOptions {
  compression: { algorithm: CompressionAlgorithm; level: number };
}

/** Encodes aggregate columns as one tier file. */
export function encodeAggFile(
  tier: AggregateTier,
  partition: number,
  cols: AggColumns,
  opts: EncodeOptions,
): Promise<EncodedFile> {
  return encode(tier, partition, cols, opts);
}

export async function encode(
  tier: EncodedFile["tier"],
  partition: number,
  cols: RawColumns | AggColumns,
  opts: EncodeOptions,
): Promise<EncodedFile> {
  const fs = new MemFs();
  const path = "/encode/file.parquet";
  const writer = await createTierWriter(fs, path, { tier, compression: opts.compression } as never);
  await (writer.write as (c: RawColumns | AggColumns) => Promise<void>)(cols);
  const r = await writer.finish();
  return { tier, partition, bytes: await fs.readFile(path), rows: r.rows, minTs: r.minTs, maxTs: r.maxTs };
}
