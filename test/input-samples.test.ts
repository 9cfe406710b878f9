import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  featureOutcomeProblem,
  resolveSamples,
  type SampleInput,
  type SampleOutcome,
} from '../src/contract/samples.js';
import { InputSchemaError, INPUT_URI_SCHEMES, uriProblem } from '../src/contract/validate.js';
import { distributedTrainInputSchema, pipelineInputSchema, featuresInputSchema } from '../workflows/input-schemas.js';
import { renderPipelineReport, type PipelineReport } from '../src/stages/report.js';
import { sampleArgument } from '../cli/args.js';

const schemaError = (f: () => unknown, pattern: RegExp) =>
  assert.throws(f, (e: unknown) => e instanceof InputSchemaError && pattern.test(e.message));

test('samples: class order fixes labels; samples may share a class; a sidecar sample brings the paper preset', () => {
  const r = resolveSamples([
    { name: 'signal', uri: 's3://data/tt/' },
    { name: 'bkg-a', uri: 's3://data/w/', label: 'bkg' },
    { name: 'bkg-b', uris: ['s3://data/z/', 'file:///d/z.root'], label: 'bkg' },
  ]);
  assert.deepEqual(r.classes, ['signal', 'bkg']);
  assert.deepEqual(
    r.samples.map((s) => s.labels),
    [
      { from: 'class', className: 'signal', label: 0 },
      { from: 'class', className: 'bkg', label: 1 },
      { from: 'class', className: 'bkg', label: 1 },
    ],
  );
  assert.deepEqual(r.samples[2]!.uris, ['s3://data/z/', 'file:///d/z.root']);
  const generated = resolveSamples([{ name: 'generated', uri: 's3://b/in/', sidecar: true }]);
  assert.deepEqual(generated.classes, ['qcd', 'ttbar', 'wjets']);
  assert.deepEqual(generated.samples[0]!.labels, { from: 'sidecar', classes: ['qcd', 'ttbar', 'wjets'] });
});

test('samples: one class is enough where asked for (the features of one sample), never none', () => {
  const r = resolveSamples([{ name: 'qcd', uri: 's3://bkt/qcd/x.root' }], 'samples', 1);
  assert.deepEqual(r.classes, ['qcd']);
  assert.deepEqual(r.samples[0]!.labels, { from: 'class', className: 'qcd', label: 0 });
  schemaError(() => resolveSamples([], 'samples', 1), /^samples: expected a sample/);
});

test('samples: one class, duplicate names, both or neither of uri/uris are refused by key', () => {
  schemaError(
    () =>
      resolveSamples([
        { name: 'a', uri: 's3://bkt/x/' },
        { name: 'b', uri: 's3://bkt/y/', label: 'a' },
      ]),
    /^samples: expected samples of at least two classes/,
  );
  schemaError(
    () =>
      resolveSamples([
        { name: 'a', uri: 's3://bkt/x/' },
        { name: 'a', uri: 's3://bkt/y/' },
      ]),
    /^samples\[1\]\.name: expected a name no other sample has/,
  );
  schemaError(
    () =>
      resolveSamples([
        { name: 'a', uri: 's3://bkt/x/', uris: ['s3://bkt/y/'] },
        { name: 'b', uri: 's3://bkt/y/' },
      ]),
    /^samples\[0\]: expected exactly one of uri or uris/,
  );
  schemaError(
    () => resolveSamples([{ name: 'a' }, { name: 'b', uri: 's3://bkt/y/' }]),
    /^samples\[0\]: expected exactly one of uri or uris/,
  );
});

test('URIs: known schemes only, absolute, valid buckets', () => {
  assert.equal(uriProblem('s3://hepflow/runs/x'), undefined);
  assert.equal(uriProblem('file:///tmp/x/'), undefined);
  assert.match(uriProblem('s3:/hepflow/x')!, /a URI such as/);
  assert.match(uriProblem('not a uri')!, /a URI such as/);
  assert.match(uriProblem('relative/path')!, /a URI such as/);
  assert.match(uriProblem('gs://bucket/x')!, /scheme s3:\/\/ or file:\/\//);
  assert.match(uriProblem('s3://UPPER/x')!, /valid bucket name/);
  assert.match(uriProblem('file://relative/x')!, /file:\/\/\/absolute/);
  // http(s) is for inputs only.
  assert.match(uriProblem('https://eos.example.org/x.root')!, /read-only: inputs only/);
  assert.equal(uriProblem('https://eos.example.org/x.root', INPUT_URI_SCHEMES), undefined);
  assert.match(uriProblem('http://user:pw@host/x.root', INPUT_URI_SCHEMES)!, /HEPFLOW_HTTP_BEARER_TOKEN/);
});

test('workflow input schemas name the key, what was expected and what was given', () => {
  const models = [{ name: 'hlf', spec: { kind: 'hlf' } }];
  const samples = [
    { name: 'a', uri: 's3://bkt/a/' },
    { name: 'b', uri: 's3://bkt/b/' },
  ];
  pipelineInputSchema({ workUri: 's3://bkt/w', samples, models }, 'input');
  pipelineInputSchema({ workUri: 's3://bkt/w', generate: { events: 100, files: 1 }, models }, 'input');
  schemaError(
    () => pipelineInputSchema({ workUri: 's3://bkt/w', models }, 'input'),
    /^input: expected exactly one of samples .* or generate/,
  );
  schemaError(
    () => pipelineInputSchema({ workUri: 's3://bkt/w', samples, models: [...models, ...models] }, 'input'),
    /^input\.models\[1\]\.name: expected a name no other model has/,
  );
  schemaError(
    () =>
      pipelineInputSchema(
        { workUri: 's3://bkt/w', samples, models: [{ name: 'x', spec: { kind: 'cnn' } }] },
        'run.json',
      ),
    /^run\.json\.models\[0\]\.spec\.kind: expected one of 'hlf', 'particle-sequence', 'inclusive', 'gru', got "cnn"/,
  );
  schemaError(
    () => pipelineInputSchema({ workUri: 's3://bkt/w', samples, models, dataset: { testFraction: 1.5 } }, 'input'),
    /^input\.dataset\.testFraction: expected a number > 0 and < 1, got 1\.5/,
  );
  schemaError(
    () => featuresInputSchema({ samples, outputUri: 's3://bkt/f', emptyIfMissing: ['muon'] }, 'input'),
    /^input\.emptyIfMissing\[0\]: expected one of 'electrons', 'muons'/,
  );
  schemaError(
    () => featuresInputSchema({ samples: [{ name: 'a b', uri: 's3://bkt/a/' }], outputUri: 's3://bkt/f' }, 'input'),
    /^input\.samples\[0\]\.name: expected a name of letters/,
  );
  // A batch of thousands of files would carry its results in one payload past Temporal's limits.
  schemaError(
    () => featuresInputSchema({ samples, outputUri: 's3://bkt/f', batchSize: 5000 }, 'input'),
    /^input\.batchSize: expected an integer >= 1 and <= 500, got 5000/,
  );
  featuresInputSchema({ samples, outputUri: 's3://bkt/f', batchSize: 500, batchesPerRun: 1000 }, 'input');
  // Samples may be read over http(s); nothing is written there.
  featuresInputSchema(
    {
      samples: [
        { name: 'a', uri: 'https://eos.example.org/a/' },
        { name: 'b', uris: ['http://h/b.root'] },
      ],
      outputUri: 's3://bkt/f',
    },
    'input',
  );
  schemaError(
    () => featuresInputSchema({ samples, outputUri: 'https://eos.example.org/f' }, 'input'),
    /^input\.outputUri: expected a URI with scheme s3:\/\/ or file:\/\/ \(https:\/\/ is read-only/,
  );
});

const tally = (o: Partial<SampleOutcome>): SampleOutcome => ({ ok: 1, failed: 0, counters: {}, causes: {}, ...o });

test('features outcome: a dead sample, an empty class, failed files without the policy; counts per cause and the first files', () => {
  const { samples, classes } = resolveSamples([
    { name: 'sig', uri: 's3://bkt/s/' },
    { name: 'bkg', uri: 's3://bkt/b/' },
  ]);
  const good = tally({ counters: { read: 100, rows: 10, 'class:sig': 10 } });
  const dead = featureOutcomeProblem(
    samples,
    classes,
    [
      good,
      tally({
        ok: 0,
        failed: 5,
        causes: {
          '<file>: not a ROOT file': {
            count: 4,
            files: ['s3://bkt/b/1.root', 's3://bkt/b/2.root', 's3://bkt/b/3.root'],
          },
          '<file>: truncated': { count: 1, files: ['s3://bkt/b/9.root'] },
        },
      }),
    ],
    false,
  );
  assert.equal(dead?.type, 'SampleFailed');
  assert.equal(
    dead?.message,
    "no file of 'bkg' could be read: sample 'bkg': 5 of 5 files failed: 4× <file>: not a ROOT file (s3://bkt/b/1.root, s3://bkt/b/2.root, s3://bkt/b/3.root, …); 1× <file>: truncated (s3://bkt/b/9.root)",
  );
  const empty = featureOutcomeProblem(samples, classes, [good, tally({ counters: { read: 50, rows: 0 } })], false);
  assert.equal(empty?.type, 'EmptyClass');
  assert.match(
    empty.message,
    /no selected events of class 'bkg': 'sig' read 100 events in 1 files, selected 10; 'bkg' read 50 events in 1 files, selected 0/,
  );
  const partial = tally({
    ok: 3,
    failed: 1,
    counters: { read: 50, rows: 5, 'class:bkg': 5 },
    causes: { '<file>: truncated': { count: 1, files: ['s3://bkt/b/9.root'] } },
  });
  assert.equal(featureOutcomeProblem(samples, classes, [good, partial], false)?.type, 'FilesFailed');
  assert.equal(featureOutcomeProblem(samples, classes, [good, partial], true), undefined);
});

test("the report names the classes of the run, each sample's cut flow, and the allowFailedFiles policy when files were left out", () => {
  const report = {
    workflowId: 'w',
    classes: ['ttbar', 'wjets'],
    samples: [
      {
        name: 'ttbar',
        uri: 's3://bkt/t/',
        ok: 1,
        failed: 0,
        counters: { read: 200, withIsolatedLepton: 121 },
        causes: {},
      },
      {
        name: 'wjets',
        uri: 's3://bkt/w/',
        ok: 1,
        failed: 1,
        counters: { read: 200, withIsolatedLepton: 155 },
        causes: {},
      },
    ],
    features: { manifestUri: 's3://bkt/m.json', files: 3, failed: 1, counters: { read: 400 }, allowFailedFiles: true },
    dataset: {
      datasetUri: 's3://bkt/ds',
      kind: 'dev',
      parts: 2,
      classes: ['ttbar', 'wjets'],
      perClass: 121,
      available: { ttbar: 121, wjets: 155 },
      counts: { train: { ttbar: 97, wjets: 97 }, test: { ttbar: 24, wjets: 24 } },
      configHash: 'h',
    },
    models: [
      {
        name: 'hlf',
        kind: 'hlf',
        best: { runId: 'default' },
        trained: 1,
        failed: 0,
        tableUri: 't',
        evaluation: { auc: { ttbar: 0.9, wjets: 0.9 }, accuracy: 0.8, plotUri: 'p' },
      },
    ],
  } as unknown as PipelineReport;
  const md = renderPipelineReport(report);
  assert.match(md, /Classes \(label order\): ttbar, wjets\./);
  assert.match(md, /\| wjets \| wjets \| s3:\/\/bkt\/w\/ \| 1 \| 1 \| read 200, .* isolated lepton 155 \|/);
  assert.match(md, /\*\*1 input files failed and were left out under the run's allowFailedFiles policy\*\*/);
  assert.match(md, /\| model \| best point \| points \| test AUC ttbar \| test AUC wjets \| accuracy \|\n/);
  assert.doesNotMatch(md, /paper/, 'the paper compares only its own three classes');
});

test('--sample name=uri[,uri]: local paths become file:// URIs, directories keep their slash', () => {
  assert.deepEqual(
    ['qcd=s3://data/qcd/', 'tt=/data/tt/,/data/tt2/x.root'].reduce(
      (all, a) => sampleArgument(a, all),
      [] as SampleInput[],
    ),
    [
      { name: 'qcd', uri: 's3://data/qcd/' },
      { name: 'tt', uris: ['file:///data/tt/', 'file:///data/tt2/x.root'] },
    ],
  );
  assert.throws(() => sampleArgument('qcd'), /expected name=uri/);
});

test('workers, localSteps and the model of a data-parallel training are checked at the edge, naming the key', () => {
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
  schemaError(() => pipeline({ workers: 0 }), /^input\.models\[0\]\.workers: expected an integer >= 1/);
  schemaError(() => pipeline({ localSteps: 'many' }), /^input\.models\[0\]\.localSteps: expected an integer >= 1/);
  schemaError(
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
  schemaError(
    () => distributedTrainInputSchema({ ...dist, spec: { kind: 'hlf' }, config: {} }, 'input'),
    /^input: expected exactly one of config .* or spec/,
  );
  schemaError(() => distributedTrainInputSchema(dist, 'input'), /^input: expected exactly one of config .* or spec/);
  schemaError(
    () => distributedTrainInputSchema({ ...dist, workers: 1.5, spec: { kind: 'hlf' } }, 'input'),
    /^input\.workers: expected an integer >= 1/,
  );
  schemaError(
    () => distributedTrainInputSchema({ ...dist, spec: { kind: 'hlf' }, localsteps: 8 }, 'input'),
    /^input\.localsteps: expected no such key/,
  );
});
