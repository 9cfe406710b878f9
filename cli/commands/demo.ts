import { stackConfigFromEnv, webUiUrl } from '../../infra/stack-config.js';
import { stackUp } from '../../infra/stack.js';
import path from 'node:path';
import { projectRoot } from '../../src/paths.js';
import { copyPrefix } from '../../src/storage/copy.js';
import { storage } from '../../src/storage/index.js';
import { runIngest, printIngestResult } from './ingest.js';
import { newWorkflowId } from '../temporal-run.js';
import { printReport, runPipeline, standardModels } from './pipeline.js';
import type { PipelineInput } from '../../workflows/pipeline.js';

/** The demo's inputs: the shared ROOT files beside the checkout, never copied into it. */
export const demoInputs = path.resolve(projectRoot, '..', 'shared', 'testdata', 'root');

/**
 * The demo's pipeline run (also what bench/pipeline.ts profiles). QCD-heavy, because the
 * isolated-lepton filter keeps ~10% of QCD and the dataset is balanced to the smallest class.
 */
export const demoPipelineInput = (workUri: string): PipelineInput => ({
  workUri,
  generate: { events: 24_000, files: 4, seed: 1, mix: 'qcd=0.7,ttbar=0.15,wjets=0.15' },
  models: standardModels({ maxLen: 100, epochs: 4, pool: 'cpu' }),
});

/**
 * The quick start's main job, end to end on one machine: bring the stack up, ingest the
 * shared ROOT files from object storage, then run the whole pipeline on a generated
 * sample, with an in-process CPU worker. The stack stays up afterwards so the runs can
 * be browsed in the web UI.
 */
export async function demoCommand(): Promise<void> {
  const config = stackConfigFromEnv();
  const up = await stackUp(config);
  console.log(`stack: temporal ${up.temporal}, s3 ${up.s3}; web UI ${webUiUrl(config)}`);

  const inputs = `s3://${config.s3.bucket}/inputs/testdata/`;
  const { copied, skipped } = await copyPrefix(storage(), demoInputs + '/', inputs, (u) => u.endsWith('.root'));
  console.log(`inputs: ${copied.length} uploaded, ${skipped.length} already there, under ${inputs}`);

  const ingestId = newWorkflowId('demo-ingest');
  const ingested = await runIngest(
    { inputUri: inputs, outputUri: `s3://${config.s3.bucket}/runs/${ingestId}` },
    { localWorker: true, wait: true, workflowId: ingestId },
  );
  await printIngestResult(ingested!);

  const pipelineId = newWorkflowId('demo-pipeline');
  console.log('\nfull pipeline: generate → features → dataset → grid search ×3 models → evaluation');
  const report = await runPipeline(demoPipelineInput(`s3://${config.s3.bucket}/runs/${pipelineId}`), {
    localWorker: true,
    wait: true,
    workflowId: pipelineId,
  });
  await printReport(report!);
  console.log(`\nThe stack is still running: browse ${webUiUrl(config)}; stop it with 'hepflow stack down'.`);
}
