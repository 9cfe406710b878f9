/**
 * generateWorkflow: a synthetic Delphes sample, one `generateFile` activity per output
 * file (names and event ranges from src/contract/generated-files.ts); a rerun reuses
 * files already written.
 */
import { ApplicationFailure } from '@temporalio/workflow';
import { WorkflowFailureTypes } from '../src/contract/errors.js';
import type { RetrySettings } from '../src/contract/policies.js';
import type { MixInput } from '../src/generator/mix.js';
import { generatedFileName, generatedFiles, partRange } from '../src/contract/generated-files.js';
import { mapBounded } from './concurrency.js';
import { generateInputSchema, validated } from './input-schemas.js';
import { activitiesFor } from './activities.js';
import { trackProgress } from './progress.js';
import type { FilesProgress } from '../src/contract/progress.js';
import { withoutUndefined } from '../src/contract/defined.js';

export interface GenerateInput {
  /** Prefix the files go under (s3://bucket/dir/ or file:///dir/). */
  readonly outputUri: string;
  readonly events: number;
  readonly files: number;
  readonly seed?: number;
  readonly mix?: MixInput;
  readonly pileup?: number;
  readonly filesInFlight?: number;
  /** How long transient failures are retried (src/contract/policies.ts). */
  readonly retry?: RetrySettings;
}

export interface GenerateResult {
  readonly outputUri: string;
  readonly files: number;
  readonly events: number;
  readonly bytes: number;
  readonly classCounts: Record<string, number>;
  readonly reused: number;
}

/** Each activity result is a few hundred bytes of history; this keeps histories far from Temporal's limits. */
const MAX_FILES = 5_000;

/** A synthetic Delphes sample: one retriable activity per output file, in parallel. */
export async function generateWorkflow(input: GenerateInput): Promise<GenerateResult> {
  validated(generateInputSchema, input);
  const { events, files } = input;
  if (!Number.isInteger(files) || files < 1 || files > MAX_FILES) {
    throw ApplicationFailure.nonRetryable(
      `files must be an integer in [1, ${MAX_FILES}], got ${files}`,
      WorkflowFailureTypes.invalidInput,
    );
  }
  if (!Number.isInteger(events) || events < files) {
    throw ApplicationFailure.nonRetryable(
      `events must be an integer >= files (${files}), got ${events}`,
      WorkflowFailureTypes.invalidInput,
    );
  }
  const { generateFile } = activitiesFor('file', { retry: input.retry });
  const seed = input.seed ?? 0;
  let written: FilesProgress = {
    total: files,
    done: 0,
    failed: 0,
    events: 0,
    bytes: 0,
    startedAt: new Date().toISOString(),
  };
  const tracker = trackProgress('generate', { stage: 'writing', searchable: false, files: written });
  const parts = await mapBounded(
    Array.from({ length: files }, (_, k) => k),
    input.filesInFlight ?? 8,
    async (k) => {
      const name = generatedFileName(seed, k, files);
      const part = await generateFile.executeWithOptions({ summary: `generateFile ${name}` }, [
        {
          uri: generatedFiles(input.outputUri, seed, files).file(k),
          seed,
          ...partRange(events, files, k),
          ...withoutUndefined({ mix: input.mix, pileup: input.pileup }),
        },
      ]);
      written = {
        ...written,
        done: written.done + 1,
        events: written.events + part.events,
        bytes: written.bytes + part.bytes,
      };
      tracker.update({ files: written });
      return part;
    },
  );
  tracker.stage('done');
  const classCounts: Record<string, number> = {};
  for (const p of parts) for (const [c, n] of Object.entries(p.classCounts)) classCounts[c] = (classCounts[c] ?? 0) + n;
  return {
    outputUri: generatedFiles(input.outputUri, seed, files).prefix,
    files,
    events: parts.reduce((s, p) => s + p.events, 0),
    bytes: parts.reduce((s, p) => s + p.bytes, 0),
    classCounts,
    reused: parts.filter((p) => p.reused).length,
  };
}
