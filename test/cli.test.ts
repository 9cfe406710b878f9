/**
 * The command line as a user meets it, each case in its own `hepflow` process: help on
 * every command without side effects or heavy imports, --version, exit codes (0 success,
 * 1 failure, 2 usage), and against a real Temporal dev server and S3 server: a failed
 * run's cause chain with its UI link, runs, logs, cancel, report, ls, cat and cp.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Command } from 'commander';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';
import { buildProgram } from '../cli/program.js';
import { hepflow } from './helpers/cli.js';
import { freePort } from './helpers/net.js';
import { startTestS3, type TestS3 } from './helpers/s3-server.js';
import { startTestTemporal } from './helpers/temporal.js';
import { HZZ, sharedFile } from './helpers/testdata.js';
import { until } from './helpers/until.js';

const FORBID_HEAVY = pathToFileURL(path.resolve('dist/test/helpers/forbid-heavy-imports.js')).href;

/** Every command path, e.g. ['stack', 'up'], from the parser's own definitions. */
function commandPaths(cmd: Command, prefix: string[] = []): string[][] {
  return cmd.commands.flatMap((c) => [[...prefix, c.name()], ...commandPaths(c, [...prefix, c.name()])]);
}

describe('without servers', () => {
  // Nothing listens here: a command that tried to reach Temporal or S3 would fail with 1, not 2.
  let offline: Record<string, string>;
  let dataDir: string;
  before(async () => {
    dataDir = mkdtempSync(path.join(os.tmpdir(), 'hepflow-cli-data-'));
    const closed = await freePort();
    offline = {
      TEMPORAL_ADDRESS: `127.0.0.1:${closed}`,
      HEPFLOW_S3_ENDPOINT: `http://127.0.0.1:${closed}`,
      HEPFLOW_S3_MAX_ATTEMPTS: '1',
      HEPFLOW_DATA_DIR: dataDir,
    };
  });
  after(() => rmSync(dataDir, { recursive: true, force: true }));

  test('--help on every command and subcommand: usage on stdout, exit 0, no side effects, no heavy module loaded', async () => {
    const paths = commandPaths(buildProgram());
    for (const name of [
      'run',
      'ingest',
      'demo',
      'runs',
      'cancel',
      'logs',
      'report',
      'ls',
      'cat',
      'cp',
      'features',
      'train',
      'serve',
    ]) {
      assert.ok(
        paths.some((p) => p.join(' ') === name),
        `command ${name} is defined`,
      );
    }
    assert.ok(paths.some((p) => p.join(' ') === 'stack up') && paths.some((p) => p.join(' ') === 'models register'));
    const cases = [[], ...paths].flatMap((p) =>
      (p.length === 1 && p[0] === 'demo' ? ['--help', '-h'] : ['--help']).map((flag) => ({ p, flag })),
    );
    // A few processes at a time: each is a whole CLI start.
    for (let i = 0; i < cases.length; i += 4) {
      await Promise.all(
        cases.slice(i, i + 4).map(async ({ p, flag }) => {
          const r = await hepflow([...p, flag], offline, ['--import', FORBID_HEAVY]);
          assert.equal(r.code, 0, `${p.join(' ')} ${flag}: ${r.stderr}`);
          assert.match(r.stdout, new RegExp(`^Usage: hepflow${p.length ? ` ${p.join(' ')}` : ''} `), p.join(' '));
          assert.equal(r.stderr, '', p.join(' '));
        }),
      );
    }
    // `demo --help` once started the demo: the stack's data directory would now hold its state.
    assert.deepEqual(readdirSync(dataDir), []);
  });

  test('the guard against heavy imports can fail: a command that loads the Temporal client is refused', async () => {
    const r = await hepflow(['runs'], offline, ['--import', FORBID_HEAVY]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /heavy module loaded: .*@temporalio/);
  });

  test('no arguments prints the help (exit 0); help <command> too; --version prints the package version', async () => {
    const bare = await hepflow([], offline);
    assert.equal(bare.code, 0, bare.stderr);
    assert.match(bare.stdout, /^Usage: hepflow \[options\] \[command\]/);
    for (const name of ['run', 'ingest', 'runs', 'ls', 'cp', 'features', 'models'])
      assert.match(bare.stdout, new RegExp(`^  ${name} `, 'm'));
    const help = await hepflow(['help', 'ingest'], offline);
    assert.equal(help.code, 0);
    assert.match(help.stdout, /^Usage: hepflow ingest \[options\] <input-uri>/);
    assert.match(help.stdout, /--allow-failed-files/);
    const version = JSON.parse(readFileSync('package.json', 'utf8')).version as string;
    for (const flag of ['--version', '-V']) {
      const r = await hepflow([flag], offline);
      assert.equal(r.code, 0);
      assert.equal(r.stdout.trim(), version);
    }
  });

  test('usage errors exit 2 with the reason, before anything is contacted', async () => {
    const cases: [string[], RegExp][] = [
      [['rnu'], /unknown command 'rnu'\n\(Did you mean run\?\)/],
      [['ingset', 's3://b/x/'], /Did you mean ingest\?/],
      [['run', '--smaple', 'a=/x'], /unknown option '--smaple'\n\(Did you mean --sample\?\)/],
      [['run'], /what should the pipeline read\? --sample name=uri .* --events N/],
      [['run', '--events', '1000', '--sample', 'a=/x'], /give the input once: --sample and --events/],
      [
        ['run', '--files', '3', '--sample', 'a=/x', '--sample', 'b=/y'],
        /--files describe a generated sample: give --events N too/,
      ],
      [['run', '--events', 'many'], /option '--events <n>' argument 'many' is invalid. expected a positive integer/],
      [['run', '--events', '0'], /expected a positive integer/],
      [['run', '--events', '100', '--trials', '8'], /--trials needs --tune asha, hyperband or random/],
      [['run', '--events', '100', '--tune', 'bayes'], /Allowed choices are asha, hyperband, random, grid/],
      [['run', '--events', '100', '--tune', 'asha', '--workers', '2'], /--tune trains each trial on one worker/],
      [['generate', '--events', '10', '--out', 's3:/bucket'], /argument 's3:\/bucket' is invalid/],
      [['generate', '--out', '/tmp/x'], /required option '--events <n>' not specified/],
      [
        ['features', '--sample', 'qcd', '--out', '/tmp/x'],
        /'--sample <name=uri\[,uri...\]>' argument 'qcd' is invalid. expected name=uri/,
      ],
      [
        ['train', '--model', 'bdt', '--data', '/d', '--out', '/o'],
        /Allowed choices are hlf, gru, particle-sequence, inclusive/,
      ],
      [['worker', 'tpu'], /Allowed choices are cpu, gpu/],
      [['serve', '--model', 'm', '--port', '70000'], /expected a TCP port/],
      [['ingest'], /missing required argument 'input-uri'/],
      [['cancel'], /missing required argument 'run'/],
      [['cp', 's3://b/x'], /missing required argument 'to'/],
      [['stack', 'sideways'], /unknown command 'sideways'/],
      [['ls', 's3:/bucket/x'], /^hepflow: invalid storage URI 's3:\/bucket\/x': expected s3:\/\/ \(two slashes\)/],
    ];
    for (const [args, expected] of cases) {
      const r = await hepflow(args, offline);
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, expected, args.join(' '));
      assert.equal(r.stdout, '', args.join(' '));
    }
  });

  test('stack env prints what the temporal CLI, clients and later commands need for a stack on other ports', async () => {
    const r = await hepflow(['stack', 'env'], {
      HEPFLOW_TEMPORAL_PORT: '17301',
      HEPFLOW_S3_PORT: '19301',
      HEPFLOW_DATA_DIR: dataDir,
      HEPFLOW_STACK: 'local',
    });
    assert.equal(r.code, 0, r.stderr);
    const vars = Object.fromEntries(
      r.stdout
        .trim()
        .split('\n')
        .map((l) => /^export (\w+)=(.*)$/.exec(l)!.slice(1, 3) as [string, string]),
    );
    assert.equal(vars.TEMPORAL_ADDRESS, '127.0.0.1:17301');
    assert.equal(vars.TEMPORAL_NAMESPACE, 'default');
    assert.equal(vars.HEPFLOW_S3_ENDPOINT, 'http://127.0.0.1:19301');
    assert.equal(vars.TEMPORAL_UI_ADDRESS, 'http://127.0.0.1:18301');
    assert.equal(vars.HEPFLOW_TEMPORAL_PORT, '17301');
    assert.equal(vars.HEPFLOW_DATA_DIR, dataDir);
    for (const k of ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_REGION', 'HEPFLOW_BUCKET'])
      assert.ok(vars[k], k);
  });

  test('a failure exits 1 with its message', async () => {
    const missing = path.join(dataDir, 'no-such-dir');
    const ls = await hepflow(['ls', `${missing}/`], offline);
    assert.equal(ls.code, 1);
    assert.match(ls.stderr, new RegExp(`^hepflow: nothing under file://${missing}/`));
    const cat = await hepflow(['cat', path.join(missing, 'x.txt')], offline);
    assert.equal(cat.code, 1);
    assert.match(cat.stderr, /no such object/);
    const runs = await hepflow(['runs'], offline);
    assert.equal(runs.code, 1);
    assert.match(runs.stderr, /cannot reach Temporal at 127\.0\.0\.1:\d+/);
  });
});

describe('against a Temporal dev server and an S3 server', () => {
  let env: TestWorkflowEnvironment;
  let s3: TestS3;
  let cliEnv: Record<string, string>;
  let tmp: string;
  const UI = 'http://ui.example.test:8999';
  // The attributes the stack registers and the workflows set; `runs` shows them as columns.
  const STAGE = defineSearchAttributeKey('HepflowStage', SearchAttributeType.KEYWORD);
  const SAMPLES = defineSearchAttributeKey('HepflowSamples', SearchAttributeType.KEYWORD_LIST);
  const MODEL = defineSearchAttributeKey('HepflowModel', SearchAttributeType.KEYWORD);
  const BEST_AUC = defineSearchAttributeKey('HepflowBestAuc', SearchAttributeType.DOUBLE);

  /** Waits until the server's list (visibility, updated asynchronously) shows the workflow. */
  async function listed(id: string): Promise<void> {
    await until(
      async () => {
        for await (const w of env.client.workflow.list({ query: `WorkflowId='${id}'` }))
          if (w.workflowId === id) return true;
        return false;
      },
      { what: `${id} in the server's list`, deadline: 5 * 60_000, every: 100 },
    );
  }

  before(async () => {
    [env, s3] = await Promise.all([
      startTestTemporal({ searchAttributes: [STAGE, SAMPLES, MODEL, BEST_AUC] }),
      startTestS3('hepflow-cli'),
    ]);
    tmp = mkdtempSync(path.join(os.tmpdir(), 'hepflow-cli-'));
    cliEnv = {
      ...s3.env,
      TEMPORAL_ADDRESS: env.address,
      TEMPORAL_NAMESPACE: 'default',
      TEMPORAL_UI_ADDRESS: UI,
      HEPFLOW_BUCKET: 'hepflow-cli',
      HEPFLOW_DATA_DIR: tmp,
    };
  });
  after(async () => {
    await Promise.all([env?.teardown(), s3?.stop()]);
    rmSync(tmp, { recursive: true, force: true });
  });

  let failedRun = '';

  test('a failed run prints its cause chain, one line per level, and its web UI link; exit 1', async () => {
    const r = await hepflow(
      [
        'run',
        '--local-worker',
        '--sample',
        'qcd=s3://hepflow-cli/nowhere/qcd/',
        '--sample',
        'ttbar=s3://hepflow-cli/nowhere/ttbar/',
        '--work',
        's3://hepflow-cli/runs/failing',
      ],
      cliEnv,
    );
    assert.equal(r.code, 1, r.stderr);
    failedRun = /started pipelineWorkflow (\S+)/.exec(r.stdout)?.[1] ?? '';
    assert.ok(failedRun, r.stdout);
    // Above it, the in-process worker's own warnings (the activity attempts that failed).
    const lines = r.stderr.slice(r.stderr.indexOf('hepflow: ')).trimEnd().split('\n');
    assert.equal(lines[0], `hepflow: pipelineWorkflow ${failedRun} failed:`);
    assert.equal(lines[1], `  workflow pipelineWorkflow ${failedRun}`);
    assert.match(lines[2]!, /^ {4}└ child workflow featuresWorkflow \S+/);
    assert.match(lines[3]!, /^ {6}└ activity listInputFiles /);
    assert.match(
      lines[4]!,
      /^ {8}└ InvalidInput: sample '(qcd|ttbar)': no \.root files under s3:\/\/hepflow-cli\/nowhere\/(qcd|ttbar)\/ \(missing or empty prefix\)$/,
    );
    assert.equal(lines.length, 6, r.stderr);
    assert.ok(
      lines.slice(2, -1).every((l, i) => l.startsWith(`${'  '.repeat(i + 2)}└ `)),
      r.stderr,
    );
    assert.equal(lines.at(-1), `  web UI: ${UI}/namespaces/default/workflows/${failedRun}`);
    assert.doesNotMatch(r.stderr, /Workflow execution failed|\n {4}at /, 'no stack traces');
  });

  test('logs <run>: the activities and the failure chain from the history', async () => {
    const r = await hepflow(['logs', failedRun], cliEnv);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`^pipelineWorkflow ${failedRun} \\(run \\S+\\): FAILED, started `));
    assert.match(r.stdout, /child workflow featuresWorkflow /);
    assert.match(r.stdout, /workflow failed\n(\s+└ .*\n)+/);
    assert.match(r.stdout, /└ \w+: .*s3:\/\/hepflow-cli\/nowhere\//);
    assert.match(r.stdout, new RegExp(`web UI: ${UI}/namespaces/default/workflows/${failedRun}`));
  });

  test("report <run>: report.md of the run's work URI, or why there is none", async () => {
    const none = await hepflow(['report', failedRun], cliEnv);
    assert.equal(none.code, 1);
    assert.match(none.stderr, /no report\.md at s3:\/\/hepflow-cli\/runs\/failing\/report\.md yet/);
    await s3.storage().write('s3://hepflow-cli/runs/done/report.md', '# Pipeline report\n\n| model | AUC |\n');
    const byUri = await hepflow(['report', 's3://hepflow-cli/runs/done'], cliEnv);
    assert.equal(byUri.code, 0, byUri.stderr);
    assert.equal(byUri.stdout, '# Pipeline report\n\n| model | AUC |\n');
    // --open: report.html fetched to a local file and handed to the desktop's opener (none on this PATH).
    await s3.storage().write('s3://hepflow-cli/runs/done/report.html', '<html><body>report</body></html>');
    const noOpener = mkdtempSync(path.join(tmp, 'path-'));
    const opened = await hepflow(['report', 's3://hepflow-cli/runs/done', '--open'], { ...cliEnv, PATH: noOpener });
    assert.equal(opened.code, 0, opened.stderr);
    const file = /^report: (.+\.html)$/m.exec(opened.stdout)?.[1];
    assert.ok(file, opened.stdout);
    assert.equal(readFileSync(file, 'utf8'), '<html><body>report</body></html>');
    rmSync(file);
    assert.match(opened.stdout, /no (xdg-open|open|cmd) here to open it/);
    const unknown = await hepflow(['report', 'no-such-run'], cliEnv);
    assert.equal(unknown.code, 1);
    assert.match(unknown.stderr, /no run 'no-such-run'/);
  });

  test('cancel <run> requests cancellation of a running workflow; runs lists top-level runs with their status', async () => {
    // No worker polls this queue: the workflow stays RUNNING until the test ends.
    const id = `cli-cancel-${Date.now()}`;
    await env.client.workflow.start('ingestWorkflow', {
      taskQueue: 'hepflow-cli-test-unpolled',
      workflowId: id,
      args: [{ inputUri: 's3://hepflow-cli/in/', outputUri: 's3://hepflow-cli/out/' }],
      typedSearchAttributes: [
        { key: STAGE, value: 'training' },
        { key: MODEL, value: 'hlf' },
        { key: BEST_AUC, value: 0.98765 },
      ],
    });
    await listed(id);
    await listed(failedRun);
    const runs = await hepflow(['runs', '--limit', '50'], cliEnv);
    assert.equal(runs.code, 0, runs.stderr);
    const header = runs.stdout.split('\n')[0]!;
    assert.match(header, /^RUN +TYPE +STATUS +STARTED +STAGE +MODEL +BEST AUC$/);
    assert.match(
      runs.stdout,
      new RegExp(`^${id} +ingestWorkflow +RUNNING +\\d{4}-\\d\\d-\\d\\d [\\d:]+Z +training +hlf +0\\.9877$`, 'm'),
    );
    assert.match(runs.stdout, new RegExp(`^${failedRun} +pipelineWorkflow +FAILED +\\d{4}-`, 'm'));
    assert.doesNotMatch(runs.stdout, /featuresWorkflow/, 'child workflows only with --all');
    const all = await hepflow(['runs', '--all', '--limit', '100'], cliEnv);
    assert.match(all.stdout, /featuresWorkflow +FAILED/);
    const filtered = await hepflow(['runs', '--query', "ExecutionStatus='Running'"], cliEnv);
    assert.match(filtered.stdout, new RegExp(`^${id} `, 'm'));
    assert.doesNotMatch(filtered.stdout, new RegExp(failedRun));

    const waiting = await hepflow(['logs', id], cliEnv);
    assert.equal(waiting.code, 0, waiting.stderr);
    assert.match(
      waiting.stdout,
      /not picked up by a worker yet \(is one polling task queue hepflow-cli-test-unpolled\?\)/,
    );
    const r = await hepflow(['cancel', id], cliEnv);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`cancellation requested for ingestWorkflow ${id}`));
    const history = await env.client.workflow.getHandle(id).fetchHistory();
    assert.ok(
      history.events!.some((e) => e.workflowExecutionCancelRequestedEventAttributes),
      'the server recorded the request',
    );
    const again = await hepflow(['cancel', failedRun], cliEnv);
    assert.equal(again.code, 1);
    assert.match(again.stderr, /is not running: it is FAILED/);
    const unknown = await hepflow(['cancel', 'no-such-run'], cliEnv);
    assert.equal(unknown.code, 1);
    assert.match(unknown.stderr, /no run 'no-such-run'/);
    await env.client.workflow.getHandle(id).terminate('test done');
  });

  test('ingest prints the --branches statistics and exits 1 when a file failed, 0 with --allow-failed-files', async () => {
    const store = s3.storage();
    await store.write('s3://hepflow-cli/ingest/a-hzz.root', readFileSync(sharedFile('uproot-HZZ.root')));
    await store.write('s3://hepflow-cli/ingest/b-broken.root', 'not a ROOT file');
    const args = [
      'ingest',
      's3://hepflow-cli/ingest/',
      '--branches',
      'NMuon',
      '--local-worker',
      '--out',
      's3://hepflow-cli/ingested',
    ];
    const strict = await hepflow(args, cliEnv);
    assert.equal(strict.code, 1, strict.stderr);
    const stat = new RegExp(
      `NMuon +${HZZ.entries} values {2}sum +${HZZ.nMuonSum} {2}mean ${(HZZ.nMuonSum / HZZ.entries).toPrecision(6)}`,
    );
    assert.match(strict.stdout, new RegExp(`a-hzz\\.root +events +${HZZ.entries} entries.*\\n +${stat.source}`));
    assert.match(strict.stdout, new RegExp(`branches over all files read:\\n +${stat.source}`));
    assert.match(strict.stdout, /files: 2 \(1 read, 1 failed\)/);
    assert.match(strict.stdout, /FAILED s3:\/\/hepflow-cli\/ingest\/b-broken\.root: /);
    assert.match(strict.stderr, /hepflow: 1 of 2 files failed \(--allow-failed-files to accept that\)/);
    const lenient = await hepflow([...args, '--allow-failed-files'], cliEnv);
    assert.equal(lenient.code, 0, lenient.stderr);
    assert.match(lenient.stdout, /files: 2 \(1 read, 1 failed\)/);
  });

  test('ls, cat and cp over s3:// and local files', async () => {
    const store = s3.storage();
    await store.write('s3://hepflow-cli/objs/a.txt', 'alpha\n');
    await store.write('s3://hepflow-cli/objs/sub/b.txt', 'beta beta\n');
    const ls = await hepflow(['ls', 's3://hepflow-cli/objs/'], cliEnv);
    assert.equal(ls.code, 0, ls.stderr);
    assert.equal(ls.stdout, 's3://hepflow-cli/objs/a.txt\ns3://hepflow-cli/objs/sub/b.txt\n');
    const long = await hepflow(['ls', '-l', 's3://hepflow-cli/objs/sub/'], cliEnv);
    assert.match(long.stdout, /^ +10 {2}\d{4}-\d\d-\d\dT[\d:.]+Z {2}s3:\/\/hepflow-cli\/objs\/sub\/b\.txt\n$/);
    const cat = await hepflow(['cat', 's3://hepflow-cli/objs/a.txt', 's3://hepflow-cli/objs/sub/b.txt'], cliEnv);
    assert.equal(cat.code, 0, cat.stderr);
    assert.equal(cat.stdout, 'alpha\nbeta beta\n');

    const dir = path.join(tmp, 'copy');
    const tree = await hepflow(['cp', 's3://hepflow-cli/objs/', `${dir}/`], cliEnv);
    assert.equal(tree.code, 0, tree.stderr);
    assert.match(tree.stdout, /^2 copied, 0 already there/);
    assert.equal(readFileSync(path.join(dir, 'sub', 'b.txt'), 'utf8'), 'beta beta\n');
    const one = await hepflow(['cp', path.join(dir, 'a.txt'), 's3://hepflow-cli/back/'], cliEnv);
    assert.equal(one.code, 0, one.stderr);
    assert.equal(Buffer.from(await store.readAll('s3://hepflow-cli/back/a.txt')).toString(), 'alpha\n');
    const missing = await hepflow(['cp', 's3://hepflow-cli/objs/none.txt', `${dir}/`], cliEnv);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /s3:\/\/hepflow-cli\/objs\/none\.txt.*no such object/);
  });
});
