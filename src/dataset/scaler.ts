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
