/**
 * The ROOT reader's decompressors for zlib ("ZL") and Zstandard ("ZS") blocks. ROOT
 * declares every block's decompressed size, so whole-buffer decoders fit: the native
 * addon native/decompress (N-API bindings of Debian's libdeflate and libzstd, built by
 * infra/bootstrap.sh) inflates zlib 1.2–1.4× faster than node's streaming zlib and
 * decodes Zstandard about 20× faster than fzstd, the pure-JavaScript decoder (node 20 has
 * no zstd). The portable pair (node's zlib, fzstd) is the fallback wherever the addon is
 * not built. HEPFLOW_DECOMPRESS=native|portable forces one; the choice is made once per
 * process and printed when it falls back (always with HEPFLOW_VERBOSE=1).
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { inflateSync } from 'node:zlib';
import { decompress as fzstdDecompress } from 'fzstd';
import { projectRoot } from '../../paths.js';
import { chooseOnce } from '../../runtime-settings.js';

/**
 * Each call decompresses one block that declares `size` bytes. It throws when the
 * block is corrupt or decompresses past `size`; a shorter result comes back short (or,
 * from fzstd, padded), for the caller to check against the header.
 */
export interface Decompressors {
  readonly name: 'native' | 'portable';
  zlib(block: Uint8Array, size: number): Uint8Array;
  zstd(block: Uint8Array, size: number): Uint8Array;
}

export const portableDecompressors: Decompressors = {
  name: 'portable',
  // One output buffer of the declared size (+ slack so zlib does not ask for a second
  // one): node's default 16 kB chunks cost a concatenating copy per basket.
  zlib: (block, size) => inflateSync(block, { maxOutputLength: Math.max(1, size), chunkSize: size + 64 }),
  zstd: (block, size) => fzstdDecompress(block, new Uint8Array(size)),
};

interface DecompressAddon {
  zlibInflate(input: Uint8Array, output: Uint8Array): number;
  zstdDecompress(input: Uint8Array, output: Uint8Array): number;
  versions: string;
}

export const DECOMPRESS_ADDON_PATH = path.join(projectRoot, 'native/decompress/build/Release/decompress.node');

/** The native decompressors, or why they cannot be used. */
export function loadNativeDecompressors(
  file = DECOMPRESS_ADDON_PATH,
): { decompressors: Decompressors; versions: string } | { error: string } {
  if (!existsSync(file))
    return { error: `${file} not built (infra/bootstrap.sh builds it with libdeflate-dev and libzstd-dev)` };
  let addon: DecompressAddon;
  try {
    addon = createRequire(import.meta.url)(file) as DecompressAddon;
  } catch (e) {
    return { error: `${file} failed to load: ${(e as Error).message.split('\n')[0]}` };
  }
  if (typeof addon.zlibInflate !== 'function' || typeof addon.zstdDecompress !== 'function')
    return { error: `${file} does not export zlibInflate and zstdDecompress` };
  // Unfilled (not zeroed) memory: the libraries write every byte they report, and a
  // short result is cut to what was written.
  const into = (decode: (input: Uint8Array, output: Uint8Array) => number) => (block: Uint8Array, size: number) => {
    const out = Buffer.allocUnsafe(size);
    const n = decode(block, out);
    return n === size ? out : out.subarray(0, n);
  };
  return {
    versions: addon.versions,
    decompressors: { name: 'native', zlib: into(addon.zlibInflate), zstd: into(addon.zstdDecompress) },
  };
}

/** The decompressors HEPFLOW_DECOMPRESS asks for (default: native when built, else portable). */
export function resolveDecompressors(
  requested: string | undefined,
  load = loadNativeDecompressors,
): { decompressors: Decompressors; reason: string } {
  switch (requested) {
    case 'portable':
      return { decompressors: portableDecompressors, reason: 'forced by HEPFLOW_DECOMPRESS' };
    case 'native': {
      const loaded = load();
      if ('error' in loaded) throw new Error(`HEPFLOW_DECOMPRESS=native but ${loaded.error}`);
      return { decompressors: loaded.decompressors, reason: `${loaded.versions}, forced by HEPFLOW_DECOMPRESS` };
    }
    case undefined:
    case '': {
      const loaded = load();
      if ('error' in loaded)
        return { decompressors: portableDecompressors, reason: `native unavailable: ${loaded.error}` };
      return { decompressors: loaded.decompressors, reason: loaded.versions };
    }
    default:
      throw new Error(`HEPFLOW_DECOMPRESS must be native or portable, got '${requested}'`);
  }
}

const chosen = chooseOnce(
  'decompress',
  (s) => resolveDecompressors(s.kernels.decompress),
  (c) => `${c.decompressors.name} zlib/zstd decoders for ROOT baskets`,
);

/** The process-wide decompressors (runtime settings' HEPFLOW_DECOMPRESS), chosen on first use. */
export function activeDecompressors(): Decompressors {
  return chosen().decompressors;
}
