/**
 * The `temporal workflow start … --input '…'` examples of the README, taken from the
 * README itself, pass the schemas their workflows check first thing, so a user copying
 * one gets a run rather than InvalidWorkflowInput; and the data-parallel keys (`workers`,
 * `localSteps`, `spec` or `config`) are checked at the edge, naming the key.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { InputSchemaError } from '../src/input/validate.js';
import { projectRoot } from '../src/paths.js';
import { resolveTrainSpec, type TrainSpec } from '../src/stages/train-spec.js';
import {
  distributedTrainInputSchema,
  gridSearchInputSchema,
  ingestInputSchema,
  pipelineInputSchema,
} from '../workflows/input-schemas.js';

const SCHEMAS: Record<string, (v: unknown, key: string) => unknown> = {
  ingestWorkflow: ingestInputSchema,
  pipelineWorkflow: pipelineInputSchema,
  distributedTrainWorkflow: distributedTrainInputSchema,
  gridSearchWorkflow: gridSearchInputSchema,
};

function readmeStarts(): { type: string; input: unknown }[] {
  const readme = ['README.md', 'docs/guide/05-deployment.md']
    .map((f) => readFileSync(path.join(projectRoot, f), 'utf8'))
    .join('\n');
  const starts = [...readme.matchAll(/temporal workflow start --type (\w+)[^']*?--input '([^']*)'/g)];
  return starts.map(([, type, json]) => ({ type: type!, input: JSON.parse(json!) }));
}

test("every README `temporal workflow start` input passes its workflow's schema; the data-parallel ones train on several workers", () => {
  const starts = readmeStarts();
  const types = starts.map((s) => s.type);
  for (const t of ['distributedTrainWorkflow', 'pipelineWorkflow'])
    assert.ok(types.includes(t), `the README starts ${t}`);
  for (const { type, input } of starts) {
    const schema = SCHEMAS[type];
    assert.ok(schema, `no schema for ${type}`);
    schema(input, 'input');
  }
  const dist = starts.find((s) => s.type === 'distributedTrainWorkflow')!.input as { spec: TrainSpec; workers: number };
  assert.ok(dist.workers > 1);
  assert.equal(resolveTrainSpec(dist.spec, ['qcd', 'ttbar', 'wjets']).model.kind, 'inclusive');
  assert.ok(
    starts.some(
      (s) =>
        s.type === 'pipelineWorkflow' &&
        (s.input as { models: { workers?: number }[] }).models.some((m) => (m.workers ?? 1) > 1),
    ),
    'a pipeline example trains a model on several workers',
  );
});

test('workers, localSteps and the model of a data-parallel training are checked at the edge, naming the key', () => {
  const refused = (f: () => unknown, pattern: RegExp) =>
    assert.throws(f, (e: unknown) => e instanceof InputSchemaError && pattern.test(e.message));
  const pipeline = (model: object) =>
    pipelineInputSchema(
      {
        workUri: 's3://bkt/w',
        generate: { events: 10, files: 1 },
        models: [{ name: 'hlf', spec: { kind: 'hlf' }, ...model }],
      },
      'input',
    );
  pipeline({ workers: 3, localSteps: 16 });
  refused(() => pipeline({ workers: 0 }), /^input\.models\[0\]\.workers: expected an integer >= 1/);
  refused(() => pipeline({ localSteps: 'many' }), /^input\.models\[0\]\.localSteps: expected an integer >= 1/);
  refused(
    () =>
      pipelineInputSchema(
        {
          workUri: 's3://bkt/w',
          generate: { events: 10, files: 1 },
          dataset: { rowGroupSize: 0 },
          models: [{ name: 'hlf', spec: { kind: 'hlf' } }],
        },
        'input',
      ),
    /^input\.dataset\.rowGroupSize: expected an integer >= 1/,
  );
  const dist = { runId: 'r', datasetUri: 's3://bkt/d', outputUri: 's3://bkt/o', workers: 2 };
  distributedTrainInputSchema({ ...dist, spec: { kind: 'hlf' } }, 'input');
  refused(
    () => distributedTrainInputSchema({ ...dist, spec: { kind: 'hlf' }, config: {} }, 'input'),
    /^input: expected exactly one of config .* or spec/,
  );
  refused(() => distributedTrainInputSchema(dist, 'input'), /^input: expected exactly one of config .* or spec/);
  refused(
    () => distributedTrainInputSchema({ ...dist, workers: 1.5, spec: { kind: 'hlf' } }, 'input'),
    /^input\.workers: expected an integer >= 1/,
  );
  refused(
    () => distributedTrainInputSchema({ ...dist, spec: { kind: 'hlf' }, localsteps: 8 }, 'input'),
    /^input\.localsteps: expected no such key/,
  );
});
