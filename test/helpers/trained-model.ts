// A real model directory, as training writes it, from a short run on synthetic rows.
import path from 'node:path';
import { N_PARTICLE_FEATURES, PARTICLE_FEATURE_NAMES } from '../../src/physics/schema.js';
import { type ParticleScaler } from '../../src/dataset/scaler.js';
import { inMemorySource } from '../../src/ml/data.js';
import { modelConfig, type ModelKind } from '../../src/ml/models.js';
import { DirectoryArtifactSink } from '../../src/ml/store.js';
import { syntheticRows } from './synthetic.js';
import { defaultTrainConfig } from '../../src/ml/training/config.js';
import { runTraining } from '../../src/ml/train.js';

/** Not the identity, so a scorer that forgets to apply it gives different numbers. */
export const TEST_PARTICLE_SCALER: ParticleScaler = {
  features: [...PARTICLE_FEATURE_NAMES],
  mean: Array.from({ length: N_PARTICLE_FEATURES }, (_, i) => 0.1 * (i % 3)),
  std: Array.from({ length: N_PARTICLE_FEATURES }, (_, i) => 0.5 + 0.1 * (i % 4)),
};

/** Trains `kind` for 3 epochs on 300 synthetic rows into `<dir>/<kind>`; returns that directory. */
export async function trainedModelDir(
  dir: string,
  kind: ModelKind,
  classNames = ['qcd', 'ttbar', 'wjets'],
): Promise<string> {
  const out = path.join(dir, kind);
  const rows = syntheticRows({ rows: 300, seed: 11, maxParticles: 12 });
  const config = defaultTrainConfig(
    modelConfig(kind, { maxLen: 10, gruUnits: 8, inclusiveDense: 6, hiddenLayers: [12, 6], learningRate: 0.01 }),
    {
      epochs: 3,
      batchSize: 32,
      backend: 'cpu',
      classNames,
    },
  );
  await runTraining(config, {
    source: inMemorySource(`synthetic ${kind}`, rows),
    artifacts: new DirectoryArtifactSink(out),
    ...(kind === 'hlf' ? {} : { particleScaler: TEST_PARTICLE_SCALER }),
  });
  return out;
}
