/**
 * Fuzzing both of hepflow's ROOT read paths (the reader, and the ingest summary built on
 * it) with seeded mutations of the real shared files: truncations at many offsets,
 * flipped bytes in the header, the top directory, the keys list, the StreamerInfo, the
 * TTree and the baskets, and size fields overwritten with ~2 GB. For every mutation:
 * no hang (a watchdog stops the worker thread the reads run in), no crash (every
 * failure is a RootFileError naming the file), no allocation beyond a bound set by the
 * file's real size, and never a wrong "ok": a truncated file always fails, and bytes
 * flipped inside a zlib- or LZ4-compressed payload (Adler-32 / XXH64) either fail the
 * read or leave every value identical.
 *
 * Deterministic (seeded); HEPFLOW_FUZZ_ITERATIONS sets the mutations per file
 * (default 20, a quarter of that for the 12 MB Delphes file).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import { fileURLToPath } from 'node:url';
import { Storage } from '../src/storage/index.js';
import { openRootFile, UnsupportedRootFeatureError, type RootFile } from '../src/root/reader/index.js';
import { sharedTestData } from './helpers/testdata.js';
import type { FuzzJob, FuzzMessage, Mutation, Outcome } from './helpers/fuzz-worker.js';

const ITERATIONS = Number(process.env.HEPFLOW_FUZZ_ITERATIONS ?? '20');
/** A read that makes no progress for this long is hung (generous: the machine is shared). */
const HANG_MS = 120_000;
const HUGE = 0x7fffff00;
const MiB = 1 << 20;

/** A seeded generator (LCG), so every failure reproduces. */
function rng(seed: number): (n: number) => number {
  let x = seed >>> 0;
  return (n) => {
    x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
    return Math.floor((x / 2 ** 32) * n);
  };
}

interface Region {
  readonly kind: string;
  readonly start: number;
  readonly end: number;
  /** The compressed payload, when zlib or LZ4 checksums protect it. */
  readonly checked?: readonly [start: number, end: number];
  /** Starts with a TKey whose sizes can lie. */
  readonly keyed: boolean;
}

async function layout(
  file: RootFile,
  treeName: string,
  branches: readonly string[],
  bytes: Uint8Array,
): Promise<Region[]> {
  const keyed = (kind: string, seek: number, nbytes: number, keylen: number, objlen: number): Region => {
    const tag = String.fromCharCode(bytes[seek + keylen] ?? 0, bytes[seek + keylen + 1] ?? 0);
    const compressed = nbytes - keylen < objlen && (tag === 'ZL' || tag === 'L4');
    return {
      kind,
      start: seek,
      end: seek + nbytes,
      keyed: true,
      ...(compressed ? { checked: [seek + keylen, seek + nbytes] as const } : {}),
    };
  };
  const { begin, nbytesName, seekInfo, nbytesInfo } = file.header;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const keyAt = (seek: number): [number, number, number] => [
    view.getInt32(seek),
    view.getInt16(seek + 14),
    view.getInt32(seek + 6),
  ];
  const regions: Region[] = [
    { kind: 'header', start: 0, end: begin, keyed: false },
    { kind: 'directory', start: begin, end: begin + nbytesName + 42, keyed: false },
    keyed(
      'keys list',
      file.keysList.seek,
      file.keysList.nbytes,
      keyAt(file.keysList.seek)[1],
      keyAt(file.keysList.seek)[2],
    ),
    keyed('streamers', seekInfo, nbytesInfo, keyAt(seekInfo)[1], keyAt(seekInfo)[2]),
  ];
  for (const k of file.keys)
    if (k.name === treeName) regions.push(keyed('tree', k.seekKey, k.nbytes, k.keylen, k.objlen));
  const tree = await file.getTree(treeName);
  for (const name of branches) {
    const b = tree.branch(name);
    for (let i = 0; i < b.writeBasket; i++) {
      const [nbytes, keylen, objlen] = keyAt(b.basketSeek[i]!);
      regions.push(keyed(`basket ${i} of ${name}`, b.basketSeek[i]!, nbytes, keylen, objlen));
    }
  }
  return regions;
}

function mutations(
  seed: number,
  count: number,
  size: number,
  regions: readonly Region[],
): (Mutation & { checked?: boolean; truncated?: boolean })[] {
  const pick = rng(seed);
  const baskets = regions.filter((r) => r.kind.startsWith('basket'));
  const structure = regions.filter((r) => !r.kind.startsWith('basket'));
  const out: (Mutation & { checked?: boolean; truncated?: boolean })[] = [];
  for (let i = 0; i < count; i++) {
    const kind = i % 4;
    if (kind === 0) {
      const at = pick(size);
      out.push({ label: `truncated to ${at} bytes`, truncate: at, truncated: true });
      continue;
    }
    // Half the flips go to baskets (most of a file), half to its structures.
    const region =
      kind === 2 && baskets.length > 0 ? baskets[pick(baskets.length)]! : structure[pick(structure.length)]!;
    if (kind === 3) {
      const fields: [string, number][] = region.keyed
        ? [
            ['fNbytes', region.start],
            ['fObjlen', region.start + 6],
          ]
        : region.kind === 'header'
          ? [
              ['fEND', 12],
              ['fNbytesName', 28],
              ['fSeekInfo', 37],
              ['fNbytesInfo', 41],
            ]
          : [
              ['fNbytesKeys', region.start + 10],
              ['fSeekKeys', region.start + 26],
            ];
      const [field, at] = fields[pick(fields.length)]!;
      out.push({ label: `${region.kind}: ${field} at ${at} set to ${HUGE}`, int32: [at, HUGE] });
      continue;
    }
    const within = region.checked ?? [region.start, region.end];
    const at = within[0] + pick(Math.max(1, within[1] - within[0]));
    const n = 1 + pick(4);
    const flips = Array.from({ length: n }, (_, j) => [at + j, 1 + pick(255)] as const).filter(([o]) => o < within[1]);
    out.push({
      label: `${region.kind}: ${flips.length} byte(s) flipped at ${at}`,
      flips,
      checked: region.checked !== undefined,
    });
  }
  return out;
}

/** Runs one file's mutations in a worker; resolves with every result, rejects on hang or crash. */
function runWorker(job: FuzzJob): Promise<Extract<FuzzMessage, { type: 'result' }>[]> {
  const script = fileURLToPath(new URL('./helpers/fuzz-worker.js', import.meta.url));
  return new Promise((resolve, reject) => {
    const worker = new Worker(script, { workerData: job });
    const results: Extract<FuzzMessage, { type: 'result' }>[] = [];
    let current = 'loading';
    let watchdog: NodeJS.Timeout;
    const arm = () => {
      clearTimeout(watchdog);
      watchdog = setTimeout(() => {
        void worker.terminate();
        reject(new Error(`${path.basename(job.path)}: '${current}' made no progress for ${HANG_MS / 1000} s (hang)`));
      }, HANG_MS);
    };
    arm();
    worker.on('message', (m: FuzzMessage) => {
      arm();
      if (m.type === 'start') current = m.label;
      else if (m.type === 'result') results.push(m);
      else {
        clearTimeout(watchdog);
        void worker.terminate().then(() => resolve(results));
      }
    });
    worker.on('error', (e) => {
      clearTimeout(watchdog);
      reject(new Error(`${path.basename(job.path)}: the reading thread crashed on '${current}': ${e.stack ?? e}`));
    });
    worker.on('exit', (code) => {
      clearTimeout(watchdog);
      if (code !== 0 && code !== 1)
        reject(new Error(`${path.basename(job.path)}: the reading thread exited with ${code} on '${current}'`));
    });
  });
}

const FILES: { path: string; tree: string; iterations: number; branches?: string[] }[] = [
  ...readdirSync(sharedTestData)
    .filter((f) => f.endsWith('.root'))
    .sort()
    .map((f) => ({
      path: path.join(sharedTestData, f),
      tree: f.startsWith('delphes') ? 'Delphes' : 'events',
      iterations: ITERATIONS,
    })),
  {
    path: path.join(sharedTestData, '..', 'delphes', 'delphes-wjets.root'),
    tree: 'Delphes',
    iterations: Math.max(4, Math.round(ITERATIONS / 4)),
    branches: ['Jet_size', 'Jet.PT', 'Jet.Eta', 'Electron.PT', 'Muon.PT', 'MissingET.MET', 'EFlowTrack.PT'],
  },
];

/** Numeric branches our reader can interpret (strings have no count or sum). */
function numericBranches(tree: Awaited<ReturnType<RootFile['getTree']>>): string[] {
  return tree.branchNames().filter((n) => {
    try {
      return tree.interpretation(n).type !== 'string';
    } catch (e) {
      if (e instanceof UnsupportedRootFeatureError) return false;
      throw e;
    }
  });
}

const tally = { mutations: 0, detected: 0, identical: 0, changedUnchecked: 0 };

for (const [index, f] of FILES.entries()) {
  test(`fuzz: ${path.basename(f.path)}`, async (t) => {
    const store = new Storage();
    const source = await store.openRead(f.path);
    const bytes = await store.readAll(f.path);
    const file = await openRootFile(source);
    const branches = f.branches ?? numericBranches(await file.getTree(f.tree));
    const regions = await layout(file, f.tree, branches, bytes);
    await source.close();
    const planned = mutations(1000 + index, f.iterations, bytes.length, regions);
    const results = await runWorker({ path: f.path, treeName: f.tree, branches, mutations: planned });
    assert.equal(results.length, planned.length + 1, 'every mutation was read');
    const [reference, ...rest] = results;
    assert.equal(reference!.reader.kind, 'ok', `the unmutated file reads: ${JSON.stringify(reference!.reader)}`);
    assert.equal(reference!.summary.kind, 'ok', `the unmutated file summarizes: ${JSON.stringify(reference!.summary)}`);
    assert.ok(reference!.largestAllocation > 0, 'allocation tracking sees the reader');
    const bound = 8 * bytes.length + 32 * MiB;
    for (const [i, r] of rest.entries()) {
      const m = planned[i]!;
      const context = `${path.basename(f.path)}, ${m.label}`;
      assert.ok(
        r.largestAllocation <= bound,
        `${context}: allocated ${r.largestAllocation} bytes at once (bound ${bound})`,
      );
      for (const [which, o, ref] of [
        ['reader', r.reader, reference!.reader],
        ['ingest summary', r.summary, reference!.summary],
      ] as [string, Outcome, Outcome][]) {
        if (o.kind === 'error') {
          assert.ok(o.fileError, `${context}: ${which} failed with ${o.name} (not a RootFileError): ${o.message}`);
          assert.ok(
            o.message.includes(path.basename(f.path)),
            `${context}: ${which}'s error names the file: ${o.message}`,
          );
          continue;
        }
        const same = ref.kind === 'ok' && o.fingerprint === ref.fingerprint;
        assert.ok(!m.truncated, `${context}: ${which} read a truncated file as ok`);
        assert.ok(
          same || !m.checked,
          `${context}: ${which} read a checksum-violating payload as ok with changed values`,
        );
      }
      tally.mutations++;
      if (r.reader.kind === 'error') tally.detected++;
      else if (
        r.reader.kind === 'ok' &&
        reference!.reader.kind === 'ok' &&
        r.reader.fingerprint === reference!.reader.fingerprint
      )
        tally.identical++;
      else tally.changedUnchecked++;
    }
    t.diagnostic(
      `${planned.length} mutations of ${bytes.length} bytes, largest allocation ${Math.max(...rest.map((r) => r.largestAllocation))} bytes`,
    );
  });
}

test('fuzz: tally', (t) => {
  // Mutations no check can see (a flipped value in an uncompressed basket) read as changed values.
  t.diagnostic(
    `mutations ${tally.mutations}: detected ${tally.detected}, identical ${tally.identical}, changed without a checksum to catch it ${tally.changedUnchecked}`,
  );
  assert.ok(tally.detected > tally.mutations / 2, 'most mutations are detected');
});
