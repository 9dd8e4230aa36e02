/**
 * `POST /api/v1/ingest`: JSON, NDJSON or protobuf, optionally gzip. Answers
 * `200 {"accepted": N, "duplicates": M, "conflicts": K}` only after the durability point (N new samples
 * stored, M skipped as already stored, K of them with a different value); invalid input gets 400 with
 * the index of the first bad sample and leaves no trace.
 *
 * @module
 */
import type { Context } from "hono";
import { MEMORY_COSTS } from "../config/memory_budget.ts";
import { type ScanContext, scanJson } from "../ingest/json_scan.ts";
import { scanProtobuf } from "../ingest/protobuf_scan.ts";
import { BatchPool, type SampleBatch } from "../model/batch.ts";
import type { Clock } from "../platform/clock.ts";
import type { Storage } from "../service/storage.ts";
import { decodeContent, readBody, releaseBody } from "./body.ts";
import { HttpError } from "./errors.ts";

/** Most ingest requests processed at once; more get 429 (bodies are held in memory meanwhile). */
export const MAX_CONCURRENT_INGEST = 256;
/** A body must arrive within this time (a slow trickle must not hold a slot and its memory forever). */
export const BODY_DEADLINE_MS = 30_000;
/** Memory a body takes per byte while it is handled: the bytes, then the decoded batch and WAL record. */
const BODY_EXPANSION = 1 + MEMORY_COSTS.bodyExpansion;
/** What a body of unknown length reserves before it is read. */
const UNKNOWN_LENGTH_STEP = 1 << 20;

/** The ingest requests of a set of routes in flight (at most {@link MAX_CONCURRENT_INGEST}). */
export interface IngestGate {
  active: number;
}

/**
 * Receives one ingest request's body, the same way for every ingest route (ours and the foreign
 * protocols'): readiness, the concurrency limit, early admission, the body's share of the memory budget,
 * the size limit and deadline, then `decodeBody` (`Content-Encoding`); `work` decodes and stores it.
 */
export async function receiveBody<T>(
  c: Context,
  storage: Storage,
  gate: IngestGate,
  work: (body: Uint8Array, deadline: number) => Promise<T>,
  decodeBody: (raw: Uint8Array, encoding: string | null, limit: number) => Uint8Array = decodeContent,
): Promise<T> {
  storage.assertReady();
  if (gate.active >= MAX_CONCURRENT_INGEST) {
    throw new HttpError(429, "overloaded", `More than ${MAX_CONCURRENT_INGEST} ingest requests at once; retry`, {
      "retry-after": "1",
    });
  }
  gate.active++; // counted while it waits for room too: at most MAX_CONCURRENT_INGEST requests are held
  let reserved = 0;
  try {
    const deadline = await storage.admitEarly();
    const limit = storage.config.server.maxBodyBytes;
    const declared = Number(c.req.header("content-length") ?? NaN);
    // a body's share of the memory budget: what it is, plus what it decodes to; a body of unknown
    // length (chunked, gzip) reserves a first step and the rest once its size is known
    const reserve = (bytes: number) => {
      if (!storage.memory.reserveBody(bytes)) {
        throw new HttpError(
          429,
          "overloaded",
          `Request bodies in flight fill their share of server.memory_limit (${storage.plan.bodiesBytes} bytes); retry`,
          { "retry-after": "1" },
        );
      }
      reserved += bytes;
    };
    reserve(Math.min(Number.isFinite(declared) ? declared : UNKNOWN_LENGTH_STEP, limit) * BODY_EXPANSION);
    const raw = await readBody(c.req.raw, limit, BODY_DEADLINE_MS, storage.clock);
    const body = decodeBody(raw, c.req.header("content-encoding") ?? null, limit);
    if (body.length * BODY_EXPANSION > reserved) reserve(body.length * BODY_EXPANSION - reserved);
    storage.assertReady();
    return await work(body, deadline);
  } finally {
    gate.active--;
    storage.memory.releaseBody(reserved);
  }
}

/** The route handler. */
export function ingestHandler(storage: Storage, clock: Clock): (c: Context) => Promise<Response> {
  const gate: IngestGate = { active: 0 };
  const pool = new BatchPool();
  return (c) =>
    receiveBody(c, storage, gate, async (body, deadline) => {
      const type = mediaType(c.req.header("content-type"));
      const batch = decode(type, body, clock.now(), storage.scanContext(), pool);
      // the batch holds no view of the body: its memory goes back to the allocator now, warm for the next
      // request's body, instead of piling up until a collection (fresh memory costs a page fault per 4 KiB)
      releaseBody(body);
      let result;
      try {
        result = await storage.ingestScanned(batch, deadline);
      } finally {
        pool.give(batch); // nothing holds a batch once its ingest settled (stored, or refused leaving no trace)
      }
      const { accepted, duplicates, conflicts } = result;
      const level = storage.backpressure;
      return c.json(
        { accepted, duplicates, conflicts },
        200,
        level === "none" ? {} : { "x-stalker-backpressure": level },
      );
    });
}

function mediaType(header: string | undefined): string {
  return (header ?? "").split(";")[0].trim().toLowerCase();
}

function decode(type: string, body: Uint8Array, now: number, ctx: ScanContext, pool: BatchPool): SampleBatch {
  switch (type) {
    case "application/json":
      return scanJson(body, ctx, now, "json", pool);
    case "application/x-ndjson":
    case "application/ndjson":
    case "application/jsonl":
      return scanJson(body, ctx, now, "ndjson", pool);
    case "application/x-protobuf":
    case "application/protobuf":
    case "application/vnd.google.protobuf":
      return scanProtobuf(body, ctx, now, pool);
    default:
      throw new HttpError(
        415,
        "unsupported_media_type",
        `Content-Type "${
          type || "(none)"
        }" is not supported: use application/json, application/x-ndjson or application/x-protobuf`,
      );
  }
}
