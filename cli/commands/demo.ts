import { stackConfigFromEnv, webUiUrl } from '../../infra/stack-config.js';
import { stackUp } from '../../infra/stack.js';
import { sharedTestData } from '../../src/paths.js';
import { copyPrefix } from '../../src/storage/copy.js';
import { storage } from '../../src/storage/index.js';
import { runIngest, printIngestResult } from './ingest.js';
import { newWorkflowId } from '../temporal-run.js';

/**
 * The quick start's main job, end to end on one machine: bring the stack up, put the
 * shared ROOT files into object storage, and run the pipeline's workflows with an
 * in-process CPU worker. The stack stays up afterwards so the runs can be browsed.
 */
export async function demoCommand(): Promise<void> {
  const config = stackConfigFromEnv();
  const up = await stackUp(config);
  console.log(`stack: temporal ${up.temporal}, s3 ${up.s3}; web UI ${webUiUrl(config)}`);

  const inputs = `s3://${config.s3.bucket}/inputs/testdata/`;
  const { copied, skipped } = await copyPrefix(storage(), sharedTestData + '/', inputs, (u) => u.endsWith('.root'));
  console.log(`inputs: ${copied.length} uploaded, ${skipped.length} already there, under ${inputs}`);

  const workflowId = newWorkflowId('demo-ingest');
  const result = await runIngest(
    {
      inputUri: inputs,
      outputUri: `s3://${config.s3.bucket}/runs/${workflowId}`,
    },
    { localWorker: true, wait: true, workflowId },
  );
  await printIngestResult(result!);
  console.log(`\nThe stack is still running: browse ${webUiUrl(config)}; stop it with 'hepflow stack down'.`);
}
