/**
 * The generator activity: `generateFile` writes one synthetic Delphes ROOT file (and its
 * labels) into storage; a file already complete is reused, bad arguments fail
 * non-retryably.
 */
import { ApplicationFailure } from '@temporalio/activity';
import type { Storage } from '../src/storage/index.js';
import { labelsPathFor } from '../src/generator/file.js';
import { generateToStorage } from '../src/generator/publish.js';
import type { MixInput } from '../src/generator/index.js';
import { ErrorTypes } from '../src/contract/errors.js';
import type { ActivityDeps } from './deps.js';
import { withHeartbeat } from './heartbeat.js';
import { withoutUndefined } from '../src/contract/defined.js';

export interface GenerateFileInput {
  readonly uri: string;
  readonly seed: number;
  readonly firstEvent: number;
  readonly events: number;
  readonly mix?: MixInput;
  readonly pileup?: number;
}

export interface GenerateFileResult {
  readonly uri: string;
  readonly events: number;
  readonly bytes: number;
  readonly classCounts: Readonly<Record<string, number>>;
  /** True when a complete file from an earlier attempt or run was found and kept. */
  readonly reused: boolean;
}

export const generateActivities = ({ storage }: ActivityDeps) => ({
  /**
   * Generates one file of a synthetic sample. Events are a pure function of (seed,
   * index), so a retry or rerun regenerates the same file; a file whose labels sidecar
   * exists was completed (the sidecar is written last) and is kept.
   */
  async generateFile(input: GenerateFileInput): Promise<GenerateFileResult> {
    return withHeartbeat((report) => generate(storage, input, report));
  },
});

async function generate(
  store: Storage,
  input: GenerateFileInput,
  report: (details: unknown) => void,
): Promise<GenerateFileResult> {
  const [root, labels] = await Promise.all([store.head(input.uri), store.head(labelsPathFor(input.uri))]);
  if (root && labels) {
    const sidecar = await store.readJson<{
      events: number;
      firstEvent: number;
      seed: number;
      classCounts: Record<string, number>;
    }>(labels.uri);
    if (sidecar.events === input.events && sidecar.firstEvent === input.firstEvent && sidecar.seed === input.seed) {
      return {
        uri: input.uri,
        events: sidecar.events,
        bytes: root.size,
        classCounts: sidecar.classCounts,
        reused: true,
      };
    }
  }
  try {
    const r = await generateToStorage(store, input.uri, {
      events: input.events,
      seed: input.seed,
      firstEvent: input.firstEvent,
      ...withoutUndefined({ mix: input.mix, pileup: input.pileup }),
      onProgress: (done) => report({ done, of: input.events }),
      progressEvery: 200,
    });
    return { uri: r.uri, events: r.events, bytes: r.fileBytes, classCounts: r.classCounts, reused: false };
  } catch (e) {
    // Argument errors (counts, mix, pileup) cannot succeed on retry.
    if (e instanceof RangeError || /class mix/.test((e as Error).message)) {
      throw ApplicationFailure.create({
        message: (e as Error).message,
        type: ErrorTypes.invalidInput,
        nonRetryable: true,
      });
    }
    throw e;
  }
}
