/**
 * Which feature extractor runs the per-event loops: the C++ kernel when it is built (the
 * default), or the portable TypeScript one. HEPFLOW_FEATURES=native|js forces one. Both
 * give the same values (test/physics-native.test.ts).
 */
import { chooseOnce } from '../runtime-settings.js';
import { FeatureExtractor, type EventFeatureExtractor } from './features.js';
import { loadFeaturesAddon } from './features-native.js';

export interface FeatureImplementation {
  readonly name: 'native' | 'js';
  readonly create: () => EventFeatureExtractor;
  readonly reason: string;
}

const js = (): EventFeatureExtractor => new FeatureExtractor();

/** `load` finds the native addon (tests pass one that finds none). */
export function resolveFeatureImplementation(requested?: string, load = loadFeaturesAddon): FeatureImplementation {
  switch (requested) {
    case 'js':
      return { name: 'js', create: js, reason: 'forced' };
    case 'native': {
      const loaded = load();
      if ('error' in loaded) throw new Error(`HEPFLOW_FEATURES=native but ${loaded.error}`);
      return { name: 'native', create: loaded.create, reason: 'forced' };
    }
    case undefined:
    case '': {
      const loaded = load();
      if ('create' in loaded) return { name: 'native', create: loaded.create, reason: 'addon available' };
      return { name: 'js', create: js, reason: `native unavailable: ${loaded.error}` };
    }
    default:
      throw new Error(`HEPFLOW_FEATURES must be native or js, got '${requested}'`);
  }
}

/** The process-wide choice (runtime settings' HEPFLOW_FEATURES), made and logged on first use. */
export const activeFeatureImplementation: () => FeatureImplementation = chooseOnce(
  'features',
  (s) => resolveFeatureImplementation(s.kernels.features),
  (c) => `${c.name} feature extractor`,
);

/** A new extractor of the process-wide implementation (one per stream: not re-entrant). */
export const createFeatureExtractor = (): EventFeatureExtractor => activeFeatureImplementation().create();
