/**
 * Synthetic, learnable event rows in the training schema: for tests, benchmarks and the
 * worker's module-loaded source contract (createRowSource) when no Parquet data exists.
 *
 * Each class shifts a few HLF values and the particles' features by a class-dependent
 * offset, with Gaussian noise; `separation` scales the offsets (0 = unlearnable).
 */
import { N_HLF, N_PARTICLE_FEATURES } from '../../src/physics/schema.js';
import { inMemorySource, mulberry32, type RowSource, type TrainingRow } from '../../src/ml/data.js';

/** This module, as the training worker loads a row source (SourceSpec.module). */
export const SYNTHETIC_SOURCE_MODULE = import.meta.url;

export interface SyntheticOptions {
  readonly rows: number;
  readonly seed?: number;
  readonly nClasses?: number;
  readonly minParticles?: number;
  readonly maxParticles?: number;
  readonly separation?: number;
}

export function syntheticRows(o: SyntheticOptions): TrainingRow[] {
  const random = mulberry32(o.seed ?? 1);
  const gauss = () => Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
  const k = o.nClasses ?? 3;
  const lo = o.minParticles ?? 1;
  const hi = o.maxParticles ?? 20;
  const sep = o.separation ?? 1;
  const rows: TrainingRow[] = [];
  for (let i = 0; i < o.rows; i++) {
    const label = i % k;
    const hlf = new Float32Array(N_HLF);
    for (let j = 0; j < N_HLF; j++) hlf[j] = gauss() + (j % k === label ? 2 * sep : 0);
    const n = lo + Math.floor(random() * (hi - lo + 1));
    const particles = new Float32Array(n * N_PARTICLE_FEATURES);
    for (let p = 0; p < n; p++) {
      for (let f = 0; f < N_PARTICLE_FEATURES; f++) {
        // Never exactly 0 in every feature: an all-zero particle would be masked as padding.
        particles[p * N_PARTICLE_FEATURES + f] = 0.5 * gauss() + (f % k === label ? sep : 0) + 0.01;
      }
    }
    rows.push({ label, hlf, particles, sourceUri: 'synthetic', sourceEntry: i });
  }
  return rows;
}

/** The module-loaded source contract used by the training worker (see src/ml/training/threads.ts). */
export function createRowSource(options: SyntheticOptions): RowSource {
  return inMemorySource(`synthetic:${options.rows}:${options.seed ?? 1}`, syntheticRows(options));
}
