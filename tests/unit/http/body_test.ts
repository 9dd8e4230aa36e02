import test from "node:test";
import assert from "node:assert/strict";
import { gzipSync } from "node:zlib";
import { decodeContent, releaseBody } from "../../../src/http/body.ts";
import { memApp } from "../../app_helper.ts";

const NOW = Date.UTC(2026, 10, 25, 12);

test("releaseBody detaches a body's own buffer and leaves a view of a larger buffer alone", () => {
  const own = new TextEncoder().encode('[{"x":1}]');
  releaseBody(own);
  assert.equal(own.buffer.detached, true);
  assert.equal(own.length, 0);
  const shared = new Uint8Array(64);
  const part = shared.subarray(8, 16);
  releaseBody(part);
  assert.equal(shared.buffer.detached, false, "a part of a buffer someone else holds is not ours to free");
  assert.equal(part.length, 8);
});

/** Records the buffers `Request.arrayBuffer()` hands out until `restore()`. */
function recordBodies(): { read: ArrayBuffer[]; restore: () => void } {
  const read: ArrayBuffer[] = [];
  const arrayBuffer = Request.prototype.arrayBuffer;
  Request.prototype.arrayBuffer = async function () {
    const buffer = await arrayBuffer.call(this);
    read.push(buffer);
    return buffer;
  };
  return { read, restore: () => (Request.prototype.arrayBuffer = arrayBuffer) };
}

for (const gzip of [false, true]) {
  test(`an ingested ${gzip ? "gzip " : ""}body's memory is given back once it is decoded, and its samples are stored`, async () => {
    const { app, storage, series } = await memApp("", "", NOW);
    const { read, restore } = recordBodies();
    try {
      const samples = Array.from({ length: 50 }, (_, i) => ({
        namespace: "prod",
        target: `r${i}`,
        poller: "cpu",
        timestamp_ms: NOW - 60_000,
        value: i,
      }));
      const text = JSON.stringify(samples);
      const bytes = gzip ? new Uint8Array(gzipSync(text)) : new TextEncoder().encode(text);
      const res = await app.request("/api/v1/ingest", {
        method: "POST",
        body: bytes,
        headers: {
          "content-type": "application/json",
          "content-length": String(bytes.length), // a declared length: the body is read whole, as Bun serves it
          ...(gzip ? { "content-encoding": "gzip" } : {}),
        },
      });
      assert.equal(res.status, 200);
      assert.equal((await res.json()).accepted, 50);
      assert.equal(read.length, 1);
      // a gzip body's decoded copy is released; the compressed bytes are left to the collector
      if (!gzip) assert.equal(read[0].detached, true, "the body's buffer is detached after the decode");
      assert.equal((await series()).length, 50);
    } finally {
      restore();
      await storage.close();
    }
  });
}

test("an Influx line-protocol body's memory is given back once it is parsed, and its samples are stored", async () => {
  const { app, storage, series } = await memApp("", "", NOW);
  const { read, restore } = recordBodies();
  try {
    const lines = Array.from({ length: 20 }, (_, i) => `cpu,host=h${i} usage=${i} ${(NOW - 60_000) * 1e6}`);
    const bytes = new TextEncoder().encode(lines.join("\n"));
    const res = await app.request("/api/v2/write?bucket=prod", {
      method: "POST",
      body: bytes,
      headers: { "content-type": "text/plain", "content-length": String(bytes.length) },
    });
    assert.equal(res.status, 204);
    assert.equal(read.length, 1);
    assert.equal(read[0].detached, true, "the body's buffer is detached after the parse");
    assert.equal((await series()).length, 20);
  } finally {
    restore();
    await storage.close();
  }
});

test("a gzip body decodes to a plain view of its bytes, which releaseBody gives back", () => {
  const text = JSON.stringify(Array.from({ length: 2000 }, (_, i) => ({ target: `r${i}`, value: i })));
  const decoded = decodeContent(new Uint8Array(gzipSync(text)), "gzip", 1 << 24);
  assert.equal(Object.getPrototypeOf(decoded), Uint8Array.prototype, "a Uint8Array, not a Buffer");
  assert.equal(new TextDecoder().decode(decoded), text);
  releaseBody(decoded);
  assert.equal((decoded.buffer as ArrayBuffer).detached, true, "the decoded bytes' memory is given back");
});
