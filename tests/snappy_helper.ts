/** A valid snappy block of literals only (tests: the server decodes real compressed blocks from vmagent too). */
export function snappyLiterals(data: Uint8Array): Uint8Array<ArrayBuffer> {
  const out: number[] = [];
  let n = data.length;
  do {
    out.push(n > 0x7f ? (n & 0x7f) | 0x80 : n);
    n = Math.floor(n / 128);
  } while (n > 0);
  for (let i = 0; i < data.length; i += 65_536) {
    const chunk = data.subarray(i, i + 65_536);
    const len = chunk.length - 1;
    out.push(63 << 2, len & 0xff, (len >> 8) & 0xff, (len >> 16) & 0xff, (len >>> 24) & 0xff);
    for (const b of chunk) out.push(b);
  }
  return new Uint8Array(out);
}
