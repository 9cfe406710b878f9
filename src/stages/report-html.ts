/**
 * The run's report as one self-contained HTML page (inline CSS and SVG, no script, no
 * external resource): readable offline, from a bucket or as an e-mail attachment.
 * gatherReportDetails reads what the report's summary only points to (evaluations, grid
 * tables, the dataset, the manifests); renderHtmlReport is a pure function of both.
 */
import type { Storage } from '../storage/index.js';
import { joinUri } from '../storage/uri.js';
import { datasetFiles } from '../layout/run-layout.js';
import { hlfHistograms, type HlfHistograms } from '../dataset/hlf-histograms.js';
import { esc, PALETTE, rocSvg, type ClassificationReport } from '../ml/metrics.js';
import type { ModelMetadata } from '../ml/training/model-dir.js';
import { codeVersion } from '../registry/code-version.js';
import type { FeaturesManifest } from './dataset.js';
import type { TrainRunResult } from '../contract/training.js';
import { PAPER, type PipelineReport } from './report.js';

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

const f3 = (x: number | undefined): string => (x === undefined || !Number.isFinite(x) ? '–' : x.toFixed(3));
const int = (n: number | undefined | null): string => (n === undefined || n === null ? '–' : n.toLocaleString('en-US'));
const bytes = (n: number | null): string =>
  n === null
    ? '–'
    : n >= 1e9
      ? `${(n / 1e9).toFixed(2)} GB`
      : n >= 1e6
        ? `${(n / 1e6).toFixed(2)} MB`
        : n >= 1e3
          ? `${(n / 1e3).toFixed(1)} kB`
          : `${n} B`;
const seconds = (s: number): string => (s >= 120 ? `${(s / 60).toFixed(1)} min` : `${s.toFixed(1)} s`);
const rate = (n: number, s: number, unit: string): string =>
  s > 0 ? `${n / s >= 10 ? Math.round(n / s).toLocaleString('en-US') : Number((n / s).toPrecision(2))} ${unit}/s` : '–';
const sum = (c: Readonly<Record<string, number>>): number => Object.values(c).reduce((a, b) => a + b, 0);

/** A table from already-escaped cells; `head` cells are escaped here. */
function table(
  cls: string,
  head: readonly string[],
  rows: readonly (readonly string[])[],
  rowAttrs: readonly string[] = [],
): string {
  return (
    `<table class="${cls}"><thead><tr>${head.map((h) => `<th>${esc(h)}</th>`).join('')}</tr></thead><tbody>` +
    rows.map((r, i) => `<tr${rowAttrs[i] ?? ''}>${r.map((c) => `<td>${c}</td>`).join('')}</tr>`).join('') +
    '</tbody></table>'
  );
}

const CUTS: readonly [string, string][] = [
  ['read', 'events read'],
  ['withTrack', 'with a track'],
  ['withPhoton', 'with a photon'],
  ['withNeutralHadron', 'with a neutral hadron'],
  ['withIsolatedLepton', 'isolated lepton'],
];

function cutFlowSection(r: PipelineReport): string {
  const row = (
    name: string,
    cls: string,
    ok: string,
    failed: string,
    c: Readonly<Record<string, number>>,
  ): string[] => [
    name,
    cls,
    ok,
    failed,
    ...CUTS.map(([k]) => int(c[k] ?? 0)),
    `${f3((c.withIsolatedLepton ?? 0) / (c.read || 1))}`,
  ];
  const rows = r.samples.map((s) =>
    row(esc(s.name), esc(s.sidecar ? 'per-event sidecar' : (s.label ?? s.name)), int(s.ok), int(s.failed), s.counters),
  );
  rows.push(
    row('<b>all</b>', '', int(r.features.files - r.features.failed), int(r.features.failed), r.features.counters),
  );
  const failed =
    r.features.failed > 0
      ? `<p class="warn">${int(r.features.failed)} input files failed${r.features.allowFailedFiles ? ' and were left out under the run’s allowFailedFiles policy' : ''}; causes in <code>${esc(r.features.manifestUri)}</code>.</p>`
      : '';
  return (
    `<section id="cutflow"><h2>Cut flow per sample</h2>` +
    table('cutflow', ['sample', 'class', 'files ok', 'failed', ...CUTS.map(([, l]) => l), 'efficiency'], rows, [
      ...r.samples.map(() => ''),
      ' class="total"',
    ]) +
    failed +
    '</section>'
  );
}

function datasetSection(r: PipelineReport): string {
  const d = r.dataset;
  const rows = r.classes.map((c) => [
    esc(c),
    int(d.available[c]),
    int(d.counts.train[c]),
    int(d.counts.test[c]),
    int((d.counts.train[c] ?? 0) + (d.counts.test[c] ?? 0)),
  ]);
  rows.push([
    '<b>all</b>',
    int(sum(d.available)),
    int(sum(d.counts.train)),
    int(sum(d.counts.test)),
    int(sum(d.counts.train) + sum(d.counts.test)),
  ]);
  return (
    `<section id="dataset"><h2>Dataset</h2>` +
    `<p>The <b>${esc(d.kind)}</b> dataset: ${int(d.perClass)} events per class, balanced by undersampling from the selected events of ${int(d.parts)} parts; <code>${esc(d.datasetUri)}</code>.</p>` +
    table('dataset', ['class', 'selected', 'train', 'test', 'kept'], rows, [
      ...r.classes.map(() => ''),
      ' class="total"',
    ]) +
    '</section>'
  );
}

function aucSection(r: PipelineReport): string {
  const paper = r.classes.join() === 'qcd,ttbar,wjets';
  const head = [
    'model',
    'kind',
    'best point',
    ...r.classes.map((c) => `AUC ${c}`),
    'accuracy',
    ...(paper ? ['paper AUC', 'paper accuracy'] : []),
  ];
  const rows = r.models.map((m) => {
    const p = paper ? PAPER[m.kind] : undefined;
    return [
      esc(m.name),
      esc(m.kind),
      esc(m.best.runId),
      ...r.classes.map((c) => `<span class="num">${f3(m.evaluation.auc[c])}</span>`),
      `<span class="num">${f3(m.evaluation.accuracy)}</span>`,
      ...(paper ? [p ? r.classes.map((c) => f3(p.auc[c])).join(' / ') : '–', p ? f3(p.accuracy) : '–'] : []),
    ];
  });
  const note = paper
    ? '<p class="note">Paper: Nguyen et al., arXiv:1807.00083 (test-set AUCs per class, qcd / ttbar / wjets; the particle-sequence model’s only published AUC is tt̄). Ours are on the test split of this run’s dataset.</p>'
    : '<p class="note">The paper’s figures (arXiv:1807.00083) are for the classes qcd, ttbar, wjets; this run’s classes differ, so they are not shown.</p>';
  return `<section id="auc"><h2>Test-set AUC</h2>${table(
    'auc',
    head,
    rows,
    r.models.map((m) => ` data-model="${esc(m.name)}"`),
  )}${note}</section>`;
}

function rocSection(r: PipelineReport, d: ReportDetails): string {
  return (
    `<section id="roc"><h2>ROC curves</h2><div class="figures">` +
    r.models
      .map(
        (m, i) =>
          `<figure class="roc" data-model="${esc(m.name)}">${rocSvg(d.evaluations[i]!, `${m.name} (${m.kind}), ${d.evaluations[i]!.samples} test events`)}</figure>`,
      )
      .join('') +
    '</div></section>'
  );
}

/** Round axis values (steps of 1, 2 or 5 times a power of ten), about `count` of them in [lo, hi]. */
function niceTicks(lo: number, hi: number, count = 5): { values: number[]; decimals: number } {
  if (!(hi > lo)) return { values: [lo], decimals: 0 };
  const raw = (hi - lo) / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw)!;
  const values: number[] = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step)
    values.push(Math.abs(v) < step * 1e-9 ? 0 : v);
  return { values, decimals: Math.max(0, -Math.floor(Math.log10(step))) };
}

function histogramSvg(f: HlfHistograms['features'][number], classes: readonly string[]): string {
  const W = 300,
    H = 190,
    L = 44,
    R = 16,
    T = 24,
    B = 30;
  const pw = W - L - R,
    ph = H - T - B;
  const fractions = f.counts.map((c) => {
    const n = c.reduce((a, b) => a + b, 0);
    return c.map((x) => (n > 0 ? x / n : 0));
  });
  const ymax = Math.max(...fractions.flat()) * 1.1 || 1;
  const nb = f.counts[0]?.length ?? 1;
  const x = (b: number): string => (L + (b / nb) * pw).toFixed(1);
  const y = (v: number): string => (T + ph - (v / ymax) * ph).toFixed(1);
  const out = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="10">`,
    `<text x="${L + pw / 2}" y="15" text-anchor="middle" font-size="12" font-weight="bold">${esc(f.name)}</text>`,
    `<rect x="${L}" y="${T}" width="${pw}" height="${ph}" fill="none" stroke="#444"/>`,
  ];
  // Axis values in bin units: bin b spans [b, b + 1).
  const ticks = f.integer
    ? { values: niceTicks(f.lo + 0.5, f.hi - 0.5, Math.min(nb - 1, 8) || 1).values, decimals: 0 }
    : niceTicks(f.lo, f.hi);
  for (const v of ticks.values) {
    const t = ((v - f.lo) / (f.hi - f.lo)) * nb;
    out.push(`<line x1="${x(t)}" y1="${T + ph}" x2="${x(t)}" y2="${T + ph + 3}" stroke="#444"/>`);
    out.push(`<text x="${x(t)}" y="${T + ph + 14}" text-anchor="middle">${v.toFixed(ticks.decimals)}</text>`);
  }
  for (const v of [0, ymax / 2 / 1.1, ymax / 1.1]) {
    out.push(`<text x="${L - 4}" y="${Number(y(v)) + 3}" text-anchor="end">${v.toFixed(2)}</text>`);
  }
  fractions.forEach((h, c) => {
    let d = `M${x(0)},${y(0)}`;
    h.forEach((v, b) => {
      d += ` L${x(b)},${y(v)} L${x(b + 1)},${y(v)}`;
    });
    d += ` L${x(nb)},${y(0)}`;
    out.push(
      `<path class="hist" d="${d}" fill="none" stroke="${PALETTE[c % PALETTE.length]}" stroke-width="1.5"><title>${esc(classes[c] ?? '')}</title></path>`,
    );
  });
  out.push('</svg>');
  return out.join('');
}

function histogramSection(d: ReportDetails): string {
  const h = d.histograms;
  const legend = h.classes
    .map(
      (c, i) =>
        `<span class="key"><span class="swatch" style="background:${PALETTE[i % PALETTE.length]}"></span>${esc(c)} (${int(h.rows[i])} events)</span>`,
    )
    .join('');
  return (
    `<section id="hlf"><h2>High-level features per class</h2>` +
    `<p>Normalised distributions over the dataset (train and test), each class summing to 1. The shown range leaves out the outermost 0.2% of events on either side, which are counted in the edge bins.</p><p class="legend">${legend}</p>` +
    `<div class="figures">${h.features.map((f) => `<figure class="hlf" data-feature="${esc(f.name)}">${histogramSvg(f, h.classes)}</figure>`).join('')}</div></section>`
  );
}

function gridSection(r: PipelineReport, d: ReportDetails): string {
  return (
    `<section id="grid"><h2>Grid search</h2>` +
    r.models
      .map((m, i) => {
        const g = d.grids[i]!;
        const metricNames = [...new Set(g.points.flatMap((p) => Object.keys(p.metrics)))].sort();
        const rows = g.points.map((p) => [
          esc(p.runId) + (p.runId === g.best ? ' <span class="chosen">chosen</span>' : ''),
          esc(p.hyperParameters),
          ...metricNames.map((k) => `<span class="num">${f3(p.metrics[k])}</span>`),
          int(p.epochsCompleted),
          esc(p.backend),
          int(Math.round(p.samplesPerSecond)),
          seconds(p.trainSeconds),
        ]);
        const failed = g.failed.map((f) => `<li><code>${esc(f.runId)}</code>: ${esc(f.error)}</li>`).join('');
        return (
          `<h3>${esc(m.name)} <small>(${esc(m.kind)}; chosen by ${g.maximize ? 'highest' : 'lowest'} ${esc(g.metric)} on the validation split)</small></h3>` +
          table(
            'points',
            ['point', 'hyper-parameters', ...metricNames, 'epochs', 'backend', 'samples/s', 'training'],
            rows,
            g.points.map((p) => (p.runId === g.best ? ' class="best"' : '')),
          ) +
          (failed ? `<p class="warn">Failed points:</p><ul>${failed}</ul>` : '')
        );
      })
      .join('') +
    '</section>'
  );
}

function timingSection(r: PipelineReport): string {
  const c = r.features.counters;
  const throughput = (stage: string, s: number): string => {
    if (stage === 'generate') return rate(c.read ?? 0, s, 'events');
    if (stage === 'features')
      return `${rate(c.read ?? 0, s, 'events')}, ${rate(r.features.files, s, 'files')}, ${bytes(s > 0 ? Math.round(r.features.bytes / s) : null)}/s`;
    if (stage === 'dataset') return rate(sum(r.dataset.available), s, 'events read');
    const m = r.models.find((x) => stage === `grid search ${x.name}`);
    return m
      ? `${m.trained} point${m.trained === 1 ? '' : 's'}; best point trained at ${int(Math.round(m.best.samplesPerSecond))} samples/s`
      : '–';
  };
  const rows = r.timings.map((t) => [
    esc(t.stage),
    esc(t.startedAt.replace('T', ' ').replace(/\.\d+Z$/, 'Z')),
    seconds(t.seconds),
    esc(throughput(t.stage, t.seconds)),
  ]);
  const total =
    r.timings.length === 0
      ? 0
      : (Math.max(...r.timings.map((t) => Date.parse(t.startedAt) + t.seconds * 1000)) -
          Math.min(...r.timings.map((t) => Date.parse(t.startedAt)))) /
        1000;
  return (
    `<section id="timings"><h2>Stages: timings and throughput</h2>` +
    table('timings', ['stage', 'started (UTC)', 'took', 'throughput'], rows) +
    `<p>From the first stage’s start to the last one’s end: ${seconds(total)} (the models’ grid searches ran in parallel).</p></section>`
  );
}

function lineageSection(r: PipelineReport, d: ReportDetails): string {
  const l = d.lineage;
  const file = (f: StoredFile): string[] => [
    `<code>${esc(f.uri)}</code>`,
    `<code>${esc(f.etag ?? 'missing')}</code>`,
    bytes(f.size),
  ];
  const inputs = l.inputs.map((i) => [
    esc(i.sample),
    `<code>${esc(i.uri)}</code>`,
    `<code>${esc(i.etag)}</code>`,
    bytes(i.size),
    i.partUri ? `<code>${esc(i.partUri)}</code>` : `<span class="warn">failed: ${esc(i.error ?? '')}</span>`,
    int(i.rows),
  ]);
  const more =
    l.inputsTotal > l.inputs.length
      ? `<p>… and ${int(l.inputsTotal - l.inputs.length)} more input files, all in the features manifest.</p>`
      : '';
  return (
    `<section id="lineage"><h2>Lineage</h2>` +
    `<p>Every artifact below is named by what it was made from: the inputs by URI and ETag, the feature parts by a content address over their input and the feature configuration, the dataset by the hash of its configuration and parts, the models by the dataset they were trained on. Report written by hepflow <code class="version">${esc(d.codeVersion)}</code>.</p>` +
    `<h3>Inputs → feature parts</h3>${table('inputs', ['sample', 'input', 'ETag', 'size', 'feature part', 'rows'], inputs)}${more}` +
    `<p>Features manifest: <code>${esc(l.featuresManifest.uri)}</code> (ETag <code>${esc(l.featuresManifest.etag ?? 'missing')}</code>).</p>` +
    `<h3>Parts → dataset</h3><p>Dataset <code>${esc(l.dataset.uri)}</code>, configuration hash <code>${esc(l.dataset.configHash)}</code>, from ${int(r.dataset.parts)} parts.</p>` +
    table('dataset-files', ['file', 'ETag', 'size'], l.dataset.files.map(file)) +
    `<h3>Dataset → models</h3>` +
    l.models
      .map(
        (m) =>
          `<p class="model">${esc(m.name)}: the chosen grid point, ${int(m.parameters)} parameters, trained on <code>${esc(m.trainedOn)}</code>.</p>` +
          table('model-files', ['file', 'ETag', 'size'], m.files.map(file)),
      )
      .join('') +
    '</section>'
  );
}

const CSS = `
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;color:#1d1d1f;background:#f6f7f9}
header{background:#1f3a5f;color:#fff;padding:16px 28px}header h1{margin:0;font-size:22px}header p{margin:4px 0 0;opacity:.85}
nav{padding:8px 28px;background:#e9edf3;font-size:13px}nav a{margin-right:14px;color:#1f3a5f}
main{padding:8px 28px 40px;max-width:1400px}section{background:#fff;border:1px solid #dde1e7;border-radius:6px;padding:4px 18px 14px;margin:16px 0}
h2{font-size:18px;border-bottom:1px solid #e3e6ea;padding-bottom:4px}h3{font-size:15px;margin-bottom:6px}h3 small{font-weight:normal;color:#666}
table{border-collapse:collapse;margin:6px 0;font-size:13px}th,td{border:1px solid #d7dbe0;padding:3px 8px;text-align:left;vertical-align:top}
th{background:#f0f2f5}td .num,td.num{font-variant-numeric:tabular-nums}tr.total td{background:#f7f8fa}tr.best td{background:#e8f5e9}
.chosen{background:#2e7d32;color:#fff;border-radius:3px;padding:0 5px;font-size:11px}
code{font:12px ui-monospace,Menlo,Consolas,monospace;overflow-wrap:anywhere}.note{color:#555;font-size:12px}.warn{color:#b00020}
.figures{display:flex;flex-wrap:wrap;gap:12px}figure{margin:0}figure.roc svg{width:410px;height:auto}.key{margin-right:16px;white-space:nowrap}
.swatch{display:inline-block;width:18px;height:4px;margin-right:4px;vertical-align:middle}
`;

/** The whole report as one HTML document; every string from the run or its inputs is escaped. */
export function renderHtmlReport(r: PipelineReport, d: ReportDetails): string {
  const sections: [string, string][] = [
    ['auc', 'AUC'],
    ['roc', 'ROC curves'],
    ['cutflow', 'Cut flow'],
    ['dataset', 'Dataset'],
    ['hlf', 'Features'],
    ['grid', 'Grid search'],
    ['timings', 'Timings'],
    ['lineage', 'Lineage'],
  ];
  return (
    '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">' +
    `<meta name="viewport" content="width=device-width, initial-scale=1"><title>hepflow report ${esc(r.workflowId)}</title>` +
    `<style>${CSS}</style></head><body>` +
    `<header><h1>hepflow run <span id="run">${esc(r.workflowId)}</span></h1>` +
    `<p>Classes (label order): ${r.classes.map(esc).join(', ')} · code ${esc(d.codeVersion)} · written ${esc(d.generatedAt)}</p></header>` +
    `<nav>${sections.map(([id, label]) => `<a href="#${id}">${label}</a>`).join('')}</nav><main>` +
    aucSection(r) +
    rocSection(r, d) +
    cutFlowSection(r) +
    datasetSection(r) +
    histogramSection(d) +
    gridSection(r, d) +
    timingSection(r) +
    lineageSection(r, d) +
    '</main></body></html>\n'
  );
}
