/**
 * The scalers of a dataset's features: fit on its training split at assembly, saved
 * beside it, and applied to every row a model sees (training, evaluation, serving).
 */
import { HLF_NAMES, N_HLF, N_PARTICLE_FEATURES, PARTICLE_FEATURE_NAMES } from '../physics/schema.js';

/** Min-max scaler for the HLF, fit on the training split only (stored as JSON artifact). */
export interface HlfScaler {
  readonly features: readonly string[];
  readonly min: readonly number[];
  readonly max: readonly number[];
}

/**
 * Standardisation of the particle features, fit on the real (unpadded) particles of the
 * training split (stored as JSON artifact next to the HLF scaler). Apply it to real
 * particles only and pad afterwards, so padding stays exactly zero for Masking(0).
 */
export interface ParticleScaler {
  readonly features: readonly string[];
  readonly mean: readonly number[];
  /** 1 where a feature is constant on the training split. */
  readonly std: readonly number[];
}

/** Fits an HlfScaler: folds in the HLF of training rows one at a time. */
export class HlfScalerFit {
  private readonly min = new Array<number>(N_HLF).fill(Infinity);
  private readonly max = new Array<number>(N_HLF).fill(-Infinity);

  add(hlf: Float32Array): void {
    for (let k = 0; k < N_HLF; k++) {
      const v = hlf[k]!;
      if (v < this.min[k]!) this.min[k] = v;
      if (v > this.max[k]!) this.max[k] = v;
    }
  }

  scaler(): HlfScaler {
    return { features: [...HLF_NAMES], min: [...this.min], max: [...this.max] };
  }
}

/** Fits a ParticleScaler: folds in the real particles (n × 19, row-major) of training rows. */
export class ParticleScalerFit {
  private readonly sum = new Float64Array(N_PARTICLE_FEATURES);
  private readonly sumSq = new Float64Array(N_PARTICLE_FEATURES);
  private count = 0;

  add(particles: Float32Array): void {
    for (let j = 0; j < particles.length; j += N_PARTICLE_FEATURES) {
      for (let f = 0; f < N_PARTICLE_FEATURES; f++) {
        const v = particles[j + f]!;
        this.sum[f]! += v;
        this.sumSq[f]! += v * v;
      }
    }
    this.count += particles.length / N_PARTICLE_FEATURES;
  }

  scaler(): ParticleScaler {
    const n = this.count;
    const mean = Array.from(this.sum, (v) => (n > 0 ? v / n : 0));
    const std = Array.from(this.sumSq, (v, f) => {
      const variance = n > 0 ? v / n - mean[f]! * mean[f]! : 0;
      return variance > 1e-12 * Math.max(1, mean[f]! * mean[f]!) ? Math.sqrt(variance) : 1;
    });
    return { features: [...PARTICLE_FEATURE_NAMES], mean, std };
  }
}

/** Applies a fitted scaler to one event's HLF into `out`: (x − min) / (max − min), 0 for constant features. */
export function scaleHlf(
  scaler: HlfScaler,
  hlf: Float32Array,
  out: Float32Array = new Float32Array(hlf.length),
): Float32Array {
  return scaleHlfRows(scaler, [{ hlf }], out);
}

/** scaleHlf over a batch, rows one after another into `out` ([rows x 14]); the scaler is read once. */
export function scaleHlfRows(
  scaler: HlfScaler,
  rows: readonly { readonly hlf: Float32Array }[],
  out: Float32Array = new Float32Array(rows.length * N_HLF),
): Float32Array {
  const lo = Float64Array.from(scaler.min);
  const range = Float64Array.from(scaler.max, (v, k) => v - lo[k]!);
  for (let i = 0, at = 0; i < rows.length; i++) {
    const h = rows[i]!.hlf;
    for (let k = 0; k < h.length; k++, at++) out[at] = range[k]! > 0 ? (h[k]! - lo[k]!) / range[k]! : 0;
  }
  return out;
}

/**
 * Standardises real particles, row-major n × 19, into `out`. Storage never pads, so every
 * row here is a real particle; pad after scaling, so padding stays exactly zero.
 */
export function scaleParticles(
  scaler: ParticleScaler,
  particles: Float32Array,
  out: Float32Array = new Float32Array(particles.length),
): Float32Array {
  for (let j = 0; j < particles.length; j += N_PARTICLE_FEATURES) {
    for (let f = 0; f < N_PARTICLE_FEATURES; f++) out[j + f] = (particles[j + f]! - scaler.mean[f]!) / scaler.std[f]!;
  }
  return out;
}
