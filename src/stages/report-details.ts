/**
 * What the HTML report shows beyond the run's summary (src/stages/report.ts): each
 * model's evaluation and grid table, the dataset's HLF histograms, and the lineage from
 * input files to models, read from the objects the summary points to.
 * src/stages/report-html.ts renders it.
 */
import type { Storage } from '../storage/index.js';
import { joinUri } from '../storage/uri.js';
import { datasetFiles } from '../contract/run-layout.js';
import { hlfHistograms, type HlfHistograms } from '../dataset/hlf-histograms.js';
import type { ClassificationReport } from '../ml/metrics.js';
import type { ModelMetadata } from '../ml/training/model-dir.js';
import { codeVersion } from '../registry/code-version.js';
import type { FeaturesManifest } from './dataset.js';
import type { TrainRunResult } from '../contract/training.js';
import type { PipelineReport } from './report.js';

export interface GridTable {
  readonly metric: string;
  readonly maximize: boolean;
  readonly best: string;
  readonly points: readonly (TrainRunResult & { readonly hyperParameters: string })[];
  readonly failed: readonly { readonly runId: string; readonly error: string }[];
}

export interface StoredFile {
  readonly uri: string;
  readonly etag: string | null;
  readonly size: number | null;
}

export interface Lineage {
  readonly featuresManifest: StoredFile;
  /** The first MAX_LINEAGE_INPUTS input files; `inputsTotal` counts them all. */
  readonly inputs: readonly {
    readonly sample: string;
    readonly uri: string;
    readonly etag: string;
    readonly size: number;
    readonly partUri: string | null;
    readonly rows: number | null;
    readonly error: string | null;
  }[];
  readonly inputsTotal: number;
  readonly dataset: { readonly uri: string; readonly configHash: string; readonly files: readonly StoredFile[] };
  readonly models: readonly {
    readonly name: string;
    readonly files: readonly StoredFile[];
    /** What training read (its metadata.json's datasetId) and the network's size. */
    readonly trainedOn: string;
    readonly parameters: number;
  }[];
}

export interface ReportDetails {
  /** The code that wrote the report (src/registry/code-version.ts). */
  readonly codeVersion: string;
  readonly generatedAt: string;
  /** By model, in the report's order. */
  readonly evaluations: readonly ClassificationReport[];
  readonly grids: readonly GridTable[];
  readonly histograms: HlfHistograms;
  readonly lineage: Lineage;
}

export const MAX_LINEAGE_INPUTS = 500;
const MODEL_FILES = ['model.json', 'weights.bin', 'metadata.json'];

async function stored(store: Storage, uri: string): Promise<StoredFile> {
  const info = await store.head(uri);
  return { uri, etag: info?.etag ?? null, size: info?.size ?? null };
}

function hyperParameters(m: ModelMetadata): string {
  const c = m.config;
  const model = c.model;
  return [
    `batch ${c.batchSize}`,
    `epochs ${c.epochs}`,
    `lr ${model.learningRate}`,
    ...(model.kind !== 'particle-sequence' ? [`layers ${model.hiddenLayers.join('×')}`] : []),
    ...(model.kind !== 'hlf' ? [`GRU ${model.gruUnits}`, `T ≤ ${model.maxLen}`, `dropout ${model.dropout}`] : []),
    ...(model.kind === 'inclusive' ? [`dense ${model.inclusiveDense}`] : []),
  ].join(', ');
}

async function gridTable(store: Storage, tableUri: string): Promise<GridTable> {
  const t = await store.readJson<{
    metric: string;
    maximize: boolean;
    best: string;
    results: TrainRunResult[];
    failed: GridTable['failed'];
  }>(tableUri);
  const points = await Promise.all(
    t.results.map(async (r) => {
      const meta = await store.readJson<ModelMetadata>(joinUri(r.modelUri, 'metadata.json'));
      return { ...r, hyperParameters: hyperParameters(meta) };
    }),
  );
  return { metric: t.metric, maximize: t.maximize, best: t.best, points, failed: t.failed };
}

/** Reads everything the HTML report shows beyond the summary; streams the dataset once for the histograms. */
export async function gatherReportDetails(store: Storage, r: PipelineReport): Promise<ReportDetails> {
  const evaluations = await Promise.all(
    r.models.map((m) => store.readJson<ClassificationReport>(m.evaluation.reportUri)),
  );
  const grids = await Promise.all(r.models.map((m) => gridTable(store, m.tableUri)));
  const histograms = await hlfHistograms(store, r.dataset.datasetUri, r.classes);
  const manifest = await store.readJson<FeaturesManifest>(r.features.manifestUri);
  const files = datasetFiles(r.dataset.datasetUri);
  return {
    codeVersion: codeVersion(),
    generatedAt: new Date().toISOString(),
    evaluations,
    grids,
    histograms,
    lineage: {
      featuresManifest: await stored(store, r.features.manifestUri),
      inputs: manifest.files.slice(0, MAX_LINEAGE_INPUTS).map((f) => ({
        sample: manifest.samples[f.file.sample ?? 0]?.name ?? String(f.file.sample ?? 0),
        uri: f.file.uri,
        etag: f.file.etag,
        size: f.file.size,
        partUri: f.status === 'ok' ? f.outcome.partUri : null,
        rows: f.status === 'ok' ? f.outcome.rows : null,
        error: f.status === 'failed' ? f.error : null,
      })),
      inputsTotal: manifest.files.length,
      dataset: {
        uri: r.dataset.datasetUri,
        configHash: r.dataset.configHash,
        files: await Promise.all(
          [files.train, files.test, files.scaler, files.particleScaler, files.metadata].map((u) => stored(store, u)),
        ),
      },
      models: await Promise.all(
        r.models.map(async (m) => {
          const meta = await store.readJson<ModelMetadata & { datasetId: string; parameters: number }>(
            joinUri(m.best.modelUri, 'metadata.json'),
          );
          return {
            name: m.name,
            trainedOn: meta.datasetId,
            parameters: meta.parameters,
            files: await Promise.all(MODEL_FILES.map((f) => stored(store, joinUri(m.best.modelUri, f)))),
          };
        }),
      ),
    },
  };
}
