// Batch scoring of one file: from ROOT (features on the fly) and from a feature part,
// equal to each other and to evaluate's predictions on the same events; idempotent
// parts; the selection's accepted list and efficiency table.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFile, mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import * as pw from 'parquet-wasm';
import { tableFromIPC } from 'apache-arrow';
import * as tf from '@tensorflow/tfjs';
import { storage } from '../src/storage/index.js';
import { generateDelphesFile } from '../src/generator/file.js';
import { writeFeatureFile } from '../src/stages/features.js';
import { evaluateOnTestSet } from '../src/stages/evaluate.js';
import { scoreFilePart, summarizeScoreParts } from '../src/stages/score.js';
import { parseSelection } from '../src/scoring/selection.js';
import { bundleFromFiles } from '../src/ml/model-bundle.js';
import { readModelFiles } from '../src/ml/training/model-dir.js';
import { allRowBatches } from '../src/ml/data.js';
import { createRowSource } from '../src/ml/parquet-source.js';
import { predictRows } from '../src/ml/training/predict.js';
import { classificationReport } from '../src/ml/metrics.js';
import { trainedModelDir } from './helpers/trained-model.js';

await tf.setBackend('cpu');
const store = storage();
const CLASSES = ['qcd', 'ttbar', 'wjets'];
const dir = await mkdtemp(path.join(os.tmpdir(), 'hepflow-score-'));
const rootPath = path.join(dir, 'input', 'events.root');
await mkdir(path.dirname(rootPath));
await generateDelphesFile(rootPath, { events: 400, seed: 5, mix: 'balanced' });
const rootFile = (await store.head(rootPath))!;
const featurePart = path.join(dir, 'features', 'part.parquet');
const { rows: selectedRows } = await writeFeatureFile(
  store,
  rootFile,
  { labels: { from: 'sidecar', classes: CLASSES } },
  featurePart,
);
const modelUri = await trainedModelDir(dir, 'inclusive');
const text = (b: Uint8Array): string => new TextDecoder().decode(b);

interface Scores {
  uri: string[];
  entry: number[];
  label: number[];
  probs: number[][];
  accepted?: boolean[];
}

async function readScores(file: string): Promise<Scores> {
  const t = tableFromIPC(pw.readParquet(await store.readAll(file)).intoIPCStream());
  const col = (n: string) => t.getChild(n)!.toArray() as ArrayLike<unknown>;
  const probs = CLASSES.map((c) => Array.from(col(`p_${c}`) as Float32Array));
  return {
    uri: Array.from(col('source_uri') as string[]),
    entry: Array.from(col('source_entry') as BigInt64Array, Number),
    label: Array.from(col('label') as Int32Array),
    probs: probs[0]!.map((_, i) => probs.map((p) => p[i]!)),
    ...(t.getChild('accepted')
      ? { accepted: Array.from({ length: t.numRows }, (_, i) => t.getChild('accepted')!.get(i) as boolean) }
      : {}),
  };
}

const selection = parseSelection('ttbar>=0.4', CLASSES);

test('scoring from ROOT equals scoring the feature part, and both equal evaluate on the same events', async () => {
  assert.ok(selectedRows > 50, `only ${selectedRows} selected events`);
  const fromRoot = await scoreFilePart(store, {
    modelUri,
    file: rootFile,
    outputUri: path.join(dir, 'scores-root'),
    labels: { from: 'sidecar', classes: CLASSES },
    selection,
    eventsPerCall: 64,
  });
  const partInfo = (await store.head(featurePart))!;
  const fromPart = await scoreFilePart(store, {
    modelUri,
    file: partInfo,
    outputUri: path.join(dir, 'scores-part'),
    selection,
  });
  assert.equal(fromRoot.rows, selectedRows);
  assert.equal(fromPart.rows, selectedRows);
  assert.equal(fromRoot.counters.read, 400);
  const a = await readScores(fromRoot.partUri);
  const b = await readScores(fromPart.partUri);
  assert.deepEqual(a.entry, b.entry);
  assert.deepEqual(a.label, b.label);
  assert.ok(a.uri.every((u) => u === rootFile.uri));
  const worst = (x: number[][], y: ArrayLike<number>) =>
    x.flat().reduce((m, v, i) => Math.max(m, Math.abs(v - y[i]!)), 0);
  assert.ok(worst(a.probs, b.probs.flat()) < 1e-6);

  // evaluate's own prediction path (predictRows over the part) and its report.
  const bundle = await bundleFromFiles(await readModelFiles(store, modelUri));
  const source = await createRowSource({ uris: [featurePart] }, { store });
  const ev = await predictRows(bundle.model, allRowBatches(source, 512), { ...bundle.input, nClasses: 3 }, 'test');
  bundle.model.dispose();
  assert.deepEqual(Array.from(ev.labels), b.label);
  assert.ok(
    worst(b.probs, ev.probs) < 1e-6,
    `scores differ from evaluate's predictions by ${worst(b.probs, ev.probs)}`,
  );
  const datasetUri = path.join(dir, 'dataset');
  await mkdir(datasetUri);
  await copyFile(featurePart, path.join(datasetUri, 'test.parquet'));
  const evaluation = await evaluateOnTestSet({ modelUri, datasetUri, outputUri: path.join(dir, 'evaluation') }, store);
  const fromScores = classificationReport(b.probs.flat(), b.label, CLASSES);
  assert.equal(fromScores.accuracy, evaluation.accuracy);
  assert.deepEqual(fromScores.confusion, evaluation.confusion);
  for (const c of fromScores.perClass) assert.ok(Math.abs(c.auc - evaluation.auc[c.className]!) < 1e-9);

  // The selection: accepted flags, the summed accepted list and the efficiency table.
  assert.deepEqual(
    a.accepted,
    a.probs.map((p) => p[1]! >= 0.4),
  );
  const manifestUri = path.join(dir, 'scores-root', 'manifest.json');
  await writeFile(manifestUri, JSON.stringify({ files: [{ status: 'ok', outcome: fromRoot }] }));
  const summary = await summarizeScoreParts(store, {
    outputUri: path.join(dir, 'scores-root'),
    manifestUri,
    selection,
  });
  const accepted = text(await store.readAll(summary.acceptedUri!))
    .trim()
    .split('\n');
  assert.equal(accepted[0], 'source_uri,source_entry,probability');
  assert.deepEqual(
    accepted.slice(1).map((l) => Number(l.split(',')[1])),
    a.entry.filter((_, i) => a.accepted![i]),
  );
  for (const c of summary.efficiency!.classes) {
    const k = CLASSES.indexOf(c.truth);
    const mine = a.probs.filter((_, i) => a.label[i] === k);
    assert.equal(c.events, mine.length);
    assert.equal(c.atSelection, mine.filter((p) => p[1]! >= 0.4).length / mine.length);
    assert.equal(c.efficiency[4], mine.filter((p) => p[1]! >= 0.5).length / mine.length);
  }
  assert.match(
    text(await store.readAll(summary.efficiencyUri!.replace(/json$/, 'csv'))),
    /^true_class,events,eff_at_0\.1/,
  );
});

test('a rerun reuses the committed part; a changed selection scores anew', async () => {
  const input = { modelUri, file: rootFile, outputUri: path.join(dir, 'scores-rerun'), selection };
  const first = await scoreFilePart(store, input);
  const again = await scoreFilePart(store, input);
  assert.equal(first.reused, false);
  assert.equal(again.reused, true);
  assert.equal(again.partUri, first.partUri);
  assert.deepEqual(again.counters, first.counters);
  const other = await scoreFilePart(store, { ...input, selection: parseSelection('qcd>=0.9', CLASSES) });
  assert.notEqual(other.partUri, first.partUri);
});

test('bad input fails naming the file; a selection on an unknown class is refused', async () => {
  const notRoot = path.join(dir, 'bad.root');
  await writeFile(notRoot, 'not a ROOT file at all, just text');
  await assert.rejects(
    scoreFilePart(store, { modelUri, file: (await store.head(notRoot))!, outputUri: path.join(dir, 'bad') }),
    /bad\.root/,
  );
  assert.throws(() => parseSelection('higgs>=0.5', CLASSES), /unknown class 'higgs'.*qcd, ttbar, wjets/);
  assert.throws(() => parseSelection('ttbar>1', CLASSES), /expected <class>>=<threshold>/);
  await assert.rejects(
    scoreFilePart(store, { modelUri: path.join(dir, 'nowhere'), file: rootFile, outputUri: path.join(dir, 'bad') }),
    /has no model\.json/,
  );
});
