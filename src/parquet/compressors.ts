/**
 * Page compression of tier files: the configured algorithm (`features.compression`) mapped to a
 * Parquet codec and its compressor, plus the decompressors the reader needs. zstd and gzip use
 * `node:zlib` (native in Deno and Bun), except zstd compression on Bun, which goes through the
 * runtime's one-shot call for the same frame (`zstdOneShot`); snappy uses the pure-JS codecs built
 * into hyparquet-writer (compress) and hyparquet (decompress).
 *
 * @module
 */
import zlib from "node:zlib";
import type { CompressionCodec, Compressors } from "hyparquet";
import type { CompressionAlgorithm } from "../config/schema.ts";
import { zstdOneShot } from "../platform/runtime.ts";

/** How pages are compressed: the algorithm and its level (zstd 1-19, gzip 1-9; ignored otherwise). */
export interface Compression {
  algorithm: CompressionAlgorithm;
  level: number;
}

/** A function that compresses one page. */
export type PageCompressor = (input: Uint8Array) => Uint8Array;

const CODEC: Readonly<Record<CompressionAlgorithm, CompressionCodec>> = {
  zstd: "ZSTD",
  snappy: "SNAPPY",
  gzip: "GZIP",
  none: "UNCOMPRESSED",
};

/** The Parquet codec of a compression algorithm. */
export function parquetCodec(algorithm: CompressionAlgorithm): CompressionCodec {
  const codec = CODEC[algorithm];
  if (!codec) throw new RangeError(`Unknown compression "${algorithm}": use zstd, snappy, gzip or none`);
  return codec;
}

/**
 * The page compressors hyparquet-writer needs for `compression`: zstd and gzip at the configured
 * level (gzip capped at 9). Snappy and none need none (hyparquet-writer has snappy built in).
 *
 * @example
 * ```ts
 * import { pageCompressors, PAGE_DECOMPRESSORS } from "./compressors.ts";
 * const zstd = pageCompressors({ algorithm: "zstd", level: 3 }).ZSTD!;
 * const page = new TextEncoder().encode("aaaaaaaaaaaaaaaa");
 * const back = PAGE_DECOMPRESSORS.ZSTD!(zstd(page), page.length);
 * if (back.length !== 16) throw new Error("round trip");
 * ```
 */
export function pageCompressors(compression: Compression): Partial<Record<CompressionCodec, PageCompressor>> {
  switch (compression.algorithm) {
    case "zstd":
      return { ZSTD: zstdCompressor(compression.level) };
    case "gzip":
      return { GZIP: (input) => zlib.gzipSync(input, { level: Math.min(9, Math.max(1, compression.level)) }) };
    case "snappy":
    case "none":
      return {};
  }
  throw new RangeError(`Unknown compression "${compression.algorithm}": use zstd, snappy, gzip or none`);
}

/**
 * zstd at `level`, with a content checksum in every page (4 bytes: a damaged page fails to
 * decompress instead of decoding to wrong values). The page size is pledged: without it zstd sizes
 * its context for an unknown input (level 19: ≈ 0.3 s per call under Deno); with it a page
 * compresses in ≈ 0.1 ms.
 */
function zstdCompressor(level: number): PageCompressor {
  if (zstdOneShot) return (input) => zstdOneShot!(input, level); // the same bytes, a third of the CPU (Bun)
  const params = { [zlib.constants.ZSTD_c_compressionLevel]: level, [zlib.constants.ZSTD_c_checksumFlag]: 1 };
  return (input) => {
    // `pledgedSrcSize` is supported by Node, Deno and Bun but missing from the type definitions
    const options: zlib.ZstdOptions & { pledgedSrcSize: number } = { params, pledgedSrcSize: input.length };
    return zlib.zstdCompressSync(input, options);
  };
}

/**
 * Page decompressors for the reader: zstd and gzip through `node:zlib`. Snappy and uncompressed pages
 * are handled by hyparquet itself.
 */
export const PAGE_DECOMPRESSORS: Compressors = {
  ZSTD: (input) => zlib.zstdDecompressSync(input),
  GZIP: (input) => zlib.gunzipSync(input),
};
