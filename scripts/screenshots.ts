/**
 * The README's pictures: the HTML report of a finished pipeline run and the Temporal
 * web UI's workflow list, as PNGs in docs/img/. Run against the local stack after a
 * run (`npm run demo` leaves one):
 *
 *   npm run screenshots [-- --run <workflow id>] [--out docs/img]
 *
 * Without --run it takes the newest completed pipelineWorkflow. Ports and credentials
 * come from the same variables as the CLI's (HEPFLOW_TEMPORAL_PORT, …).
 */
import '../src/process-warnings.js';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { pathToFileURL } from 'node:url';
import type { Page } from 'playwright-core';
import { applyLocalStackDefaults } from '../cli/local-stack-env.js';
import { stackConfigFromEnv, webUiUrl } from '../infra/stack-config.js';
import { chromiumPath, launchChromium } from '../infra/browser.js';
import { connectClient, temporalSettings } from '../src/temporal/connection.js';
import { storage } from '../src/storage/index.js';

const { values: args } = parseArgs({
  options: { run: { type: 'string' }, out: { type: 'string', default: 'docs/img' } },
});

async function newestPipelineRun(): Promise<string> {
  const client = await connectClient();
  try {
    for await (const w of client.workflow.list({
      query: "WorkflowType = 'pipelineWorkflow' AND ExecutionStatus = 'Completed'",
    }))
      return w.workflowId;
    throw new Error(
      'no completed pipelineWorkflow on this Temporal server: run `npm run demo` (or `hepflow run`) first, or name one with --run',
    );
  } finally {
    await client.connection.close();
  }
}

async function htmlReportOf(workflowId: string): Promise<string> {
  const client = await connectClient();
  try {
    const result = (await client.workflow.getHandle(workflowId).result()) as { htmlReportUri?: string };
    if (!result.htmlReportUri)
      throw new Error(`${workflowId}: its result names no HTML report (a run from before report.html existed?)`);
    return result.htmlReportUri;
  } finally {
    await client.connection.close();
  }
}

/**
 * The UI keeps its columns per browser, so a fresh profile shows only the defaults: add
 * hepflow's search attributes (what `hepflow stack up` registers) and the duration, and
 * drop the run id and the start and end times to make room. Test ids are the UI's own (Temporal UI 2.x).
 */
async function showHepflowColumns(page: Page): Promise<void> {
  await page.getByTestId('workflows-summary-table-configuration-button').click();
  const add = (name: string) => page.getByTestId(`orderable-list-item-${name}-add-button`);
  const ours = page.locator('[data-testid^="orderable-list-item-Hepflow"][data-testid$="-add-button"]');
  await add('Execution Duration').waitFor();
  if ((await ours.count()) === 0)
    console.error('screenshots: no Hepflow* search attributes on this server; the UI shows the default columns');
  while ((await ours.count()) > 0) await ours.first().click();
  await add('Execution Duration').click();
  for (const name of ['Run ID', 'Start', 'End'])
    await page.getByTestId(`orderable-list-item-${name}-remove-button`).click();
  await page.getByTestId('drawer-close-button').click();
  await page.getByText('Configure Workflows Table', { exact: true }).waitFor({ state: 'detached' });
  await page.waitForLoadState('networkidle');
}

async function main(): Promise<void> {
  applyLocalStackDefaults();
  const executable = chromiumPath();
  if (!executable)
    throw new Error("no Chromium: install Debian's chromium (infra/bootstrap.sh does as root) or set HEPFLOW_CHROMIUM");
  const run = args.run ?? (await newestPipelineRun());
  const reportUri = await htmlReportOf(run);
  const tmp = await mkdtemp(path.join(os.tmpdir(), 'hepflow-screenshots-'));
  const browser = await launchChromium(executable);
  try {
    await mkdir(args.out, { recursive: true });
    const reportFile = path.join(tmp, 'report.html');
    await writeFile(reportFile, await storage().readAll(reportUri));
    const page = await browser.newPage({ viewport: { width: 1360, height: 1280 }, deviceScaleFactor: 1 });
    await page.goto(pathToFileURL(reportFile).href, { waitUntil: 'load' });
    const reportPng = path.join(args.out, 'report.png');
    await page.screenshot({ path: reportPng });
    const featuresPng = path.join(args.out, 'report-features.png');
    await page.locator('#hlf').screenshot({ path: featuresPng });

    // The run and its child workflows (their ids start with the run's).
    const query = `WorkflowId STARTS_WITH "${run}"`;
    const list = `${webUiUrl(stackConfigFromEnv())}/namespaces/${encodeURIComponent(temporalSettings().namespace)}/workflows?query=${encodeURIComponent(query)}`;
    await page.setViewportSize({ width: 1800, height: 640 });
    await page.goto(list, { waitUntil: 'networkidle' }).catch((e: Error) => {
      throw new Error(`cannot open the Temporal web UI at ${list}: ${e.message} (is the stack up? 'hepflow stack up')`);
    });
    await page.getByText(run, { exact: true }).first().waitFor({ timeout: 30_000 });
    await showHepflowColumns(page);
    const uiPng = path.join(args.out, 'temporal-ui.png');
    await page.screenshot({ path: uiPng });
    console.log(`${reportPng}, ${featuresPng}: the report of ${run} (${reportUri})\n${uiPng}: ${list}`);
  } finally {
    await browser.close();
    await rm(tmp, { recursive: true, force: true });
  }
}

main().catch((e: Error) => {
  console.error(`screenshots: ${e.message}`);
  process.exit(1);
});
