/**
 * Inflate for the ROOT reader's zlib ("ZL") blocks. ROOT declares every block's inflated
 * size, so a whole-buffer decoder fits: libdeflate (native/inflate, an N-API binding of
 * Debian's libdeflate built by infra/bootstrap.sh) inflates baskets about twice as fast as
 * node's streaming zlib. Node's zlib is the fallback wherever the addon is not built.
 * HEPFLOW_INFLATE=zlib|libdeflate forces one; the choice is made once per process and
 * logged when it falls back (always with HEPFLOW_VERBOSE=1).
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { inflateSync } from 'node:zlib';
import { projectRoot } from '../../paths.js';
import { isVerbose } from '../../verbose.js';

export interface Inflater {
  readonly name: 'libdeflate' | 'zlib';
  /**
   * Inflates one zlib stream that declares `size` bytes. Throws when the stream is
   * corrupt or inflates past `size`; a shorter result comes back short, for the caller to
   * report against the header.
   */
  inflate(block: Uint8Array, size: number): Uint8Array;
}

export const nodeZlibInflater: Inflater = {
  name: 'zlib',
  // One output buffer of the declared size (+ slack so zlib does not ask for a second
  // one): node's default 16 kB chunks cost a concatenating copy per basket.
  inflate: (block, size) => inflateSync(block, { maxOutputLength: Math.max(1, size), chunkSize: size + 64 }),
};

interface InflateAddon {
  zlibInflate(input: Uint8Array, output: Uint8Array): number;
  libdeflateVersion: string;
}

export const INFLATE_ADDON_PATH = path.join(projectRoot, 'native/inflate/build/Release/inflate.node');

/** The libdeflate inflater, or why it cannot be used. */
export function loadLibdeflate(file = INFLATE_ADDON_PATH): { inflater: Inflater; version: string } | { error: string } {
  if (!existsSync(file)) return { error: `${file} not built (infra/bootstrap.sh builds it with libdeflate-dev)` };
  let addon: InflateAddon;
  try {
    addon = createRequire(import.meta.url)(file) as InflateAddon;
  } catch (e) {
    return { error: `${file} failed to load: ${(e as Error).message.split('\n')[0]}` };
  }
  if (typeof addon.zlibInflate !== 'function') return { error: `${file} does not export zlibInflate` };
  const zlibInflate = addon.zlibInflate;
  return {
    version: addon.libdeflateVersion,
    inflater: {
      name: 'libdeflate',
      inflate(block, size) {
        // Unfilled (not zeroed) memory: libdeflate writes every byte it reports, and a
        // short result is cut to what was written.
        const out = Buffer.allocUnsafe(size);
        const n = zlibInflate(block, out);
        return n === size ? out : out.subarray(0, n);
      },
    },
  };
}

/** The inflater HEPFLOW_INFLATE asks for (default: libdeflate when built, else node's zlib). */
export function resolveInflater(
  requested: string | undefined,
  load = loadLibdeflate,
): { inflater: Inflater; reason: string } {
  switch (requested) {
    case 'zlib':
      return { inflater: nodeZlibInflater, reason: 'forced by HEPFLOW_INFLATE' };
    case 'libdeflate': {
      const loaded = load();
      if ('error' in loaded) throw new Error(`HEPFLOW_INFLATE=libdeflate but ${loaded.error}`);
      return { inflater: loaded.inflater, reason: `libdeflate ${loaded.version}, forced by HEPFLOW_INFLATE` };
    }
    case undefined:
    case '': {
      const loaded = load();
      if ('error' in loaded) return { inflater: nodeZlibInflater, reason: `libdeflate unavailable: ${loaded.error}` };
      return { inflater: loaded.inflater, reason: `libdeflate ${loaded.version}` };
    }
    default:
      throw new Error(`HEPFLOW_INFLATE must be libdeflate or zlib, got '${requested}'`);
  }
}

let chosen: Inflater | null = null;

/** The process-wide inflater, chosen (and logged when it falls back) on first use. */
export function activeInflater(): Inflater {
  if (chosen === null) {
    const { inflater, reason } = resolveInflater(process.env['HEPFLOW_INFLATE']);
    if (isVerbose() || reason.startsWith('libdeflate unavailable'))
      console.error(`[hepflow:inflate] using ${inflater.name} for ROOT zlib blocks (${reason})`);
    chosen = inflater;
  }
  return chosen;
}
