/**
 * ROOT's compressed-block framing around zlib.
 *
 * A compressed payload is a sequence of blocks, each at most 0xffffff input bytes
 * (the sizes are 24-bit). Every block starts with a 9-byte header: "ZL", the
 * method byte (8 = deflate), then the compressed and uncompressed sizes as 3-byte
 * little-endian integers, followed by a zlib stream. When compression does not
 * shrink the payload ROOT stores it raw, and readers recognise that by
 * key.fNbytes - key.fKeylen === key.fObjlen; we follow the same rule.
 */
import { deflateSync } from 'node:zlib';

export const MAX_BLOCK = 0xffffff;
const HEADER = 9;

export type CompressionAlgorithm = 'zlib' | 'none';

export interface CompressionSettings {
  readonly algorithm: CompressionAlgorithm;
  /** 1..9 for zlib; ignored for 'none'. */
  readonly level: number;
}

export const DEFAULT_COMPRESSION: CompressionSettings = { algorithm: 'zlib', level: 1 };

/** The fCompress integer ROOT stores in TFile and TBranch: algorithm * 100 + level. */
export function compressionCode(c: CompressionSettings): number {
  if (c.algorithm === 'none') return 0;
  return 100 + c.level;
}

export function validateCompression(c: CompressionSettings): CompressionSettings {
  if (c.algorithm !== 'zlib' && c.algorithm !== 'none') {
    throw new Error(`unsupported compression algorithm ${String(c.algorithm)} (supported: zlib, none)`);
  }
  if (c.algorithm === 'zlib' && (!Number.isInteger(c.level) || c.level < 1 || c.level > 9)) {
    throw new Error(`zlib compression level must be an integer 1..9, got ${c.level}`);
  }
  return c;
}

/**
 * Compresses `data` into ROOT blocks; returns `data` itself when compression is
 * off or would not make it smaller.
 */
export function rootCompress(data: Uint8Array, c: CompressionSettings): Uint8Array {
  if (c.algorithm === 'none' || data.length === 0) return data;
  const blocks: Uint8Array[] = [];
  let total = 0;
  for (let start = 0; start < data.length; start += MAX_BLOCK) {
    const chunk = data.subarray(start, Math.min(start + MAX_BLOCK, data.length));
    const z = deflateSync(chunk, { level: c.level });
    if (z.length > MAX_BLOCK) return data;
    const header = new Uint8Array(HEADER);
    header[0] = 0x5a; // 'Z'
    header[1] = 0x4c; // 'L'
    header[2] = 8; // Z_DEFLATED
    writeU24LE(header, 3, z.length);
    writeU24LE(header, 6, chunk.length);
    blocks.push(header, z);
    total += HEADER + z.length;
    if (total >= data.length) return data;
  }
  const out = new Uint8Array(total);
  let at = 0;
  for (const b of blocks) {
    out.set(b, at);
    at += b.length;
  }
  return out;
}

function writeU24LE(b: Uint8Array, at: number, v: number): void {
  b[at] = v & 0xff;
  b[at + 1] = (v >>> 8) & 0xff;
  b[at + 2] = (v >>> 16) & 0xff;
}
