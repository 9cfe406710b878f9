/**
 * `npm run demo` as a new user meets it: a fresh clone of this checkout's HEAD beside it
 * (so `../shared` resolves as the README says), the README's command verbatim, twice.
 * The first run installs everything the bootstrap installs (node modules, the Python
 * tools, native addons, the Kafka jars) and compiles; the second is what every later
 * run costs. Each output line is timestamped as it arrives, so the record splits a run
 * into bootstrap, stack and inputs, ingest, pipeline. The clone's stack runs on free
 * ports (a local stack already up is left alone) and is stopped, and the clone deleted,
 * at the end. Not part of `npm run bench` by default: it takes many minutes and the
 * registries' bandwidth (`npm run bench -- demo`).
 *
 * Usage: node dist/bench/demo.js [--runs 2]
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { projectRoot } from '../src/paths.js';
import { freePort } from '../test/helpers/net.js';
import { demoPhases, parseTimes, type TimedLine } from './lib/demo-phases.js';
import { writeRecord, type Figure } from './lib/record.js';

const { values } = parseArgs({ options: { runs: { type: 'string', default: '2' } } });
const runs = Number(values.runs);
const loadAtStart = os.loadavg().map((l) => Number(l.toFixed(2)));
const clone = path.resolve(projectRoot, '..', `hepflow-demo-clone-${process.pid}`);
const head = spawnSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: projectRoot, encoding: 'utf8' }).stdout.trim();
const temporalPort = await freePort();
const env = {
  ...process.env,
  HEPFLOW_TEMPORAL_PORT: String(temporalPort),
  HEPFLOW_TEMPORAL_UI_PORT: String(await freePort()),
  HEPFLOW_S3_PORT: String(await freePort()),
};
const logDir = path.join(projectRoot, '.data', 'bench');
mkdirSync(logDir, { recursive: true });

/** One `npm run demo` in the clone, its lines timestamped; CPU from bash's `times` (the processes it waited for). */
async function demo(i: number): Promise<{ seconds: number; cpuSeconds: number; lines: TimedLine[] }> {
  const t0 = Date.now();
  const p = spawn('bash', ['-c', 'npm run demo 2>&1; rc=$?; times; exit $rc'], { cwd: clone, env });
  const lines: TimedLine[] = [];
  for await (const line of createInterface({ input: p.stdout })) lines.push({ t: (Date.now() - t0) / 1000, line });
  const code = p.exitCode ?? (await new Promise<number | null>((r) => p.once('exit', r)));
  const seconds = (Date.now() - t0) / 1000;
  writeFileSync(path.join(logDir, `demo-run-${i}.log`), lines.map((l) => `${l.t.toFixed(1)}\t${l.line}`).join('\n'));
  if (code !== 0) throw new Error(`npm run demo (run ${i}) exited with ${code}: see .data/bench/demo-run-${i}.log`);
  return { seconds, cpuSeconds: parseTimes(lines.slice(-2).map((l) => l.line)), lines: lines.slice(0, -2) };
}

try {
  rmSync(clone, { recursive: true, force: true });
  spawnSync('git', ['clone', '--quiet', projectRoot, clone], { stdio: 'inherit' });
  const results = [];
  for (let i = 1; i <= runs; i++) {
    const r = await demo(i);
    const phases = demoPhases(r.lines);
    results.push({ run: i, ...r, phases });
    console.log(
      `run ${i}: ${r.seconds.toFixed(0)} s wall, ${r.cpuSeconds.toFixed(0)} s CPU of its processes; ` +
        phases.map((ph) => `${ph.phase} ${ph.seconds.toFixed(0)} s`).join(', '),
    );
  }
  const figures: Figure[] = results.map((r) => ({
    what: `npm run demo on a fresh clone, run ${r.run}${r.run === 1 ? ' (installs and compiles)' : ''}`,
    unit: 's',
    hepflow: r.seconds,
    peer: null,
    peerName: null,
    ratio: null,
  }));
  writeRecord({
    name: 'demo',
    title: '`npm run demo` on a fresh clone, as the README runs it',
    command: `node dist/bench/demo.js --runs ${runs}`,
    figures,
    tables: [
      {
        title: 'Each run, split by its output (seconds from the command start)',
        columns: ['run', 'wall', 'CPU of its processes', ...results[0]!.phases.map((p) => p.phase)],
        rows: results.map((r) => [r.run, r.seconds, r.cpuSeconds, ...r.phases.map((p) => p.seconds)]),
      },
    ],
    notes: [
      `A clone of commit ${head} beside the checkout; \`npm run demo\` run ${runs} times in it. Load average (1, 5, 15 min) at the start: ${loadAtStart.join(', ')}; the machine is shared, and the wall times move with the load.`,
      "CPU: user + system time of the processes the command waited for (the CLI with its in-process worker, the bootstrap's installers and compiler), from bash's `times`; the stack's servers run detached and are not in it.",
      'Phases from the timestamps of the output lines: bootstrap (to the stack line), stack and inputs (to the ingest start), ingest (to the pipeline start), pipeline (to the report), the rest.',
    ],
  });
} finally {
  spawnSync(process.execPath, ['dist/cli/hepflow.js', 'stack', 'down'], { cwd: clone, env, stdio: 'inherit' });
  rmSync(clone, { recursive: true, force: true });
}
