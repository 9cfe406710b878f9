/**
 * The Temporal boundary (src/contract/): the failure types name the errors the code
 * really throws, and the run layout is one. Which imports may cross the boundary:
 * test/import-graph.test.ts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  ErrorTypes,
  NON_RETRYABLE_ERROR_TYPES,
  WorkflowFailureTypes,
  type WorkflowFailureType,
} from '../src/contract/errors.js';
import type { OutcomeProblem } from '../src/contract/samples.js';
import { InputSchemaError } from '../src/contract/validate.js';
import { datasetFiles, fanOutFiles, gridFiles, runFiles, trainFiles } from '../src/contract/run-layout.js';
import {
  CheckpointError,
  DatasetTooSmallError,
  InvalidInputError,
  MissingBranchError,
  MissingTreeError,
  RootFormatError,
  TrainingDivergedError,
  UnsupportedRootFeatureError,
} from '../src/errors.js';
import { InvalidUriError, ObjectNotFoundError, PermanentStorageError } from '../src/storage/index.js';
import { runLayout as distributedLayout } from '../src/ml/distributed/layout.js';

test('each non-retryable failure type is the name of the error class that carries it', () => {
  const thrown: Record<keyof typeof ErrorTypes, Error> = {
    invalidInput: new InvalidInputError('x'),
    rootFormat: new RootFormatError('u', 'x'),
    unsupportedRootFeature: new UnsupportedRootFeatureError('u', 'x'),
    missingTree: new MissingTreeError('u', 't', []),
    missingBranch: new MissingBranchError('u', 't', 'b'),
    objectNotFound: new ObjectNotFoundError('u', 'read'),
    permanentStorage: new PermanentStorageError('u', 'read', 'x'),
    invalidUri: new InvalidUriError('u', 'x'),
    trainingDiverged: new TrainingDivergedError('x'),
    checkpoint: new CheckpointError('x'),
    datasetTooSmall: new DatasetTooSmallError('x'),
  };
  for (const [k, e] of Object.entries(thrown)) assert.equal(e.name, ErrorTypes[k as keyof typeof ErrorTypes], k);
  // The reader's base classes are never thrown as such: a type nobody emits would be a dead entry.
  assert.ok(!NON_RETRYABLE_ERROR_TYPES.includes('RootFileError' as never));
  assert.ok(!NON_RETRYABLE_ERROR_TYPES.includes('RootReaderError' as never));
});

test('the types workflows fail with are the named workflow failure types', () => {
  // Checked by the compiler: a verdict of the features stage outside the list does not compile.
  const featureVerdicts: Record<OutcomeProblem['type'], WorkflowFailureType> = {
    SampleFailed: 'SampleFailed',
    EmptyClass: 'EmptyClass',
    FilesFailed: 'FilesFailed',
  };
  for (const [k, v] of Object.entries(featureVerdicts)) assert.equal(k, v);
  assert.equal(new InputSchemaError('input.x', 'a number', 'y').name, WorkflowFailureTypes.invalidInput);
});

test('the run layout: one place names every prefix and object, whatever the trailing slashes', () => {
  for (const work of ['s3://b-1/runs/r1', 's3://b-1/runs/r1/', 's3://b-1/runs/r1//']) {
    const r = runFiles(work);
    assert.equal(r.input, 's3://b-1/runs/r1/input/');
    assert.equal(r.features, 's3://b-1/runs/r1/features');
    assert.equal(r.dataset('dev'), 's3://b-1/runs/r1/dataset-dev');
    assert.equal(r.models('hlf'), 's3://b-1/runs/r1/models/hlf');
    assert.equal(r.reportMarkdown, 's3://b-1/runs/r1/report.md');
    assert.equal(r.reportHtml, 's3://b-1/runs/r1/report.html');
  }
  const f = fanOutFiles('file:///w/features/');
  assert.equal(f.listingBatch(3), 'file:///w/features/listing/batch-000003.json');
  assert.equal(f.batchResult(12), 'file:///w/features/results/batch-000012.json');
  assert.equal(f.manifest, 'file:///w/features/manifest.json');
  assert.equal(f.part('abc', '.commit.json'), 'file:///w/features/parts/abc.commit.json');
  assert.equal(datasetFiles('s3://b-1/d/').train, 's3://b-1/d/train.parquet');
  const g = gridFiles('s3://b-1/m/');
  assert.equal(g.run('p0'), 's3://b-1/m/runs/p0');
  assert.equal(trainFiles(g.run('p0')).checkpoints, 's3://b-1/m/runs/p0/checkpoints');
  // A distributed training writes its model where a single-worker training does.
  assert.equal(distributedLayout(g.run('p0')).model, trainFiles(g.run('p0')).model);
});
