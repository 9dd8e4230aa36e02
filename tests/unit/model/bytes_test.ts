import test from "node:test";
import assert from "node:assert/strict";
import { ByteReader, ByteWriter, SMALL_COPY } from "../../../src/model/bytes.ts";

/** The format's string: LEB128 length of the UTF-8 bytes, then the bytes (what TextEncoder writes). */
function reference(s: string): Uint8Array {
  const utf8 = new TextEncoder().encode(s);
  const out: number[] = [];
  let n = utf8.length;
  while (n > 0x7f) {
    out.push((n & 0x7f) | 0x80);
    n >>>= 7;
  }
  out.push(n, ...utf8);
  return Uint8Array.from(out);
}

test("strings are written as varint length + UTF-8 whatever path writes them, and read back", () => {
  const strings = [
    "",
    "a",
    "prod",
    "ifHCInOctets.Gi0-1-25",
    "x".repeat(42),
    "x".repeat(43),
    "x".repeat(127), // the longest one-byte length
    "x".repeat(128), // a two-byte length
    "x".repeat(5_000),
    "\u007f",
    "é",
    "router-é",
    "a".repeat(60) + "é", // ASCII, then not: the bytes written so far are rewritten
    "a".repeat(126) + "é", // ASCII length < 128, UTF-8 length 128: the length takes two bytes
    "\u{1F600}",
    "\uD800", // a lone surrogate: U+FFFD, as TextEncoder writes it
    "日本語のターゲット",
  ];
  const w = new ByteWriter(8); // small: growth on the way
  const expected: number[] = [];
  for (const s of strings) {
    w.u8(0xaa); // a neighbour byte each side: a wrong length would shift it
    w.string(s);
    expected.push(0xaa, ...reference(s));
  }
  assert.deepEqual(Array.from(w.bytes()), expected);
  const r = new ByteReader(w.bytes());
  for (const s of strings) {
    assert.equal(r.u8(), 0xaa);
    assert.equal(r.string(), s === "\uD800" ? "\uFFFD" : s);
  }
});

test("raw bytes are appended whole on both sides of the small-copy size, at any position", () => {
  const w = new ByteWriter(8);
  const parts = [0, 1, SMALL_COPY - 1, SMALL_COPY, SMALL_COPY + 1, 3 * SMALL_COPY, 5].map((n, k) =>
    Uint8Array.from({ length: n }, (_, i) => (i * 31 + k) & 0xff)
  );
  for (const p of parts) {
    w.u8(0xee);
    w.raw(p);
  }
  const expected = parts.flatMap((p) => [0xee, ...p]);
  assert.deepEqual([...w.bytes()], expected);
});
