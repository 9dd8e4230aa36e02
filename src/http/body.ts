/**
 * Reading request bodies with a hard size limit: a declared `Content-Length` over the limit is refused
 * before anything is read, a chunked body is counted as it arrives and cut off at the limit, and a
 * gzip body is refused as soon as its decompressed size passes the limit (no zip bombs).
 *
 * @module
 */
import zlib from "node:zlib";
import { type Clock, systemClock } from "../platform/clock.ts";
import { HttpError } from "./errors.ts";

function tooLarge(limit: number, what = "body"): HttpError {
  return new HttpError(
    413,
    "body_too_large",
    `The request ${what} is larger than server.max_body_bytes (${limit} bytes)`,
  );
}

/** Why a body's deadline timer is cancelled: the body was read (or failed) in time. */
const BODY_READ = Symbol("body read");

/**
 * The raw request body, at most `limit` bytes, arriving within `deadlineMs` on `clock` (else 408: a
 * client that trickles its body must not hold an ingest slot and its memory forever).
 */
export async function readBody(
  req: Request,
  limit: number,
  deadlineMs = Infinity,
  clock: Clock = systemClock,
): Promise<Uint8Array> {
  const declared = req.headers.get("content-length");
  if (declared !== null && Number(declared) > limit) throw tooLarge(limit);
  if (!req.body) return new Uint8Array(0);
  if (!Number.isFinite(deadlineMs)) return await readAll(req, declared !== null, limit);
  const timer = new AbortController();
  const deadline = new Promise<never>((_, reject) => {
    clock.setTimer(deadlineMs, () => {
      req.body?.cancel().catch(() => {});
      reject(
        new HttpError(408, "body_timeout", `The request body did not arrive within ${deadlineMs / 1000} s`, {
          connection: "close",
        }),
      );
    }, timer.signal);
  });
  const reading = readAll(req, declared !== null, limit);
  reading.catch(() => {}); // when the deadline wins, the read fails later: nobody awaits it then
  try {
    return await Promise.race([reading, deadline]);
  } finally {
    timer.abort(BODY_READ); // a reason of our own: abort() without one builds a DOMException with a stack, per request
  }
}

async function readAll(req: Request, declared: boolean, limit: number): Promise<Uint8Array> {
  // A declared length bounds the body (HTTP framing reads exactly that many bytes): let the runtime
  // buffer it natively, several times cheaper than pulling the stream chunk by chunk.
  if (declared) return new Uint8Array(await req.arrayBuffer());
  const reader = req.body!.getReader();
  const parts: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.length;
    if (size > limit) {
      await reader.cancel().catch(() => {});
      throw tooLarge(limit);
    }
    parts.push(value);
  }
  if (parts.length === 1) return parts[0];
  const out = new Uint8Array(size);
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

/** Decodes `Content-Encoding` (identity or gzip), keeping the decoded size within `limit`. */
export function decodeContent(body: Uint8Array, encoding: string | null, limit: number): Uint8Array {
  const enc = (encoding ?? "identity").trim().toLowerCase();
  if (enc === "identity" || enc === "") return body;
  if (enc !== "gzip" && enc !== "x-gzip") {
    throw new HttpError(
      415,
      "unsupported_encoding",
      `Content-Encoding "${encoding}" is not supported (use gzip or none)`,
    );
  }
  try {
    // a view of the decoded bytes, not a copy: with `releaseBody` their memory is reused warm by the next
    // body (a copy left gunzip's output for the collector: 3-4x the CPU per 156 KB body on Bun)
    const decoded = zlib.gunzipSync(body, { maxOutputLength: limit });
    return new Uint8Array(decoded.buffer, decoded.byteOffset, decoded.byteLength);
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (code === "ERR_BUFFER_TOO_LARGE" || /larger than|maxOutputLength|too large/i.test((err as Error).message)) {
      throw tooLarge(limit, "body after gzip decoding");
    }
    throw new HttpError(400, "invalid_gzip", `Cannot decode the gzip body: ${(err as Error).message}`);
  }
}

/**
 * Gives a body's memory back to the allocator now instead of at the next garbage collection, once nothing
 * reads it any more (detaches its buffer; a view of part of a larger buffer is left alone).
 */
export function releaseBody(body: Uint8Array): void {
  const buffer = body.buffer;
  if (body.byteOffset === 0 && body.byteLength === buffer.byteLength && buffer instanceof ArrayBuffer) {
    buffer.transfer(0);
  }
}
