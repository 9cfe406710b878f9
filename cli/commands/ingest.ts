import { baseName, storage } from '../../src/storage/index.js';
import type { IngestInput } from '../../workflows/ingest.js';
import type { FanOutResult, FileResult } from '../../src/contract/fan-out.js';
import type { BranchStats, TreeSummary } from '../../src/root/tree-summary.js';
import { newWorkflowId, runWorkflow } from '../temporal-run.js';

export interface IngestOptions {
  out?: string;
  tree?: string;
  branches?: string[];
  batchSize: number;
  filesInFlight: number;
  localWorker?: boolean;
  wait: boolean;
  allowFailedFiles?: boolean;
}

export const runIngest = (input: IngestInput, o: { localWorker: boolean; wait: boolean; workflowId?: string }) =>
  runWorkflow<FanOutResult>('ingestWorkflow', input, {
    ...o,
    workflowId: o.workflowId ?? newWorkflowId('ingest'),
    summary: `ingest ${input.inputUri}`,
    details: `**output**: ${input.outputUri}`,
  });

const statLine = (name: string, s: BranchStats): string =>
  `${name.padEnd(20)} ${String(s.count).padStart(10)} values  sum ${(Number.isInteger(s.sum) ? String(s.sum) : s.sum.toPrecision(10)).padStart(16)}` +
  `  mean ${s.count ? (s.sum / s.count).toPrecision(6) : '-'}`;

/** Per-file summaries, the requested branches' statistics per file and over all files, the totals and failures. */
export async function printIngestResult(r: FanOutResult): Promise<void> {
  const manifest = await storage().readJson<{ files: FileResult<TreeSummary>[] }>(r.manifestUri);
  const overall = new Map<string, { count: number; sum: number }>();
  for (const f of manifest.files) {
    if (f.status !== 'ok') continue;
    const s = f.outcome;
    console.log(
      `  ${baseName(f.file.uri).padEnd(32)} ${s.treeName.padEnd(8)} ${String(s.entries).padStart(8)} entries  ${s.branches.length} branches`,
    );
    for (const [name, b] of Object.entries(s.stats)) {
      console.log(`    ${statLine(name, b)}`);
      const acc = overall.get(name) ?? { count: 0, sum: 0 };
      overall.set(name, { count: acc.count + b.count, sum: acc.sum + b.sum });
    }
  }
  if (overall.size > 0) {
    console.log('branches over all files read:');
    for (const [name, b] of overall) console.log(`  ${statLine(name, { ...b, first: [] })}`);
  }
  const t = r.totals;
  console.log(
    `files: ${r.listing.files} (${t.ok} read, ${t.failed} failed), entries: ${t.counters.entries ?? 0}, bytes: ${t.bytes}`,
  );
  for (const f of r.failures) console.log(`  FAILED ${f.error}`);
  console.log(`manifest: ${r.manifestUri}`);
}

export async function ingestCommand(inputUri: string, o: IngestOptions): Promise<void> {
  const bucket = process.env.HEPFLOW_BUCKET ?? 'hepflow';
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const input: IngestInput = {
    inputUri: inputUri.endsWith('/') ? inputUri : `${inputUri}/`,
    outputUri: o.out ?? `s3://${bucket}/runs/ingest-${stamp}`,
    treeName: o.tree,
    statBranches: o.branches ?? [],
    batchSize: o.batchSize,
    filesInFlight: o.filesInFlight,
  };
  const r = await runIngest(input, { localWorker: o.localWorker ?? false, wait: o.wait });
  if (!r) return;
  await printIngestResult(r);
  failOnFailedFiles(r.totals.failed, r.listing.files, o.allowFailedFiles);
}

/** A run whose files partly failed did not do what was asked: exit 1 unless --allow-failed-files. */
export function failOnFailedFiles(failed: number, files: number, allowed: boolean | undefined): void {
  if (failed > 0 && !allowed)
    throw new Error(`${failed} of ${files} files failed (--allow-failed-files to accept that)`);
}
