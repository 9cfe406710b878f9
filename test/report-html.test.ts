import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { existsSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { Browser, Page } from 'playwright-core';
import { storage, type Storage } from '../src/storage/index.js';
import type { PipelineInput } from '../workflows/pipeline.js';
import type { PipelineReport } from '../src/stages/report.js';
import { gatherReportDetails } from '../src/stages/report-details.js';
import { renderHtmlReport } from '../src/stages/report-html.js';
import { HLF_NAMES } from '../src/physics/schema.js';
import { datasetFiles, runFiles } from '../src/contract/run-layout.js';
import { hlfHistograms } from '../src/dataset/hlf-histograms.js';
import { readFeatureRows } from '../src/parquet/reader.js';
import { codeVersion } from '../src/registry/code-version.js';
import { CPU_TASK_QUEUE } from '../src/contract/task-queues.js';
import { chromiumPath, launchChromium } from '../infra/browser.js';
import { startTestS3, type TestS3 } from './helpers/s3-server.js';
import { startTestTemporal } from './helpers/temporal.js';
import { startPoolWorker, type TestWorker } from './helpers/test-worker.js';
import { REAL_DELPHES, sharedDelphesFile } from './helpers/testdata.js';

// The HTML report of a real pipeline run on the real Delphes files, read back in a headless browser.

const browserPath = chromiumPath();
// Where infra/bootstrap.sh could install Chromium (root with apt, as on CI), a missing one is a failure, not a skip.
const bootstrapInstalls = process.getuid?.() === 0 && existsSync('/usr/bin/apt-get');
if (!browserPath && (bootstrapInstalls || process.env.HEPFLOW_REQUIRE_BROWSER === '1')) {
  throw new Error(
    'no Chromium at /usr/bin/chromium or HEPFLOW_CHROMIUM, though infra/bootstrap.sh installs it with apt as root here: see its log',
  );
}
const noBrowser = browserPath
  ? false
  : 'no Chromium (/usr/bin/chromium or HEPFLOW_CHROMIUM): infra/bootstrap.sh installs it only as root with apt-get';

let s3: TestS3;
let env: TestWorkflowEnvironment;
let worker: TestWorker;
let store: Storage;
let browser: Browser | undefined;
let tmp: string;
let report: PipelineReport & { reportUri: string; htmlReportUri: string };

const SAMPLES = ['qcd', 'ttbar', 'wjets'] as const;
const dir = (name: string) => `s3://${s3.bucket}/delphes/${name}/`;

before(async () => {
  s3 = await startTestS3();
  Object.assign(process.env, s3.env);
  store = storage();
  tmp = await mkdtemp(path.join(os.tmpdir(), 'hepflow-report-html-'));
  env = await startTestTemporal();
  worker = await startPoolWorker(env, 'cpu', ['--max-activities', '2']);
  for (const name of SAMPLES)
    await store.write(
      `${dir(name)}${REAL_DELPHES[name].file}`,
      readFileSync(sharedDelphesFile(REAL_DELPHES[name].file)),
    );
  if (browserPath) browser = await launchChromium(browserPath);
});

after(async () => {
  await browser?.close();
  await worker?.stop();
  await env?.teardown();
  await s3?.stop();
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

/** Loads a page from a file:// URL, recording every request beyond the page itself, failures and console errors. */
async function open(file: string): Promise<{ page: Page; requests: string[]; failed: string[]; errors: string[] }> {
  const page = await browser!.newPage({ viewport: { width: 1400, height: 1000 } });
  const url = pathToFileURL(file).href;
  const requests: string[] = [];
  const failed: string[] = [];
  const errors: string[] = [];
  page.on('request', (r) => {
    if (r.url() !== url) requests.push(r.url());
  });
  page.on('requestfailed', (r) => failed.push(`${r.url()}: ${r.failure()?.errorText}`));
  page.on('console', (m) => {
    if (m.type() === 'error' || m.type() === 'warning') errors.push(m.text());
  });
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(url, { waitUntil: 'load' });
  return { page, requests, failed, errors };
}

const cells = (page: Page, selector: string): Promise<string[][]> =>
  page.$$eval(`${selector} tbody tr`, (rows) =>
    rows.map((r) => [...r.querySelectorAll('td')].map((td) => td.textContent!.trim())),
  );

test('the pipeline writes report.html beside report.md', async () => {
  const input: PipelineInput = {
    workUri: `s3://${s3.bucket}/runs/html`,
    samples: SAMPLES.map((name) => ({ name, uri: dir(name) })),
    register: false,
    models: [
      {
        name: 'hlf',
        spec: { kind: 'hlf', training: { epochs: 3, batchSize: 16 } },
        grid: {
          layers: [
            [20, 10],
            [50, 20, 10],
          ],
        },
        pointsInFlight: 2,
      },
      {
        name: 'inclusive',
        spec: { kind: 'inclusive', model: { maxLen: 20, gruUnits: 8 }, training: { epochs: 1, batchSize: 16 } },
      },
    ],
  };
  report = await env.client.workflow.execute('pipelineWorkflow', {
    taskQueue: CPU_TASK_QUEUE,
    workflowId: 'report-html',
    args: [input],
  });
  const uris = runFiles(input.workUri);
  assert.equal(report.htmlReportUri, uris.reportHtml);
  assert.equal(report.reportUri, uris.reportMarkdown);
  assert.deepEqual(report.timings.map((t) => t.stage).sort(), [
    'dataset',
    'features',
    'grid search hlf',
    'grid search inclusive',
  ]);
  for (const t of report.timings)
    assert.ok(t.seconds > 0 && !Number.isNaN(Date.parse(t.startedAt)), `${t.stage}: ${JSON.stringify(t)}`);
  const html = Buffer.from(await store.readAll(uris.reportHtml)).toString('utf8');
  await writeFile(path.join(tmp, 'report.html'), html);
  // Self-contained: nothing fetched from anywhere, not even a relative file.
  assert.doesNotMatch(html, /<(script|link|img|iframe)\b/i);
  assert.doesNotMatch(html, /\b(src|href)="(?!#)/i);
});

test('the HLF histograms count every row of the dataset once per feature, in its class and bin', async () => {
  assert.ok(report, 'the pipeline ran');
  const h = await hlfHistograms(store, report.dataset.datasetUri, report.classes);
  const kept = report.classes.map((c) => report.dataset.counts.train[c]! + report.dataset.counts.test[c]!);
  assert.deepEqual(h.rows, kept);
  for (const f of h.features)
    assert.deepEqual(
      f.counts.map((c) => c.reduce((a, b) => a + b, 0)),
      kept,
      f.name,
    );
  // nJets, independently: one bin per integer from the train split's minimum.
  const nJets = h.features[HLF_NAMES.indexOf('nJets')]!;
  assert.ok(nJets.integer);
  const expected = report.classes.map(() => new Array<number>(nJets.counts[0]!.length).fill(0));
  for (const uri of [datasetFiles(report.dataset.datasetUri).train, datasetFiles(report.dataset.datasetUri).test]) {
    const src = await store.openRead(uri);
    try {
      for await (const row of readFeatureRows(src)) {
        const bin = Math.round(row.hlf[HLF_NAMES.indexOf('nJets')]! - (nJets.lo + 0.5));
        expected[row.label]![Math.min(expected[0]!.length - 1, Math.max(0, bin))]!++;
      }
    } finally {
      await src.close();
    }
  }
  assert.deepEqual(nJets.counts, expected);
});

test('the report in a headless browser: AUCs, ROC curves, cut flow, dataset, HLF, grid, timings, lineage', {
  skip: noBrowser,
}, async () => {
  assert.ok(report, 'the pipeline ran');
  const { page, requests, failed, errors } = await open(path.join(tmp, 'report.html'));
  try {
    assert.deepEqual(requests, [], 'no request beyond the page');
    assert.deepEqual(failed, []);
    assert.deepEqual(errors, []);
    assert.equal(await page.title(), 'hepflow report report-html');
    // Laid out as tables (a stray class can turn one into a flex box).
    const displays = await page.$$eval('table', (ts) =>
      ts.map((t) => `${t.className}: ${t.ownerDocument.defaultView!.getComputedStyle(t).display}`),
    );
    assert.deepEqual(
      displays.filter((d) => !d.endsWith(': table')),
      [],
    );

    // The AUC table: one row per model, the test AUCs and the paper's beside them.
    const auc = await cells(page, 'table.auc');
    assert.deepEqual(
      auc.map((r) => r[0]),
      ['hlf', 'inclusive'],
    );
    report.models.forEach((m, i) => {
      assert.deepEqual(
        auc[i]!.slice(3, 6),
        report.classes.map((c) => m.evaluation.auc[c]!.toFixed(3)),
        `${m.name} AUCs`,
      );
      assert.equal(auc[i]![6], m.evaluation.accuracy.toFixed(3));
    });
    assert.deepEqual(
      auc.map((r) => r[7]),
      ['0.987 / 0.986 / 0.981', '0.995 / 0.997 / 0.995'],
      'paper AUCs',
    );

    // One ROC figure per model, one curve per class, each from (0,0) to (1,1), drawn at a real size.
    const figures = await page.$$eval('figure.roc', (fs) =>
      fs.map((f) => ({
        model: f.getAttribute('data-model'),
        curves: [...f.querySelectorAll('polyline')].map((p) => p.getAttribute('points')!.trim().split(/\s+/).length),
        box: f.querySelector('svg')!.getBoundingClientRect().width,
      })),
    );
    assert.deepEqual(
      figures.map((f) => f.model),
      ['hlf', 'inclusive'],
    );
    for (const f of figures) {
      assert.equal(f.curves.length, 3, `${f.model}: one ROC curve per class`);
      for (const n of f.curves) assert.ok(n >= 3, `${f.model}: a curve of ${n} points`);
      assert.ok(f.box >= 400, `${f.model}: ROC plot ${f.box}px wide`);
    }
    assert.equal(await page.locator('figure.roc svg polyline').count(), report.models.length * report.classes.length);

    // The cut flow per sample and in total: events read and passing the isolated-lepton filter.
    const cut = await cells(page, 'table.cutflow');
    assert.deepEqual(
      cut.map((r) => [r[0], r[4], r[8]]),
      [
        ...SAMPLES.map((s) => [s, String(REAL_DELPHES[s].entries), String(REAL_DELPHES[s].selected)]),
        [
          'all',
          String(SAMPLES.reduce((a, s) => a + REAL_DELPHES[s].entries, 0)),
          String(SAMPLES.reduce((a, s) => a + REAL_DELPHES[s].selected, 0)),
        ],
      ],
    );

    // Dataset sizes per class and split.
    const ds = await cells(page, 'table.dataset');
    assert.deepEqual(
      ds.slice(0, 3).map((r) => r.slice(0, 4)),
      report.classes.map((c) => [
        c,
        String(report.dataset.available[c]),
        String(report.dataset.counts.train[c]),
        String(report.dataset.counts.test[c]),
      ]),
    );

    // The 14 HLF, one histogram per class each.
    const hists = await page.$$eval('figure.hlf', (fs) =>
      fs.map((f) => [f.getAttribute('data-feature'), f.querySelectorAll('path.hist').length]),
    );
    assert.deepEqual(
      hists,
      HLF_NAMES.map((n) => [n, 3]),
    );

    // The grid: every point, the chosen one marked.
    const grids = await page.$$eval('table.points', (ts) =>
      ts.map((t) => ({
        rows: t.querySelectorAll('tbody tr').length,
        best: [...t.querySelectorAll('tr.best td:first-child')].map((td) =>
          td.textContent!.replace('chosen', '').trim(),
        ),
      })),
    );
    assert.deepEqual(
      grids,
      report.models.map((m) => ({ rows: m.trained, best: [m.best.runId] })),
    );

    // Stage timings with throughput.
    const timings = await cells(page, 'table.timings');
    assert.deepEqual(
      timings.map((r) => r[0]),
      report.timings.map((t) => t.stage),
    );
    assert.match(timings.find((r) => r[0] === 'features')![3]!, /events\/s/);

    // Lineage: each input with its ETag and part, the dataset's hash and files, the models' files, the code version.
    const inputs = await cells(page, 'table.inputs');
    assert.deepEqual(
      inputs.map((r) => [r[0], r[1]]),
      SAMPLES.map((s) => [s, `${dir(s)}${REAL_DELPHES[s].file}`]),
    );
    for (const r of inputs) {
      assert.match(r[2]!, /\S/, 'ETag');
      assert.match(r[4]!, /\/features\/parts\//, 'feature part');
    }
    assert.match(await page.locator('#lineage').innerText(), new RegExp(report.dataset.configHash));
    assert.equal(await page.locator('table.model-files').count(), report.models.length);
    const trainedOn = await page.$$eval('#lineage p.model', (ps) => ps.map((p) => p.textContent!));
    assert.equal(trainedOn.length, report.models.length);
    for (const t of trainedOn) assert.ok(t.includes(report.dataset.datasetUri), t);
    assert.equal(await page.locator('code.version').innerText(), codeVersion());
    for (const etag of await page.$$eval(
      'table.dataset-files td:nth-child(2), table.model-files td:nth-child(2)',
      (tds) => tds.map((td) => td.textContent),
    )) {
      assert.notEqual(etag, 'missing');
    }
  } finally {
    await page.close();
  }
});

test('strings from the input are shown as text, never as markup', { skip: noBrowser }, async () => {
  assert.ok(report, 'the pipeline ran');
  const details = await gatherReportDetails(store, report);
  const evil = '<img src=x onerror="document.title=\'pwned\'"><script>document.title="pwned"</script>';
  const hostile: PipelineReport = {
    ...report,
    workflowId: evil,
    samples: report.samples.map((s, i) => (i === 0 ? { ...s, name: `${evil}"'&` } : s)),
    models: report.models.map((m, i) => (i === 0 ? { ...m, name: `a"><b>${evil}` } : m)),
  };
  const file = path.join(tmp, 'hostile.html');
  await writeFile(file, renderHtmlReport(hostile, details));
  const { page, requests, errors } = await open(file);
  try {
    assert.deepEqual(requests, []);
    assert.deepEqual(errors, []);
    assert.equal(await page.title(), `hepflow report ${evil}`);
    assert.equal(await page.locator('img, script, b b').count(), 0);
    assert.equal(await page.locator('#run').innerText(), evil);
    assert.equal((await cells(page, 'table.cutflow'))[0]![0], `${evil}"'&`);
    assert.equal(await page.locator('figure.roc').first().getAttribute('data-model'), `a"><b>${evil}`);
  } finally {
    await page.close();
  }
});
