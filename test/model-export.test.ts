// The export others load: model.json with Keras' standard GRU, and a .keras file that
// stock Keras (project venv) loads and that predicts what hepflow predicts within 1e-5.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createInterface } from 'node:readline';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { storage } from '../src/storage/index.js';
import { makeInputs } from '../src/ml/data.js';
import { bundleFromFiles, predictProbabilities } from '../src/ml/model-bundle.js';
import { readModelFiles } from '../src/ml/training/model-dir.js';
import { syntheticRows } from './helpers/synthetic.js';
import { toStandardTopology } from '../src/ml/portable-topology.js';
import { exportModel } from '../src/stages/export.js';
import { MODEL_KINDS } from '../src/ml/models.js';
import { trainedModelDir } from './helpers/trained-model.js';

await tf.setBackend('cpu');
const PYTHON = path.join(process.cwd(), '.tools/venv/bin/python');
const PREDICT = path.join(process.cwd(), 'test/python/keras_predict.py');
const dir = await mkdtemp(path.join(os.tmpdir(), 'hepflow-export-'));
// Rows the models never saw, with sequences longer than maxLen (10) to exercise truncation.
const rows = syntheticRows({ rows: 40, seed: 99, maxParticles: 14 });

const nested = (t: tf.Tensor): unknown => t.arraySync();

type KerasAnswer = { probs: number[][]; layers: string[] } | { skip: string };
let keras:
  | { child: ChildProcessWithoutNullStreams; answers: AsyncIterator<string>; stderr: string; skip?: KerasAnswer }
  | undefined;
/** Keras' predictions, from one Python process for the file (it answers a line per request). */
async function kerasPredict(req: unknown): Promise<KerasAnswer> {
  if (!keras) {
    const child = spawn(PYTHON, [PREDICT]);
    keras = { child, answers: createInterface({ input: child.stdout })[Symbol.asyncIterator](), stderr: '' };
    child.stderr.on('data', (d) => {
      keras!.stderr += d;
    });
  }
  if (keras.skip) return keras.skip;
  keras.child.stdin.write(`${JSON.stringify(req)}\n`);
  const line = await keras.answers.next();
  assert.ok(!line.done, `${PREDICT} ended: ${keras.stderr}`);
  const answer = JSON.parse(line.value) as KerasAnswer;
  // Without Keras the script says why and ends: the same answer for every model.
  if ('skip' in answer) keras.skip = answer;
  return answer;
}
after(() => keras?.child.stdin.end());

for (const kind of MODEL_KINDS) {
  test(`${kind}: the export loads in Keras 3 and predicts as hepflow within 1e-5`, async (t) => {
    if (!existsSync(PYTHON)) {
      t.skip(`no project venv at ${PYTHON}`);
      return;
    }
    const modelUri = await trainedModelDir(dir, kind);
    const outUri = path.join(dir, `${kind}-export`);
    const r = await exportModel(storage(), { modelUri, outputUri: outUri });
    assert.deepEqual(
      [...r.files].sort(),
      [
        'metadata.json',
        'model.json',
        'model.keras',
        'scaler.json',
        'weights.bin',
        ...(kind === 'hlf' ? [] : ['particle-scaler.json']),
      ].sort(),
    );

    const portable = JSON.parse(await readFile(path.join(outUri, 'model.json'), 'utf8'));
    const classes = portable.modelTopology.config.layers.map((l: { class_name: string }) => l.class_name);
    assert.ok(!classes.includes('HepflowFusedGRU'), `custom class left in ${classes}`);
    if (kind !== 'hlf') assert.ok(classes.includes('GRU'));

    const original = await bundleFromFiles(await readModelFiles(storage(), modelUri));
    const want = await predictProbabilities(original, rows);
    // hepflow reads its own export back (the standard GRU becomes the fused one again).
    const reloaded = await bundleFromFiles(await readModelFiles(storage(), outUri));
    const again = await predictProbabilities(reloaded, rows);
    assert.deepEqual(Array.from(again), Array.from(want));

    const { inputs } = makeInputs(rows, original.input);
    const req = { model: path.join(outUri, 'model.keras'), inputs: inputs.map(nested) };
    tf.dispose(inputs);
    const answer = await kerasPredict(req);
    if ('skip' in answer) {
      t.skip(answer.skip);
      return;
    }
    if (kind !== 'hlf') assert.ok(answer.layers.includes('GRU'), `Keras layers: ${answer.layers}`);
    const got = answer.probs.flat();
    assert.equal(got.length, want.length);
    let worst = 0;
    for (let i = 0; i < got.length; i++) worst = Math.max(worst, Math.abs(got[i]! - want[i]!));
    assert.ok(worst < 1e-5, `${kind}: Keras differs from hepflow by up to ${worst}`);
    // Not a vacuous comparison: the predictions vary from event to event.
    assert.ok(
      Math.max(...want) - Math.min(...want) > 1e-3,
      `predictions barely vary: ${Math.min(...want)}..${Math.max(...want)}`,
    );
    original.model.dispose();
    reloaded.model.dispose();
  });
}

test('export refuses a GRU that Keras cannot represent, naming the layer', () => {
  const topology = {
    class_name: 'Model',
    config: {
      layers: [
        {
          name: 'g',
          class_name: 'HepflowFusedGRU',
          config: { units: 4, recurrent_activation: 'sigmoid', reset_after: true, mask_zeros: true },
        },
      ],
    },
  };
  assert.throws(() => toStandardTopology(topology, 'm.json'), /m\.json: GRU layer 'g' masks zero steps itself/);
  topology.config.layers[0]!.config.mask_zeros = false;
  topology.config.layers[0]!.config.recurrent_activation = 'hard_sigmoid';
  assert.throws(() => toStandardTopology(topology, 'm.json'), /only 'sigmoid' exports/);
});
