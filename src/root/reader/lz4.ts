/**
 * LZ4 block decoding and XXH64, as ROOT's "L4" compression blocks need them. ROOT stores
 * an 8-byte big-endian XXH64 (seed 0) of the compressed payload in front of a raw LZ4
 * block (no LZ4 frame), so neither the frame format nor any package is needed.
 */

/** Thrown for malformed input; the caller turns it into a RootFormatError with context. */
export class Lz4Error extends Error {}

/**
 * Decodes one LZ4 block into `out` (sized to the expected uncompressed length) and
 * returns the number of bytes written; every read and write is bounds-checked.
 */
export function lz4DecodeBlock(src: Uint8Array, out: Uint8Array): number {
  let ip = 0;
  let op = 0;
  const srcEnd = src.length;
  const outEnd = out.length;
  while (ip < srcEnd) {
    const token = src[ip++]!;
    let literals = token >>> 4;
    if (literals === 15) {
      let b: number;
      do {
        if (ip >= srcEnd) throw new Lz4Error('literal length runs past the block');
        b = src[ip++]!;
        literals += b;
      } while (b === 255);
    }
    if (ip + literals > srcEnd) throw new Lz4Error('literals run past the block');
    if (op + literals > outEnd) throw new Lz4Error('literals overflow the declared uncompressed size');
    out.set(src.subarray(ip, ip + literals), op);
    ip += literals;
    op += literals;
    // The last sequence of a block carries literals only.
    if (ip === srcEnd) break;
    if (ip + 2 > srcEnd) throw new Lz4Error('match offset runs past the block');
    const offset = src[ip]! | (src[ip + 1]! << 8);
    ip += 2;
    if (offset === 0 || offset > op) throw new Lz4Error(`match offset ${offset} points before the output start`);
    let matchLength = token & 15;
    if (matchLength === 15) {
      let b: number;
      do {
        if (ip >= srcEnd) throw new Lz4Error('match length runs past the block');
        b = src[ip++]!;
        matchLength += b;
      } while (b === 255);
    }
    matchLength += 4;
    if (op + matchLength > outEnd) throw new Lz4Error('match overflows the declared uncompressed size');
    let from = op - offset;
    if (offset >= matchLength) {
      out.copyWithin(op, from, from + matchLength);
      op += matchLength;
    } else {
      // Overlapping match: a repeating pattern, so copy byte by byte.
      const stop = op + matchLength;
      while (op < stop) out[op++] = out[from++]!;
    }
  }
  return op;
}

const MASK64 = (1n << 64n) - 1n;
const P1 = 0x9e3779b185ebca87n;
const P2 = 0xc2b2ae3d27d4eb4fn;
const P3 = 0x165667b19e3779f9n;
const P4 = 0x85ebca77c2b2ae63n;
const P5 = 0x27d4eb2f165667c5n;

const rotl = (x: bigint, r: bigint): bigint => ((x << r) | (x >> (64n - r))) & MASK64;
const round = (acc: bigint, lane: bigint): bigint => (rotl((acc + lane * P2) & MASK64, 31n) * P1) & MASK64;
const merge = (acc: bigint, v: bigint): bigint => ((((acc ^ round(0n, v)) * P1) & MASK64) + P4) & MASK64;

/**
 * XXH64 with seed 0. BigInt arithmetic is slow (tens of MB/s) but only LZ4 baskets pay
 * for it, and a checksum that is skipped protects nothing.
 */
export function xxh64(data: Uint8Array): bigint {
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const len = data.length;
  let p = 0;
  let h: bigint;
  if (len >= 32) {
    let v1 = (P1 + P2) & MASK64;
    let v2 = P2;
    let v3 = 0n;
    let v4 = -P1 & MASK64;
    for (; p + 32 <= len; p += 32) {
      v1 = round(v1, view.getBigUint64(p, true));
      v2 = round(v2, view.getBigUint64(p + 8, true));
      v3 = round(v3, view.getBigUint64(p + 16, true));
      v4 = round(v4, view.getBigUint64(p + 24, true));
    }
    h = (rotl(v1, 1n) + rotl(v2, 7n) + rotl(v3, 12n) + rotl(v4, 18n)) & MASK64;
    h = merge(h, v1);
    h = merge(h, v2);
    h = merge(h, v3);
    h = merge(h, v4);
  } else {
    h = P5;
  }
  h = (h + BigInt(len)) & MASK64;
  for (; p + 8 <= len; p += 8) {
    h ^= round(0n, view.getBigUint64(p, true));
    h = (((rotl(h, 27n) * P1) & MASK64) + P4) & MASK64;
  }
  if (p + 4 <= len) {
    h ^= (BigInt(view.getUint32(p, true)) * P1) & MASK64;
    h = (((rotl(h, 23n) * P2) & MASK64) + P3) & MASK64;
    p += 4;
  }
  for (; p < len; p++) {
    h ^= (BigInt(data[p]!) * P5) & MASK64;
    h = (rotl(h, 11n) * P1) & MASK64;
  }
  h ^= h >> 33n;
  h = (h * P2) & MASK64;
  h ^= h >> 29n;
  h = (h * P3) & MASK64;
  h ^= h >> 32n;
  return h;
}
