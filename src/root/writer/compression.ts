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
import { promisify } from 'node:util';
import { deflate, deflateSync } from 'node:zlib';

const deflateAsync = promisify(deflate);

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
  const chunks: Uint8Array[] = [];
  for (let start = 0; start < data.length; start += MAX_BLOCK)
    chunks.push(data.subarray(start, Math.min(start + MAX_BLOCK, data.length)));
  return frame(
    data,
    chunks,
    chunks.map((chunk) => deflateSync(chunk, { level: c.level })),
  );
}

/** `rootCompress` with deflate on libuv's thread pool, off the main thread. */
export async function rootCompressAsync(data: Uint8Array, c: CompressionSettings): Promise<Uint8Array> {
  if (c.algorithm === 'none' || data.length === 0) return data;
  const chunks: Uint8Array[] = [];
  for (let start = 0; start < data.length; start += MAX_BLOCK)
    chunks.push(data.subarray(start, Math.min(start + MAX_BLOCK, data.length)));
  const zs = await Promise.all(chunks.map((chunk) => deflateAsync(chunk, { level: c.level })));
  return frame(data, chunks, zs);
}

/** Assembles ZL blocks, or returns `data` when they would not be smaller. */
function frame(data: Uint8Array, chunks: readonly Uint8Array[], zs: readonly Uint8Array[]): Uint8Array {
  let total = 0;
  for (const z of zs) {
    if (z.length > MAX_BLOCK) return data;
    total += HEADER + z.length;
  }
  if (total >= data.length) return data;
  const out = new Uint8Array(total);
  let at = 0;
  zs.forEach((z, i) => {
    out[at] = 0x5a; // 'Z'
    out[at + 1] = 0x4c; // 'L'
    out[at + 2] = 8; // Z_DEFLATED
    writeU24LE(out, at + 3, z.length);
    writeU24LE(out, at + 6, chunks[i]!.length);
    out.set(z, at + HEADER);
    at += HEADER + z.length;
  });
  return out;
}

function writeU24LE(b: Uint8Array, at: number, v: number): void {
  b[at] = v & 0xff;
  b[at + 1] = (v >>> 8) & 0xff;
  b[at + 2] = (v >>> 16) & 0xff;
}
