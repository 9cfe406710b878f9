/**
 * Chooses the GRU implementation once per process, logs the choice, and lets it be forced
 * with HEPFLOW_GRU=native|js|tfjs (tfjs = tf.layers.gru, the fused kernel off).
 * HEPFLOW_GRU_THREADS sets the native kernel's thread count (default: all cores).
 */
import { JsGruKernel } from './kernel-js.js';
import { loadNativeAddon, NativeGruKernel } from './kernel-native.js';
import type { GruKernel } from './kernel.js';
import { isVerbose } from '../../verbose.js';
import { parseInteger } from '../../settings.js';

export type GruImplementationName = 'native' | 'js' | 'tfjs';

export interface GruImplementation {
  readonly name: GruImplementationName;
  /** The fused kernel, or null for 'tfjs'. */
  readonly kernel: GruKernel | null;
  /** Why this one: forced by the environment or the best available. */
  readonly reason: string;
}

let chosen: GruImplementation | null = null;

function nativeKernel(): NativeGruKernel | string {
  const loaded = loadNativeAddon();
  if ('error' in loaded) return loaded.error;
  return new NativeGruKernel(
    loaded.addon,
    parseInteger('HEPFLOW_GRU_THREADS', process.env['HEPFLOW_GRU_THREADS'] || undefined, undefined),
  );
}

/** Resolves a requested implementation (throws if a forced 'native' is unavailable). */
export function resolveGruImplementation(requested?: string): GruImplementation {
  switch (requested) {
    case 'tfjs':
      return { name: 'tfjs', kernel: null, reason: 'forced: tf.layers.gru, fused kernel off' };
    case 'js':
      return { name: 'js', kernel: new JsGruKernel(), reason: 'forced' };
    case 'native': {
      const k = nativeKernel();
      if (typeof k === 'string') throw new Error(`HEPFLOW_GRU=native but ${k}`);
      return { name: 'native', kernel: k, reason: 'forced' };
    }
    case undefined:
    case '': {
      const k = nativeKernel();
      if (typeof k !== 'string') return { name: 'native', kernel: k, reason: 'addon available' };
      return { name: 'js', kernel: new JsGruKernel(), reason: `native unavailable: ${k}` };
    }
    default:
      throw new Error(`HEPFLOW_GRU must be native, js or tfjs, got '${requested}'`);
  }
}

/** The process-wide implementation (from HEPFLOW_GRU), chosen and logged on first use. */
export function activeGruImplementation(): GruImplementation {
  if (chosen === null) {
    chosen = resolveGruImplementation(process.env['HEPFLOW_GRU']);
    const what = chosen.kernel === null ? 'tf.layers.gru' : chosen.kernel.description;
    // A fallback from the native kernel costs speed, so it is always said; the rest with --verbose.
    if (isVerbose() || chosen.reason.startsWith('native unavailable')) {
      console.error(`[hepflow:gru] using ${chosen.name}: ${what} (${chosen.reason})`);
    }
  }
  return chosen;
}
