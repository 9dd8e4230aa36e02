/**
 * The Parquet codec of the tier files: layouts (raw and aggregate), writer, reader, footer, pruning, page encoders (`docs/format/tiers.md`).
 *
 * The folder's public surface: what the rest of `src/` uses.
 *
 * @module
 */
export { AGG_LAYOUT, type AggField } from "./agg.ts";
export { type Batch, concatBatches, gatherBatch, type IdentityColumns, sliceBatch } from "./batch.ts";
export { type AggColumns, allocAggColumns, allocRawColumns, putStats, type RawColumns, takeStats } from "./columns.ts";
export { type Compression, pageCompressors } from "./compressors.ts";
export { evictTierFooter, readTierFileInfo, type TierFileInfo } from "./footer.ts";
export { type IdentityRows, SeriesDictionary } from "./identity.ts";
export { type GroupTimes, rowGroupTimes } from "./prune.ts";
export { RAW_LAYOUT, type RawField } from "./raw.ts";
export { iterateAggFile, iterateRawFile, readAggFile, readRawFile } from "./reader.ts";
export { createTierWriter, DEFAULT_ROW_GROUP_ROWS, type TierWriteResult, tierWriterTo } from "./writer.ts";
