/**
 * The scoring stage over object storage: one input (ROOT or a feature part) into one
 * content-addressed part of per-event class probabilities, reused on rerun; and the
 * selection's efficiency table and accepted list over every part. What the scoring
 * activities run.
 */
import { createWriteStream, type WriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { joinUri, type Storage } from '../storage/index.js';
import { fanOutFiles } from '../contract/run-layout.js';
import { commit, derivedKey, readCommitted, type InputIdentity } from '../storage/content-address.js';
import { readDelphesEvents } from '../delphes/reader.js';
import { readFeatureRows } from '../parquet/reader.js';
import { ParquetRowWriter } from '../parquet/writer.js';
import { prepareFeatures, withEntries } from '../physics/prepare.js';
import { FEATURE_DEFINITION_VERSION } from '../physics/features.js';
import { initBackend } from '../ml/backend.js';
import { bundleFromFiles, type ModelBundle } from '../ml/model-bundle.js';
import { readModelFiles } from '../ml/training/model-dir.js';
import { BatchScorer, type ScorerOptions } from '../scoring/scorer.js';
import { scoreCodec } from '../scoring/score-file.js';
import {
  addCounts,
  efficiencyCsv,
  efficiencyTable,
  emptyCounts,
  type EfficiencyTable,
  type Selection,
  type SelectionCounts,
} from '../scoring/selection.js';
import { labelling } from './features.js';
import { InvalidInputError } from '../errors.js';
import type { ScoreOptions } from '../contract/fan-out.js';
import { withoutUndefined } from '../contract/defined.js';

export interface ScoreFileInput extends ScoreOptions {
  /** A Delphes ROOT file, or a hepflow feature part (`.parquet`). */
  readonly file: InputIdentity;
  /** Score parts go to <outputUri>/parts/. */
  readonly outputUri: string;
}

export interface ScorePartMeta {
  readonly source: InputIdentity;
  readonly modelUri: string;
  readonly rows: number;
  readonly read: number;
  readonly counts?: SelectionCounts;
  /** Accepted events' list for this part (CSV), with a selection. */
  readonly acceptedUri?: string;
}

export interface ScoreFileResult {
  readonly partUri: string;
  readonly rows: number;
  readonly reused: boolean;
  /** Summed across files by the fan-out: events read, scored, accepted. */
  readonly counters: { read: number; scored: number; accepted: number };
}

const SCORE_VERSION = 1;

/** The model's identity: its files' ETags, so a retrained model at the same URI scores anew. */
async function modelIdentity(store: Storage, modelUri: string): Promise<Record<string, string>> {
  const id: Record<string, string> = { uri: modelUri };
  for (const f of ['model.json', 'weights.bin', 'scaler.json', 'particle-scaler.json']) {
    const info = await store.head(joinUri(modelUri, f));
    if (info) id[f] = info.etag;
  }
  return id;
}

// Scoring activities of one worker share loaded models (a model per file would reload it per file).
const loaded = new Map<string, Promise<ModelBundle>>();
const MODELS_KEPT = 2;

async function cachedBundle(store: Storage, modelUri: string, identity: string): Promise<ModelBundle> {
  let p = loaded.get(identity);
  if (p === undefined) {
    p = (async () => {
      const files = await readModelFiles(store, modelUri);
      await initBackend(files.metadata.config.backend);
      return bundleFromFiles(files);
    })();
    p.catch(() => loaded.delete(identity));
    loaded.set(identity, p);
    while (loaded.size > MODELS_KEPT) {
      const [oldest, old] = loaded.entries().next().value!;
      loaded.delete(oldest);
      void old.then(
        (b) => b.model.dispose(),
        () => undefined,
      );
    }
  }
  return p;
}

const isFeaturePart = (uri: string): boolean => uri.endsWith('.parquet');

/** The accepted-events list's columns; per-part lists are headerless so they concatenate. */
const ACCEPTED_HEADER = 'source_uri,source_entry,probability\n';

function acceptedLine(w: WriteStream, uri: string, entry: number, p: number): Promise<void> {
  const line = `${JSON.stringify(uri)},${entry},${p}\n`;
  return new Promise((resolve) => {
    if (w.write(line)) resolve();
    else w.once('drain', resolve);
  });
}

/**
 * Scores every event of one input — features computed from ROOT on the fly, or read
 * from a feature part — into one content-addressed Parquet part of per-event class
 * probabilities (src/scoring/score-file.ts). The part's name derives from the input's
 * identity, the model's and the options, and a commit record marks it complete, so a
 * rerun skips finished files.
 */
export async function scoreFilePart(
  store: Storage,
  input: ScoreFileInput,
  onProgress: (scored: number) => void = () => {},
): Promise<ScoreFileResult> {
  const model = await modelIdentity(store, input.modelUri);
  const part = isFeaturePart(input.file.uri);
  const rootOptions = {
    featureVersion: FEATURE_DEFINITION_VERSION,
    treeName: input.treeName ?? 'Delphes',
    labels: input.labels ?? null,
    emptyIfMissing: [...(input.emptyIfMissing ?? [])].sort(),
  };
  const key = derivedKey(input.file, {
    scoreVersion: SCORE_VERSION,
    model,
    selection: input.selection ?? null,
    input: part ? 'feature-part' : rootOptions,
  });
  const files = fanOutFiles(input.outputUri);
  const partUri = files.part(key, '.parquet');
  const commitUri = files.part(key, '.commit.json');
  const done = await readCommitted<ScorePartMeta>(store, commitUri);
  const countersOf = (m: ScorePartMeta) => ({
    read: m.read,
    scored: m.rows,
    accepted: Object.values(m.counts?.byTruth ?? {}).reduce((s, t) => s + t.accepted, 0),
  });
  if (done) return { partUri, rows: done.meta.rows, reused: true, counters: countersOf(done.meta) };

  const bundle = await cachedBundle(store, input.modelUri, JSON.stringify(model));
  const selection = input.selection;
  if (selection !== undefined && !bundle.classNames.includes(selection.className)) {
    throw new InvalidInputError(
      `selection class '${selection.className}' is not one of the classes of ${input.modelUri}: ${bundle.classNames.join(', ')}`,
    );
  }
  const counts = selection !== undefined ? emptyCounts(selection) : undefined;
  const selected = selection !== undefined ? bundle.classNames.indexOf(selection.className) : -1;
  const dir = await mkdtemp(path.join(os.tmpdir(), 'hepflow-score-'));
  const local = path.join(dir, 'part.parquet');
  const acceptedLocal = path.join(dir, 'accepted.csv');
  const acceptedOut = selection !== undefined ? createWriteStream(acceptedLocal) : undefined;
  const source = await store.openRead(input.file.uri);
  try {
    const writer = await ParquetRowWriter.open(local, scoreCodec(bundle.classNames, selection), {
      rowGroupSize: 10_000,
      metadata: {
        'hepflow.source': input.file.uri,
        'hepflow.source_etag': input.file.etag,
        'hepflow.model': input.modelUri,
      },
    });
    const out = {
      async write(row: Parameters<typeof writer.write>[0]) {
        await writer.write(row);
        if (acceptedOut !== undefined && row.probs[selected]! >= selection!.threshold) {
          await acceptedLine(acceptedOut, row.sourceUri, row.sourceEntry, row.probs[selected]!);
        }
      },
    };
    let read: number;
    try {
      read = await scoreEvents(
        store,
        input,
        source,
        rootOptions,
        (truth) => new BatchScorer(bundle, out, { batchSize: input.eventsPerCall, truth, counts, onBatch: onProgress }),
      );
    } catch (e) {
      await writer.abort(e as Error);
      throw e;
    }
    const { rows } = await writer.close();
    await store.moveIn(partUri, local);
    let acceptedUri: string | undefined;
    if (acceptedOut !== undefined) {
      await new Promise<void>((resolve, reject) => acceptedOut.end((e?: Error | null) => (e ? reject(e) : resolve())));
      acceptedUri = files.part(key, '.accepted.csv');
      await store.moveIn(acceptedUri, acceptedLocal);
    }
    const meta: ScorePartMeta = {
      source: input.file,
      modelUri: input.modelUri,
      rows,
      read,
      ...withoutUndefined({ counts, acceptedUri }),
    };
    await commit<ScorePartMeta>(store, commitUri, partUri, meta);
    return { partUri, rows, reused: false, counters: countersOf(meta) };
  } finally {
    acceptedOut?.destroy();
    await source.close();
    await rm(dir, { recursive: true, force: true });
  }
}

/**
 * Feeds every event of the input to a scorer and flushes it: a feature part's rows as
 * read (their labels are the truth), a ROOT file's events through the feature
 * preparation (the truth from `labels`, else unknown). Returns the events read.
 */
async function scoreEvents(
  store: Storage,
  input: ScoreFileInput,
  source: Awaited<ReturnType<Storage['openRead']>>,
  root: { readonly treeName: string; readonly emptyIfMissing: NonNullable<ScoreOptions['emptyIfMissing']> },
  scorerFor: (truth: ScorerOptions['truth']) => BatchScorer,
): Promise<number> {
  if (isFeaturePart(input.file.uri)) {
    const scorer = scorerFor((r) => r.label);
    let read = 0;
    for await (const row of readFeatureRows(source)) {
      await scorer.write(row);
      read++;
    }
    await scorer.flush();
    return read;
  }
  const labelOf = input.labels !== undefined ? await labelling(store, input.file, input.labels) : undefined;
  const scorer = scorerFor(labelOf === undefined ? () => -1 : (r) => labelOf(r.sourceEntry).label);
  const cutFlow = await prepareFeatures({
    events: withEntries(readDelphesEvents(source, { treeName: root.treeName, emptyIfMissing: root.emptyIfMissing })),
    label: 0,
    className: '',
    sourceUri: input.file.uri,
    out: scorer,
  });
  await scorer.flush();
  return cutFlow.read;
}

export interface ScoreSummaryInput {
  readonly outputUri: string;
  readonly manifestUri: string;
  readonly selection?: Selection | undefined;
}

export interface ScoreSummary {
  readonly parts: number;
  readonly rows: number;
  readonly efficiency?: EfficiencyTable;
  readonly efficiencyUri?: string;
  readonly acceptedUri?: string;
}

/**
 * After every file: with a selection, the efficiency table over all parts
 * (selection/efficiency.json and .csv) and the accepted events of all parts in one
 * list (selection/accepted.csv), streamed part by part.
 */
export async function summarizeScoreParts(store: Storage, input: ScoreSummaryInput): Promise<ScoreSummary> {
  const manifest = await store.readJson<{ files: { status: string; outcome?: { partUri: string } }[] }>(
    input.manifestUri,
  );
  const metas: ScorePartMeta[] = [];
  for (const f of manifest.files) {
    if (f.status !== 'ok' || f.outcome === undefined) continue;
    const record = await readCommitted<ScorePartMeta>(store, f.outcome.partUri.replace(/\.parquet$/, '.commit.json'));
    if (record === undefined) throw new Error(`score part ${f.outcome.partUri} has no valid commit record`);
    metas.push(record.meta);
  }
  const rows = metas.reduce((s, m) => s + m.rows, 0);
  if (input.selection === undefined) return { parts: metas.length, rows };
  const total = emptyCounts(input.selection);
  for (const m of metas) if (m.counts !== undefined) addCounts(total, m.counts);
  const efficiency = efficiencyTable(total);
  const files = fanOutFiles(input.outputUri);
  const efficiencyUri = files.selection('efficiency.json');
  await store.writeJson(efficiencyUri, efficiency);
  await store.write(files.selection('efficiency.csv'), efficiencyCsv(efficiency));
  const acceptedUri = files.selection('accepted.csv');
  async function* lines(): AsyncGenerator<Uint8Array | string> {
    yield ACCEPTED_HEADER;
    for (const m of metas) {
      if (m.acceptedUri === undefined) continue;
      for await (const chunk of await store.readStream(m.acceptedUri)) yield chunk as Uint8Array;
    }
  }
  await store.write(acceptedUri, Readable.from(lines()));
  return { parts: metas.length, rows, efficiency, efficiencyUri, acceptedUri };
}
