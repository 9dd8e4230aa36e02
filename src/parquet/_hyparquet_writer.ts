/**
 * The one place that reaches past hyparquet-writer's public API (`ParquetWriter`, `ByteWriter`,
 * `parquetWrite*`): its per-column encoder and four page-level helpers, reached through the
 * package's `./src/*.js` export, which its index does not name and may change in any release.
 *
 * Why the public API is not enough: `ParquetWriter.write` takes one page size for every column of a
 * row group, while tier files need two (small pages on the columns a lookup reads, one page per row
 * group for `poll_ms`: see row_group.ts); and the fast column writers (fast_column.ts) write the same
 * bytes as `writeColumn` without its per-value BigInt work, which needs its page header, dictionary
 * page, RLE/bit-packing and statistics encoders. Everything else imports hyparquet-writer's index;
 * `scripts/check_layers.ts` refuses a `<package>/src/` import anywhere but here.
 *
 * On an upgrade of hyparquet-writer (pinned exactly in deno.json): the type check catches a renamed
 * or re-typed helper, and `tests/unit/tier/parquet_fast_column_test.ts` compares the fast writers'
 * bytes with `writeColumn`'s, so a changed encoding fails there.
 *
 * @module
 */
import { writeColumn as libraryWriteColumn } from "hyparquet-writer/src/column.js";

export { writePageHeader } from "hyparquet-writer/src/datapage.js";
export { writeDictionaryPage } from "hyparquet-writer/src/dictionary.js";
export { writeRleBitPackedHybrid } from "hyparquet-writer/src/encoding.js";
export { unconvertMinMax } from "hyparquet-writer/src/unconvert.js";
export { snappyCompress } from "hyparquet-writer/src/snappy.js";

/** Writes one column chunk (all its pages) and returns its metadata and page indexes. */
export const writeColumn: typeof libraryWriteColumn = libraryWriteColumn;

type WriteColumnArgs = Parameters<typeof libraryWriteColumn>[0];
/** How a column chunk is written: schema element, codec, page size, encoding, indexes. */
export type ColumnEncoder = WriteColumnArgs["column"];
/** The values and levels of a column chunk. */
export type PageData = WriteColumnArgs["pageData"];
/** hyparquet-writer's output sink. */
export type Writer = WriteColumnArgs["writer"];
/** A written column chunk: its metadata and (when asked for) its page indexes. */
export type ColumnResult = ReturnType<typeof libraryWriteColumn>;
/** The column index of a chunk, as hyparquet-writer collects it (its own hyparquet version's type). */
export type PageColumnIndex = NonNullable<ColumnResult["columnIndex"]>;
