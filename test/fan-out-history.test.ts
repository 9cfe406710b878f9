import assert from 'node:assert/strict';
import { test } from 'node:test';
import { runFanOutCapacity } from '../bench/lib/fan-out-capacity.js';
import { historyViolations, largestByType } from '../bench/lib/history-footprint.js';

/**
 * The short form of the capacity benchmark's Temporal phase (bench/capacity.ts: 10,000 and
 * 100,000 files): the real ingest fan-out on a real dev server, rclone's S3 server and a
 * real worker process, over small real ROOT files, with batches and runs small enough
 * that the parent continues as new several times. Every run's history must stay within
 * a size set by the batching alone (files per batch, batches per run), never by the
 * number of files: the chain gets longer instead.
 */
// 20 batches in 5 parent runs: as many continuations as 600 files in batches of 20 made,
// for a third of the files (the time goes per file).
const FILES = 200;
const BATCH = 10;
const PER_RUN = 4;

test('continue-as-new keeps every history of a fan-out bounded by its batching, not its file count', async () => {
  const r = await runFanOutCapacity({ files: FILES, batchSize: BATCH, batchesPerRun: PER_RUN, workers: 1 });
  const batches = Math.ceil(FILES / BATCH);
  const parents = r.runs.filter((x) => x.workflowType === 'ingestWorkflow');
  const children = r.runs.filter((x) => x.workflowType === 'fileBatchWorkflow');
  assert.equal(r.entries, FILES * r.eventsPerFile, 'every event of every file was read');
  assert.equal(parents.length, Math.ceil(batches / PER_RUN), 'one parent run per batchesPerRun batches');
  assert.equal(children.length, batches);
  // Per batch a parent run records a child's initiation, start and close and the workflow
  // tasks between (measured: about 8); per file a batch records its activity's three
  // events and a workflow task (about 5). Twice that, plus the runs' fixed events.
  for (const p of parents) assert.ok(p.events <= 16 * PER_RUN + 60, `parent run ${p.runId}: ${p.events} events`);
  for (const c of children) assert.ok(c.events <= 10 * BATCH + 60, `${c.workflowId}: ${c.events} events`);
  assert.equal(
    r.activities,
    FILES + 2 * batches + 2,
    'a file each, a listing read and a result write per batch, list and manifest',
  );
  assert.deepEqual(historyViolations(r.runs), []);
  const byType = largestByType(r.runs);
  assert.ok(byType.every((t) => t.largestPayloadBytes > 0 && t.bytes > 0));
});
