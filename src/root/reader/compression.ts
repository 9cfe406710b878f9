/**
 * ROOT's compressed-object framing: a payload is one or more blocks, each with a 9-byte
 * header (2-letter algorithm, method byte, 3-byte little-endian compressed and
 * uncompressed sizes). zlib and ZSTD use native libdeflate and libzstd, else node's zlib
 * and the pure-JS fzstd (decompress-native.ts; the reason this reader exists: jsroot
 * inflates in JavaScript), LZ4 our own block decoder with ROOT's XXH64 check, XZ/LZMA the native @napi-rs/lzma loaded
 * on first use.
 */
import { createRequire } from 'node:module';
import { RootFormatError, UnsupportedRootFeatureError } from '../../errors.js';
import { activeDecompressors } from './decompress-native.js';
import { lz4DecodeBlock, xxh64 } from './lz4.js';

const HEADER = 9;
const LZ4_CHECKSUM = 8;

export type Algorithm = 'zlib' | 'lz4' | 'zstd' | 'lzma' | 'old-root';

interface XzModule {
  xz: { decompressSync(input: Uint8Array): Uint8Array };
}
let xzModule: XzModule | undefined;
function loadXz(uri: string, what: string): XzModule {
  if (xzModule) return xzModule;
  try {
    xzModule = createRequire(import.meta.url)('@napi-rs/lzma') as XzModule;
    return xzModule;
  } catch (error) {
    throw new UnsupportedRootFeatureError(
      uri,
      `${what} is LZMA-compressed and the @napi-rs/lzma binding cannot be loaded here (${(error as Error).message.split('\n')[0]})`,
    );
  }
}

function algorithmOf(a: number, b: number): Algorithm | undefined {
  const tag = String.fromCharCode(a, b);
  switch (tag) {
    case 'ZL':
      return 'zlib';
    case 'L4':
      return 'lz4';
    case 'ZS':
      return 'zstd';
    case 'XZ':
      return 'lzma';
    case 'CS':
      return 'old-root';
    default:
      return undefined;
  }
}

/**
 * The Frame_Content_Size of a Zstandard frame (RFC 8878, 3.1.1.1), when the frame
 * header records it (ROOT's frames do); undefined when absent or not a frame.
 */
function zstdContentSize(frame: Uint8Array): number | undefined {
  if (frame.length < 6 || frame[0] !== 0x28 || frame[1] !== 0xb5 || frame[2] !== 0x2f || frame[3] !== 0xfd)
    return undefined;
  const descriptor = frame[4]!;
  const singleSegment = (descriptor >> 5) & 1;
  const fcsBytes = [singleSegment ? 1 : 0, 2, 4, 8][descriptor >> 6]!;
  if (fcsBytes === 0) return undefined;
  const at = 5 + (singleSegment ? 0 : 1) + [0, 1, 2, 4][descriptor & 3]!;
  if (at + fcsBytes > frame.length) return undefined;
  let size = 0;
  for (let i = fcsBytes - 1; i >= 0; i--) size = size * 256 + frame[at + i]!;
  return fcsBytes === 2 ? size + 256 : size;
}

/**
 * Decompresses one object payload (a TKey's or a basket's) to exactly `uncompressedSize`
 * bytes. A payload whose stored size equals the uncompressed size is stored raw.
 * `what` names the object in errors ("basket 3 of branch 'Jet.PT'").
 */
export function decompressPayload(
  payload: Uint8Array,
  uncompressedSize: number,
  uri: string,
  what: string,
): Uint8Array {
  if (payload.length === uncompressedSize) return payload;
  const fail = (reason: string, cause?: unknown): never => {
    throw new RootFormatError(uri, `${what}: ${reason}`, { cause });
  };
  // Walk the block headers first, so corrupt sizes fail before any allocation.
  let blocks = 0;
  for (let at = 0, total = 0; total < uncompressedSize; blocks++) {
    if (at + HEADER > payload.length)
      fail(`compressed data ends after ${total} of ${uncompressedSize} bytes (truncated)`);
    total += payload[at + 6]! | (payload[at + 7]! << 8) | (payload[at + 8]! << 16);
    at += HEADER + (payload[at + 3]! | (payload[at + 4]! << 8) | (payload[at + 5]! << 16));
    if (total > uncompressedSize) fail(`compression blocks decompress past the declared ${uncompressedSize} bytes`);
    if (at > payload.length) fail(`compression block claims more bytes than the ${payload.length} present (truncated)`);
  }
  const parts: Uint8Array[] = [];
  let ip = 0;
  for (let b = 0; b < blocks; b++) {
    const algorithm = algorithmOf(payload[ip]!, payload[ip + 1]!);
    const cSize = payload[ip + 3]! | (payload[ip + 4]! << 8) | (payload[ip + 5]! << 16);
    const uSize = payload[ip + 6]! | (payload[ip + 7]! << 8) | (payload[ip + 8]! << 16);
    if (algorithm === undefined) {
      return fail(
        `unknown compression block tag ${JSON.stringify(String.fromCharCode(payload[ip]!, payload[ip + 1]!))} at byte ${ip}`,
      );
    }
    const start = ip + HEADER;
    const block = payload.subarray(start, start + cSize);
    let produced: Uint8Array;
    switch (algorithm) {
      case 'zlib':
        try {
          produced = activeDecompressors().zlib(block, uSize);
        } catch (error) {
          return fail(`zlib block at byte ${ip} does not inflate: ${(error as Error).message}`, error);
        }
        break;
      case 'lz4': {
        if (cSize < LZ4_CHECKSUM) fail('LZ4 block shorter than its checksum');
        const view = new DataView(block.buffer, block.byteOffset, LZ4_CHECKSUM);
        const expected = view.getBigUint64(0, false);
        const body = block.subarray(LZ4_CHECKSUM);
        const actual = xxh64(body);
        if (actual !== expected) fail(`LZ4 block at byte ${ip} fails its XXH64 checksum (corrupt)`);
        const target = new Uint8Array(uSize);
        let n: number;
        try {
          n = lz4DecodeBlock(body, target);
        } catch (error) {
          return fail(`LZ4 block at byte ${ip}: ${(error as Error).message}`, error);
        }
        if (n !== uSize) fail(`LZ4 block at byte ${ip} gave ${n} bytes, header says ${uSize}`);
        produced = target;
        break;
      }
      case 'zstd': {
        // fzstd fills the buffer it is given and returns all of it, however much the frame
        // held: the frame's own content size is what proves the declared length (libzstd
        // returns what it wrote, checked below as well).
        const frameSize = zstdContentSize(block);
        if (frameSize !== undefined && frameSize !== uSize)
          fail(`ZSTD block at byte ${ip} holds ${frameSize} bytes, header says ${uSize}`);
        try {
          produced = activeDecompressors().zstd(block, uSize);
        } catch (error) {
          return fail(`ZSTD block at byte ${ip} does not decompress: ${(error as Error).message}`, error);
        }
        break;
      }
      case 'lzma': {
        const xz = loadXz(uri, what).xz;
        try {
          produced = xz.decompressSync(block);
        } catch (error) {
          return fail(`XZ block at byte ${ip} does not decompress: ${(error as Error).message}`, error);
        }
        break;
      }
      case 'old-root':
        throw new UnsupportedRootFeatureError(
          uri,
          `${what} uses ROOT's pre-2003 "CS" compression, which this reader does not implement`,
        );
    }
    if (produced.length !== uSize)
      fail(`${algorithm} block at byte ${ip} gave ${produced.length} bytes, header says ${uSize}`);
    // The common case, one block, hands the decompressed buffer over without a copy.
    if (blocks === 1) return produced;
    // Several blocks are joined only once all of them decompressed: the declared total
    // is allocated when the blocks proved it, never on the headers' word alone.
    parts.push(produced);
    ip = start + cSize;
  }
  const out = new Uint8Array(uncompressedSize);
  let op = 0;
  for (const part of parts) {
    out.set(part, op);
    op += part.length;
  }
  return out;
}
