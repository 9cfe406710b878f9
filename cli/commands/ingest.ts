import { parseArgs } from 'node:util';
import { baseName, storage } from '../../src/storage/index.js';
import type { IngestInput } from '../../workflows/ingest.js';
import type { FanOutResult, FileResult } from '../../src/contract/fan-out.js';
import type { TreeSummary } from '../../src/root/tree-summary.js';
import { csv, positiveInt, uriArgument, UsageError } from '../args.js';
import { newWorkflowId, runWorkflow } from '../temporal-run.js';

export const INGEST_USAGE = `usage: hepflow ingest <input-uri> [--out <uri>] [--tree <name>] [--branches a,b]
                      [--batch-size 100] [--files-in-flight 8] [--local-worker] [--no-wait]`;

export const runIngest = (input: IngestInput, o: { localWorker: boolean; wait: boolean; workflowId?: string }) =>
  runWorkflow<FanOutResult>('ingestWorkflow', input, { ...o, workflowId: o.workflowId ?? newWorkflowId('ingest') });

export async function printIngestResult(r: FanOutResult): Promise<void> {
  const manifest = await storage().readJson<{ files: FileResult<TreeSummary>[] }>(r.manifestUri);
  for (const f of manifest.files) {
    if (f.status !== 'ok') continue;
    const s = f.outcome;
    console.log(`  ${baseName(f.file.uri).padEnd(32)} ${s.treeName.padEnd(8)} ${String(s.entries).padStart(8)} entries  ${s.branches.length} branches`);
  }
  const t = r.totals;
  console.log(`files: ${r.listing.files} (${t.ok} read, ${t.failed} failed), entries: ${t.counters.entries ?? 0}, bytes: ${t.bytes}`);
  for (const f of r.failures) console.log(`  FAILED ${f.error}`);
  console.log(`manifest: ${r.manifestUri}`);
}

export async function ingestCommand(args: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      out: { type: 'string' },
      tree: { type: 'string' },
      branches: { type: 'string' },
      'batch-size': { type: 'string' },
      'files-in-flight': { type: 'string' },
      'local-worker': { type: 'boolean', default: false },
      'no-wait': { type: 'boolean', default: false },
    },
  });
  if (positionals.length !== 1) throw new UsageError(INGEST_USAGE);
  const inputUri = uriArgument(positionals[0]!);
  const bucket = process.env.HEPFLOW_BUCKET ?? 'hepflow';
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const input: IngestInput = {
    inputUri: inputUri.endsWith('/') ? inputUri : `${inputUri}/`,
    outputUri: uriArgument(values.out ?? `s3://${bucket}/runs/ingest-${stamp}`),
    treeName: values.tree,
    statBranches: csv(values.branches),
    batchSize: positiveInt('--batch-size', values['batch-size'], 100),
    filesInFlight: positiveInt('--files-in-flight', values['files-in-flight'], 8),
  };
  const r = await runIngest(input, { localWorker: values['local-worker'], wait: !values['no-wait'] });
  if (r) await printIngestResult(r);
}
