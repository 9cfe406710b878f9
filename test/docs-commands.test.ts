/**
 * Every command of a fenced shell block in README.md and docs/**\/*.md is checked, so
 * none goes stale: the cheap ones (help, `stack status`, `stack env`) run for real in a
 * `hepflow` process of their own; the long ones (a run, the demo, a benchmark) are parsed
 * by the real command-line parser, or checked against the script, `temporal` subcommand
 * or workflow schema they name, without running the job. A command that cannot be
 * classified fails, and so does one checked but not run in a block not marked
 * `<!-- docs-test: not-run — reason -->`. The rules are by kind of command, not by
 * page: pages added later are covered as they are.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CommanderError, type Command } from 'commander';
import { buildProgram } from '../cli/program.js';
import { standardModels } from '../cli/commands/pipeline.js';
import { findTool } from '../infra/tools.js';
import { projectRoot } from '../src/paths.js';
import { resolveTrainSpec, type TrainSpec } from '../src/stages/train-spec.js';
import {
  distributedTrainInputSchema,
  gridSearchInputSchema,
  ingestInputSchema,
  pipelineInputSchema,
} from '../workflows/input-schemas.js';
import {
  docBlocks,
  docFiles,
  isShell,
  shellCommands,
  type DocBlock,
  type ShellCommand,
} from './helpers/doc-commands.js';
import { freePort } from './helpers/net.js';

const SCHEMAS: Record<string, (v: unknown, key: string) => unknown> = {
  ingestWorkflow: ingestInputSchema,
  pipelineWorkflow: pipelineInputSchema,
  distributedTrainWorkflow: distributedTrainInputSchema,
  gridSearchWorkflow: gridSearchInputSchema,
};

/** What checking a command did: ran it, or checked it without running it; `unchecked` only in external blocks. */
type Outcome = 'ran' | 'checked' | 'unchecked';

class Refused extends Error {}
const refuse = (why: string): never => {
  throw new Refused(why);
};

const read = (rel: string): string => readFileSync(path.join(projectRoot, rel), 'utf8');
const scripts = (JSON.parse(read('package.json')) as { scripts: Record<string, string> }).scripts;

/** `dist/X.js` → its source `X.ts` (the tree compiles one to one). */
function sourceOf(distPath: string): string {
  const m = /^dist\/(.+)\.js$/.exec(distPath);
  if (!m) return refuse(`${distPath}: expected a compiled file dist/<path>.js`);
  const source = `${m[1]}.ts`;
  if (!existsSync(path.join(projectRoot, source))) refuse(`${distPath}: no ${source} in the tree`);
  return source;
}

/** Each `--name` (or `--name=v`) is read by one of the sources: as '--name', 'name' or a parseArgs key `name:`. */
function optionsReadBy(args: string[], sources: string[], what: string): void {
  const texts = sources.map(read);
  for (const a of args.filter((x) => x.startsWith('--'))) {
    const name = a.slice(2).split('=')[0]!;
    const esc = name.replace(/[-/\\^$*+?.()|[\]{}]/g, '\\$&');
    const reads = new RegExp(`--${esc}\\b|['"\`]${esc}['"\`]|\\b${esc}\\s*:`);
    if (!texts.some((t) => reads.test(t))) refuse(`${what} reads no option ${a}`);
  }
}

// --- hepflow: parsed by the real parser, actions replaced ---

function leaves(c: Command): Command[] {
  return c.commands.length === 0 ? [c] : c.commands.flatMap(leaves);
}

/** The command path the parser resolves `args` to, or a refusal with the parser's own message. */
async function parseHepflow(args: string[]): Promise<string> {
  const program = buildProgram();
  let chosen: string | undefined;
  let message = '';
  const silence = (c: Command): void => {
    c.configureOutput({ writeOut: () => {}, writeErr: (s) => (message += s), outputError: (s) => (message += s) });
    c.commands.forEach(silence);
  };
  silence(program);
  for (const leaf of leaves(program)) {
    leaf.action(() => {
      const names: string[] = [];
      for (let c: Command | null = leaf; c; c = c.parent) names.unshift(c.name());
      chosen = names.join(' ');
    });
  }
  const verbose = process.env.HEPFLOW_VERBOSE;
  try {
    await program.parseAsync(args, { from: 'user' });
  } catch (e) {
    if (!(e instanceof CommanderError)) throw e;
    return refuse(`hepflow ${args.join(' ')}: ${message.trim() || e.message}`);
  } finally {
    // The parser's preAction hook sets it for --verbose; this process is not the CLI.
    if (verbose === undefined) delete process.env.HEPFLOW_VERBOSE;
  }
  return chosen ?? refuse(`hepflow ${args.join(' ')}: names no command`);
}

const isHelp = (args: string[]) => args.includes('--help') || args.includes('-h') || args[0] === 'help';
const RUN_FOR_REAL = ['stack status', 'stack env'];

let offlineEnv: NodeJS.ProcessEnv;
let dataDir: string;

function hepflowProcess(args: string[]): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [path.join(projectRoot, 'dist/cli/hepflow.js'), ...args],
      { env: offlineEnv, cwd: projectRoot },
      (error, stdout, stderr) => resolve({ code: error ? Number(error.code ?? 1) : 0, out: stdout + stderr }),
    );
  });
}

async function checkHepflow(args: string[]): Promise<Outcome> {
  if (isHelp(args)) {
    // Help exits before any action, so the real process answers; it must be the help of the command named.
    const words = args[0] === 'help' ? args.slice(1) : args;
    const firstFlag = words.findIndex((a) => a.startsWith('-'));
    const named = firstFlag < 0 ? words : words.slice(0, firstFlag);
    const r = await hepflowProcess(args);
    const usage = `Usage: hepflow ${named.map((w) => `${w} `).join('')}[`;
    if (r.code !== 0 || !r.out.includes(usage))
      refuse(`hepflow ${args.join(' ')}: shows no help for '${named.join(' ')}' (no such command): exit ${r.code}`);
    return 'ran';
  }
  const chosen = await parseHepflow(args);
  if (!RUN_FOR_REAL.includes(chosen.replace(/^hepflow /, ''))) return 'checked';
  const r = await hepflowProcess(args);
  // Against a data directory and ports of this test's own, nothing runs: status says so with exit 1.
  const expected = chosen.endsWith('status')
    ? r.code === 1 && /^temporal: stopped/m.test(r.out) && /^s3: +stopped/m.test(r.out)
    : r.code === 0 && /^export TEMPORAL_ADDRESS=/m.test(r.out);
  if (!expected) refuse(`${chosen}: exit ${r.code}\n${r.out}`);
  return 'ran';
}

// --- npm, node, bash ---

const benchmarks = readdirSync(path.join(projectRoot, 'bench'))
  .filter((f) => f.endsWith('.ts') && f !== 'run.ts')
  .map((f) => f.slice(0, -3));

async function checkNpm(args: string[]): Promise<Outcome> {
  const [verb, ...rest] = args;
  const script = verb === 'test' ? 'test' : verb === 'run' ? rest.shift() : undefined;
  if (!script) return refuse(`npm ${args.join(' ')}: only \`npm test\` and \`npm run <script>\` are classified`);
  if (!(script in scripts)) refuse(`npm run ${script}: no such script in package.json`);
  if (rest[0] === '--') rest.shift();
  else if (rest.length > 0) refuse(`npm run ${script} ${rest.join(' ')}: arguments go after --`);
  if (script === 'demo') {
    await parseHepflow(['demo', ...rest]);
    return 'checked';
  }
  if (script === 'bench') {
    const first = rest.findIndex((a) => a.startsWith('--'));
    const names = first < 0 ? rest : rest.slice(0, first);
    for (const n of names) if (!benchmarks.includes(n)) refuse(`npm run bench: no benchmark '${n}' in bench/`);
    const chosen = names.length > 0 ? names : benchmarks;
    optionsReadBy(
      first < 0 ? [] : rest.slice(first),
      chosen.map((n) => `bench/${n}.ts`),
      `npm run bench -- ${names.join(' ')}`,
    );
    return 'checked';
  }
  const target = /\bnode (?:\S+ )*?(dist\/\S+\.js)/.exec(scripts[script]!)?.[1];
  if (rest.length > 0) {
    if (!target) refuse(`npm run ${script}: its script runs no node script to take ${rest.join(' ')}`);
    optionsReadBy(rest, [sourceOf(target!)], `npm run ${script}`);
  }
  return 'checked';
}

function checkNode(args: string[]): Outcome {
  if (args[0] === '--test') {
    const files = args.filter((a) => !a.startsWith('-'));
    if (files.length === 0) refuse('node --test: name the compiled test files');
    for (const f of files) sourceOf(f);
    return 'checked';
  }
  const [file, ...rest] = args;
  optionsReadBy(rest, [sourceOf(file ?? '')], `node ${file}`);
  return 'checked';
}

function checkBash(args: string[]): Outcome {
  const [file, ...rest] = args;
  if (!file || !/^[\w./-]+\.sh$/.test(file) || !existsSync(path.join(projectRoot, file)))
    refuse(`bash ${file}: no such script in the tree`);
  optionsReadBy(rest, [file!], `bash ${file}`);
  return 'checked';
}

// --- temporal: the subcommand's own --help must know every flag; start inputs pass their schema ---

const temporalHelp = new Map<string, Promise<string>>();
function helpOf(sub: string[]): Promise<string> {
  const key = sub.join(' ');
  if (!temporalHelp.has(key)) {
    temporalHelp.set(
      key,
      new Promise((resolve) =>
        execFile(findTool('temporal'), [...sub, '--help'], (error, stdout) => resolve(error ? '' : stdout)),
      ),
    );
  }
  return temporalHelp.get(key)!;
}

const workflowStarts: { type: string; input: unknown }[] = [];

async function checkTemporal(args: string[]): Promise<Outcome> {
  const first = args.findIndex((a) => a.startsWith('-'));
  const sub = first < 0 ? args : args.slice(0, first);
  const flags = first < 0 ? [] : args.slice(first);
  const help = await helpOf(sub);
  if (!new RegExp(`^Usage:\\n\\s+temporal ${sub.join(' ')} \\[flags\\]`, 'm').test(help))
    refuse(`temporal ${sub.join(' ')}: not a command of the temporal CLI`);
  for (const f of flags.filter((a) => a.startsWith('--'))) {
    const name = f.slice(2).split('=')[0]!;
    if (!new RegExp(`^\\s+(-\\w, )?--${name}\\b`, 'm').test(help)) refuse(`temporal ${sub.join(' ')}: no flag ${f}`);
  }
  if (sub.join(' ') === 'workflow start') {
    const value = (flag: string) => flags[flags.indexOf(flag) + 1];
    const type = value('--type') ?? refuse('temporal workflow start: no --type');
    const schema =
      SCHEMAS[type] ?? refuse(`temporal workflow start --type ${type}: not a hepflow workflow with a schema`);
    let input: unknown;
    try {
      input = JSON.parse(value('--input') ?? refuse('temporal workflow start: no --input'));
    } catch (e) {
      return refuse(`--input of ${type}: ${(e as Error).message}`);
    }
    try {
      schema(input, 'input');
    } catch (e) {
      refuse(`--input of ${type}: ${(e as Error).message}`);
    }
    workflowStarts.push({ type, input });
  }
  return 'checked';
}

// --- curl: an endpoint of the inference service ---

function checkCurl(args: string[]): Outcome {
  const url = args.find((a) => !a.startsWith('-') && /^(https?:\/\/)?[\w.-]+:\d+\//.test(a));
  if (!url) return refuse(`curl ${args.join(' ')}: no host:port/path of a hepflow service`);
  const route = `/${url.replace(/^(https?:\/\/)?[\w.-]+:\d+\//, '').split(/[?#]/)[0]}`;
  if (!read('src/serving/http-server.ts').includes(`'${route}'`))
    refuse(`curl ${url}: the inference service has no route ${route}`);
  return 'checked';
}

/** Checks one command; `external` blocks leave commands of tools outside the project unchecked. */
async function checkCommand(argv: string[], external = false): Promise<Outcome> {
  let words = argv;
  while (words[0] && /^[A-Za-z_]\w*=/.test(words[0])) words = words.slice(1);
  if (words.length === 0) return 'ran'; // plain assignments
  const [head, ...args] = words as [string, ...string[]];
  if (head === 'npx' && args[0] === 'hepflow') return checkHepflow(args.slice(1));
  if (head === 'hepflow') return checkHepflow(args);
  if (head === 'node' && args[0] === 'dist/cli/hepflow.js') return checkHepflow(args.slice(1));
  if (head === 'npm') return checkNpm(args);
  if (head === 'node') return checkNode(args);
  if (head === 'bash' || head === 'sh') return checkBash(args);
  if (head === 'temporal' || head.endsWith('/temporal')) return checkTemporal(args);
  if (head === 'curl') return checkCurl(args);
  if (head === 'export') {
    if (!args.every((a) => /^[A-Za-z_]\w*=/.test(a))) refuse(`export ${args.join(' ')}: expected NAME=value`);
    return 'ran';
  }
  if (head === 'eval') {
    const inner = /^\$\((.*)\)$/s.exec(args.join(' '))?.[1];
    const commands = inner === undefined ? [] : shellCommands(inner);
    if (commands.length !== 1) refuse(`eval ${args.join(' ')}: expected eval "$(one command)"`);
    return checkCommand(commands[0]!.argv, external);
  }
  if (external) return 'unchecked';
  return refuse(
    `cannot classify \`${words.join(' ')}\`: add a rule to test/docs-commands.test.ts, or mark the block external`,
  );
}

const blocks: DocBlock[] = docFiles(projectRoot).flatMap((f) => docBlocks(projectRoot, f));
const where = (b: DocBlock, c?: ShellCommand) => `${b.file}:${c?.line ?? b.line}`;

before(async () => {
  dataDir = mkdtempSync(path.join(os.tmpdir(), 'hepflow-docs-'));
  const [temporal, ui, s3] = [await freePort(), await freePort(), await freePort()];
  // Only what the CLI needs to find a stack of its own: nothing of a stack this shell may point at.
  offlineEnv = Object.fromEntries(
    Object.entries(process.env).filter(([k]) => !/^(HEPFLOW_|TEMPORAL_|AWS_)/.test(k)),
  ) as NodeJS.ProcessEnv;
  Object.assign(offlineEnv, {
    HEPFLOW_DATA_DIR: dataDir,
    HEPFLOW_TEMPORAL_PORT: String(temporal),
    HEPFLOW_TEMPORAL_UI_PORT: String(ui),
    HEPFLOW_S3_PORT: String(s3),
  });
});
after(() => rmSync(dataDir, { recursive: true, force: true }));

for (const file of [...new Set(blocks.filter(isShell).map((b) => b.file))]) {
  test(`${file}: every shell command runs, or parses against what it names in a block marked not-run`, async () => {
    const problems: string[] = [];
    for (const b of blocks.filter((x) => x.file === file && isShell(x))) {
      const outcomes: Outcome[] = [];
      for (const c of shellCommands(b.text, b.line + 1)) {
        try {
          const outcome = await checkCommand(c.argv, b.mark?.kind === 'external');
          outcomes.push(outcome);
          if (outcome !== 'ran' && !b.mark)
            problems.push(
              `${where(b, c)}: \`${c.argv.join(' ')}\` is not run by this test: mark its block <!-- docs-test: not-run — why -->`,
            );
        } catch (e) {
          if (!(e instanceof Refused)) throw e;
          problems.push(`${where(b, c)}: ${e.message}`);
        }
      }
      if (b.mark?.kind === 'not-run' && outcomes.length > 0 && outcomes.every((o) => o === 'ran'))
        problems.push(`${where(b)}: marked not-run, but every command of it runs here: remove the mark`);
    }
    assert.deepEqual(problems, []);
  });
}

test('the blocks not run say why; each is listed here', (t) => {
  const marked = blocks.filter((b) => b.mark && b.mark.kind !== 'run-config');
  assert.ok(marked.length > 0);
  for (const b of marked) {
    t.diagnostic(`${where(b)} ${b.mark!.kind}: ${b.mark!.reason}`);
    assert.ok(b.mark!.reason.length > 3, `${where(b)}: a ${b.mark!.kind} block needs its reason`);
    assert.ok(isShell(b), `${where(b)}: ${b.mark!.kind} marks a shell block, not \`${b.lang}\``);
  }
});

test('run files shown in the docs are what `hepflow run --config` accepts', () => {
  const configs = blocks.filter((b) => b.mark?.kind === 'run-config');
  assert.ok(configs.length > 0, 'the docs show a run file');
  for (const b of configs) {
    assert.equal(b.lang, 'json', `${where(b)}: run-config marks a json block`);
    // As `hepflow run --config` completes a file: a work URI and the standard models unless given.
    const input = {
      workUri: 's3://hepflow/runs/docs',
      models: standardModels({ maxLen: 801, epochs: 5, pool: 'cpu' }),
      ...(JSON.parse(b.text) as object),
    };
    pipelineInputSchema(input, where(b));
  }
});

test('the data-parallel workflow examples train on several workers', () => {
  // Filled by the per-file tests above (node:test runs a file's top-level tests in order).
  const types = workflowStarts.map((s) => s.type);
  for (const t of ['distributedTrainWorkflow', 'pipelineWorkflow']) assert.ok(types.includes(t), `the docs start ${t}`);
  const dist = workflowStarts.find((s) => s.type === 'distributedTrainWorkflow')!.input as {
    spec: TrainSpec;
    workers: number;
  };
  assert.ok(dist.workers > 1);
  assert.equal(resolveTrainSpec(dist.spec, ['qcd', 'ttbar', 'wjets']).model.kind, 'inclusive');
  assert.ok(
    workflowStarts.some(
      (s) =>
        s.type === 'pipelineWorkflow' &&
        (s.input as { models: { workers?: number }[] }).models.some((m) => (m.workers ?? 1) > 1),
    ),
    'a pipeline example trains a model on several workers',
  );
});

test('every file of the tree the docs name exists; each reading path of the architecture is at most six files', () => {
  const TREE = /`((?:src|workflows|activities|cli|infra|test|bench|scripts|native|docs)\/[\w./-]+)`/g;
  // An import specifier (`src/x.js`) names its TypeScript source.
  const exists = (p: string) =>
    existsSync(path.join(projectRoot, p)) || existsSync(path.join(projectRoot, p.replace(/\.js$/, '.ts')));
  const missing = docFiles(projectRoot).flatMap((f) =>
    [...read(f).matchAll(TREE)]
      .map((m) => m[1]!)
      .filter((p) => !exists(p))
      .map((p) => `${f}: ${p}`),
  );
  assert.deepEqual(missing, []);
  const architecture = read('docs/guide/08-architecture.md');
  const table = architecture.slice(architecture.indexOf('## Reading paths'), architecture.indexOf('## Data never'));
  const rows = table
    .split('\n')
    .filter((l) => l.startsWith('| ') && !l.startsWith('| to see') && !l.startsWith('|---'));
  assert.ok(rows.length >= 8, 'the reading paths');
  for (const row of rows) {
    const files = new Set([...row.matchAll(TREE)].map((m) => m[1]));
    assert.ok(files.size >= 1 && files.size <= 6, `${row.slice(0, 60)}…: ${files.size} files`);
  }
});

test('a stale or unknown command is refused, naming what is wrong', async () => {
  const refused = async (cmd: string, pattern: RegExp) => {
    const [c] = shellCommands(cmd);
    await assert.rejects(checkCommand(c!.argv), (e: unknown) => e instanceof Refused && pattern.test(e.message));
  };
  await refused('npx hepflow run --events 10 --no-such-flag', /unknown option '--no-such-flag'/);
  await refused('npx hepflow frobnicate', /unknown command 'frobnicate'/);
  await refused('npx hepflow dataset --out /tmp/ds', /required option '--features <dir-uri>' not specified/);
  await refused('npx hepflow run --events many', /--events <n>' argument 'many' is invalid/);
  await refused('npx hepflow nosuch --help', /no such command/);
  await refused('npm run no-such-script', /no such script/);
  await refused('npm run bench -- no-such-bench', /no benchmark 'no-such-bench'/);
  await refused('npm run bench -- gru --no-such-option', /reads no option --no-such-option/);
  await refused('node dist/bench/no-such.js', /no bench\/no-such\.ts/);
  await refused('bash scripts/no-such.sh', /no such script/);
  await refused('temporal workflow frobnicate --workflow-id x', /not a command of the temporal CLI/);
  await refused('temporal workflow start --type pipelineWorkflow --no-such-flag', /no flag --no-such-flag/);
  await refused(
    `temporal workflow start --type pipelineWorkflow --input '{"workUri":"nowhere"}'`,
    /--input of pipelineWorkflow: input\.workUri/,
  );
  await refused('curl -s localhost:8080/v1/nothing', /no route \/v1\/nothing/);
  await refused('rm -rf /tmp/x', /cannot classify/);
  assert.equal(await checkCommand(['kubectl', 'apply', '-f', 'x.yaml'], true), 'unchecked');
});
