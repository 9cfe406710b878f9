/**
 * infra/build.sh (what `npm test`, `npm run demo` and `npm run setup` compile with) on a
 * small project of its own: a process started from dist/ keeps working across a
 * rebuild, new processes get the new build, and files deleted from the sources are gone.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import {
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  realpathSync,
  rmSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { promisify } from 'node:util';
import { projectRoot } from '../src/paths.js';

const BUILD = path.join(projectRoot, 'infra', 'build.sh');
let dir: string;

const build = (...flags: string[]) =>
  promisify(execFile)('bash', [BUILD, ...flags, dir], { env: { ...process.env, HEPFLOW_KEEP_BUILDS: '2' } });
const write = (file: string, text: string) => writeFileSync(path.join(dir, file), text);

before(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'hepflow-build-'));
  mkdirSync(path.join(dir, 'src'));
  symlinkSync(path.join(projectRoot, 'node_modules'), path.join(dir, 'node_modules'));
  write('package.json', JSON.stringify({ name: 'build-swap-test', type: 'module' }));
  write(
    'tsconfig.json',
    JSON.stringify({
      compilerOptions: {
        target: 'ES2022',
        module: 'NodeNext',
        moduleResolution: 'NodeNext',
        types: ['node'],
        skipLibCheck: true,
        outDir: 'dist',
        rootDir: 'src',
      },
      include: ['src'],
    }),
  );
  // Loads a module only when told to, as workers and the CLI do after they start.
  write(
    'src/main.ts',
    `
    import { createInterface } from 'node:readline';
    console.log('ready');
    for await (const _ of createInterface({ input: process.stdin })) {
      const { VERSION } = await import('./later.js');
      console.log('later ' + VERSION);
      process.exit(0);
    }`,
  );
  write('src/later.ts', 'export const VERSION = 1;\n');
  write('src/gone.ts', 'export const GONE = true;\n');
  // A dist/ directory left by the old in-place compile, with a stale file in it.
  mkdirSync(path.join(dir, 'dist'));
  write('dist/stale.js', '');
});

after(() => rmSync(dir, { recursive: true, force: true }));

async function start(): Promise<{
  next: () => Promise<string>;
  send: (line: string) => void;
  exited: Promise<unknown>;
}> {
  const child = spawn(process.execPath, ['dist/main.js'], { cwd: dir, stdio: ['pipe', 'pipe', 'inherit'] });
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  return {
    next: async () => (await lines.next()).value as string,
    send: (line) => child.stdin.write(`${line}\n`),
    exited: once(child, 'exit'),
  };
}

test('a rebuild swaps dist/ atomically under a running process, drops deleted files, keeps the last builds', async () => {
  await build();
  assert.ok(lstatSync(path.join(dir, 'dist')).isSymbolicLink());
  assert.ok(!existsSync(path.join(dir, 'dist', 'stale.js')), 'the old dist/ directory is moved aside');
  assert.ok(existsSync(path.join(dir, 'dist', 'gone.js')));

  const running = await start();
  assert.equal(await running.next(), 'ready');
  write('src/later.ts', 'export const VERSION = 2;\n');
  rmSync(path.join(dir, 'src', 'gone.ts'));
  await build();

  // The running process loads the rest of its own build; a new one gets the new build.
  running.send('go');
  assert.equal(await running.next(), 'later 1');
  await running.exited;
  const fresh = await start();
  assert.equal(await fresh.next(), 'ready');
  fresh.send('go');
  assert.equal(await fresh.next(), 'later 2');
  await fresh.exited;
  assert.ok(!existsSync(path.join(dir, 'dist', 'gone.js')), 'a file deleted from the sources is not in dist/');

  await build();
  assert.equal(readdirSync(path.join(dir, '.build')).length, 2, 'older builds are removed');
  assert.equal(
    path.basename(realpathSync(path.join(dir, 'dist'))),
    readdirSync(path.join(dir, '.build')).sort().at(-1),
    'dist is the newest build',
  );
  assert.deepEqual(
    readdirSync(path.join(dir)).filter((f) => f.startsWith('dist')),
    ['dist'],
    'no temporary link left',
  );
});

test('--if-changed keeps dist/ while the sources are those it was built from', async () => {
  await build();
  const built = realpathSync(path.join(dir, 'dist'));
  const skipped = await build('--if-changed');
  assert.match(skipped.stderr, /unchanged/);
  assert.equal(realpathSync(path.join(dir, 'dist')), built, 'no new build');

  // Something compiled into dist/ after the build (a quick `tsc -p`): dist/ no longer matches its hash.
  const later = new Date(Date.now() + 60_000);
  utimesSync(path.join(dir, 'dist', 'main.js'), later, later);
  await build('--if-changed');
  const rebuilt = realpathSync(path.join(dir, 'dist'));
  assert.notEqual(rebuilt, built);

  write('src/later.ts', 'export const VERSION = 3;\n');
  await build('--if-changed');
  assert.notEqual(realpathSync(path.join(dir, 'dist')), rebuilt, 'a changed source is compiled');
  assert.match(readFileSync(path.join(dir, 'dist', 'later.js'), 'utf8'), /VERSION = 3/);
});
