/**
 * What the serving benchmarks share: generated physics events' feature rows, model
 * directories of the reference architectures (random weights: speed does not depend on
 * them), and the Keras peer process (bench/peers/keras_predict_bench.py).
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createInterface } from 'node:readline';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { HLF_NAMES, N_HLF, N_PARTICLE_FEATURES, PARTICLE_FEATURE_NAMES } from '../../src/physics/schema.js';
import { inputArrays, type InputRow } from '../../src/ml/data.js';
import type { ModelBundle } from '../../src/ml/model-bundle.js';
import { buildModel, modelConfig, type ModelKind } from '../../src/ml/models.js';
import { defaultTrainConfig } from '../../src/ml/training/config.js';
import { modelArtifacts } from '../../src/ml/training/model-dir.js';
import { BALANCED_MIX, generateEvent } from '../../src/generator/index.js';
import { FeatureExtractor } from '../../src/physics/features.js';
import { kerasPython } from '../../src/ml/keras-export.js';
import { projectRoot } from '../../src/paths.js';

export function physicsRows(n: number): InputRow[] {
  const x = new FeatureExtractor();
  const rows: InputRow[] = [];
  for (let i = 0; rows.length < n; i++) {
    if (x.select(generateEvent(3, i, BALANCED_MIX).event)) rows.push({ hlf: x.hlf.slice(), particles: x.particles() });
  }
  return rows;
}

/** A model directory with the reference architecture and the rows' own scalers (weights random: speed does not depend on them). */
export async function modelDir(
  dir: string,
  kind: ModelKind,
  maxLen: number,
  rows: readonly InputRow[],
): Promise<string> {
  const out = path.join(dir, `${kind}-${maxLen}`);
  mkdirSync(out, { recursive: true });
  const model = buildModel(modelConfig(kind, { maxLen }));
  const { modelJson, weights } = await modelArtifacts(model);
  model.dispose();
  const min = Array.from({ length: N_HLF }, (_, j) => Math.min(...rows.map((r) => r.hlf[j]!)));
  const max = Array.from({ length: N_HLF }, (_, j) => Math.max(...rows.map((r) => r.hlf[j]!)));
  writeFileSync(path.join(out, 'model.json'), modelJson);
  writeFileSync(path.join(out, 'weights.bin'), weights);
  writeFileSync(path.join(out, 'scaler.json'), JSON.stringify({ features: HLF_NAMES, min, max }));
  const sequence = kind !== 'hlf';
  if (sequence)
    writeFileSync(
      path.join(out, 'particle-scaler.json'),
      JSON.stringify({
        features: PARTICLE_FEATURE_NAMES,
        mean: new Array(N_PARTICLE_FEATURES).fill(0),
        std: new Array(N_PARTICLE_FEATURES).fill(10),
      }),
    );
  const config = defaultTrainConfig(modelConfig(kind, { maxLen }), { padding: 'longest' });
  writeFileSync(
    path.join(out, 'metadata.json'),
    JSON.stringify({ config, particleScaling: sequence ? 'standard' : 'none' }),
  );
  return out;
}

export type Rate = { wall: number; cpu: number };

/** The Keras peer process (bench/peers/keras_predict_bench.py), one request at a time. */
export class KerasPeer {
  private readonly child: ChildProcessWithoutNullStreams;
  private readonly lines: AsyncIterator<string>;
  private stderr = '';

  constructor() {
    this.child = spawn(kerasPython(), [path.join(projectRoot, 'bench/peers/keras_predict_bench.py')]);
    this.child.stderr.on('data', (d: Buffer) => {
      this.stderr = (this.stderr + d.toString()).slice(-4000);
    });
    this.lines = createInterface({ input: this.child.stdout })[Symbol.asyncIterator]();
  }

  async ask<T>(req: object): Promise<T> {
    this.child.stdin.write(`${JSON.stringify(req)}\n`);
    const r = await this.lines.next();
    if (r.done) throw new Error(`Keras peer exited: ${this.stderr}`);
    return JSON.parse(r.value) as T;
  }

  /** Loads the exported model with the batch's inputs, as hepflow would pad and scale them. */
  async load(exportDir: string, bundle: ModelBundle, rows: readonly InputRow[]): Promise<void> {
    const { inputs } = inputArrays(rows, bundle.input);
    const files = inputs.map((a, i) => {
      const file = path.join(exportDir, `input-${i}.f32`);
      writeFileSync(file, a.values);
      return { path: file, shape: a.shape };
    });
    await this.ask({ model: path.join(exportDir, 'model.keras'), inputs: files });
  }

  async measure(seconds: number): Promise<Rate> {
    const r = await this.ask<{ eventsPerSecond: number; eventsPerCpuSecond: number }>({ measure: seconds });
    return { wall: r.eventsPerSecond, cpu: r.eventsPerCpuSecond };
  }

  single(seconds: number): Promise<{ p50: number; p99: number }> {
    return this.ask({ single: seconds });
  }

  async close(): Promise<void> {
    this.child.stdin.end();
    await new Promise((r) => this.child.once('exit', r));
  }
}

export const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};
