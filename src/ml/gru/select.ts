/**
 * Chooses the GRU implementation once per process, logs the choice, and lets it be forced
 * with HEPFLOW_GRU=native|js|tfjs (tfjs = tf.layers.gru, the fused kernel off).
 * HEPFLOW_GRU_THREADS sets the native kernel's thread count (default: all cores). Both
 * arrive in the process's runtime settings (src/runtime-settings.ts).
 */
import { JsGruKernel } from './kernel-js.js';
import { loadNativeAddon, NativeGruKernel } from './kernel-native.js';
import type { GruKernel } from './kernel.js';
import { chooseOnce, runtimeSettings } from '../../runtime-settings.js';

export type GruImplementationName = 'native' | 'js' | 'tfjs';

export interface GruImplementation {
  readonly name: GruImplementationName;
  /** The fused kernel, or null for 'tfjs'. */
  readonly kernel: GruKernel | null;
  /** Why this one: forced by the environment or the best available. */
  readonly reason: string;
}

function nativeKernel(): NativeGruKernel | string {
  const loaded = loadNativeAddon();
  if ('error' in loaded) return loaded.error;
  return new NativeGruKernel(loaded.addon, runtimeSettings().gruThreads);
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

/** The process-wide implementation (runtime settings' HEPFLOW_GRU), chosen and logged on first use. */
export const activeGruImplementation: () => GruImplementation = chooseOnce(
  'gru',
  (s) => resolveGruImplementation(s.kernels.gru),
  (c) => `${c.name}: ${c.kernel === null ? 'tf.layers.gru' : c.kernel.description}`,
);
