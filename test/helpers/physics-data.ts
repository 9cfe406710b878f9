/**
 * A small training dataset of generated physics events, built through the real
 * pipeline code: the event generator → selection, HLF and particle sequence
 * (prepareFeatures) → one feature Parquet part per class → balanced train/test assembly
 * with its HLF and particle scalers. Used by the end-to-end ML test and the AUC bench;
 * it skips only the ROOT file round trip, which the dataset-pipeline test covers.
 *
 * Generating and selecting the events is most of the time (half a minute for 1200
 * selected per class), and several test files ask for the same events: the parts are
 * kept under the system's temporary directory, keyed by the options and by a hash of the
 * code that makes them (generator, physics, Parquet writer, native addons, this file),
 * so a cached part is always the one this build would write.
 */
import { createHash, randomUUID } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { projectRoot } from '../../src/paths.js';
import { eventStream } from '../../src/generator/index.js';
import { EVENT_CLASSES, labelOf, type EventClass, type FeatureRow } from '../../src/physics/schema.js';
import { prepareFeatures, type EventWithEntry } from '../../src/physics/prepare.js';
import type { CutFlow } from '../../src/physics/features.js';
import { ParquetFeatureWriter } from '../../src/parquet/writer.js';
import { assembleDataset, type DatasetResult } from '../../src/dataset/assemble.js';

export interface PhysicsDatasetOptions {
  /** Directory for the dataset (<dir>/dataset/); the parts are cached elsewhere (see above). */
  readonly dir: string;
  /**
   * Selected events wanted per class. Each class is generated on its own until this many
   * of its events pass the selection (which keeps ~10% of QCD but ~85% of tt̄ and W+jets
   * events), so the classes come out balanced; assembly trims the last chunk's excess.
   */
  readonly selectedPerClass: number;
  readonly seed?: number;
  readonly testFraction?: number;
  /** Rows per Parquet row group of train/test (assembly default 1000); distributed training shards by row group. */
  readonly rowGroupSize?: number;
  /** Mean pile-up vertices (generator default 30). */
  readonly pileup?: number;
  readonly onProgress?: (message: string) => void;
}

export interface PhysicsDataset extends DatasetResult {
  readonly dir: string;
  /** Selected events (isolated lepton) per class, before balancing. */
  readonly selected: Readonly<Record<EventClass, number>>;
  /** Events generated per class. */
  readonly generated: Readonly<Record<EventClass, number>>;
}

/** No class selects fewer than ~1 event in 20; beyond this the generator is broken. */
const MAX_EVENTS_PER_SELECTED = 50;

/** Chunks of one class's events until `done()` says enough were selected. */
async function* chunks(
  cls: EventClass,
  o: PhysicsDatasetOptions,
  done: () => boolean,
  generated: (n: number) => void,
  size = 256,
): AsyncGenerator<EventWithEntry[]> {
  const limit = o.selectedPerClass * MAX_EVENTS_PER_SELECTED;
  const stream = eventStream({
    events: limit,
    seed: o.seed ?? 1,
    mix: { [cls]: 1 },
    ...(o.pileup !== undefined ? { pileup: o.pileup } : {}),
  });
  let cur: EventWithEntry[] = [];
  let n = 0;
  for (const g of stream) {
    cur.push({ event: g.event, entry: g.index });
    if (cur.length === size) {
      n += cur.length;
      generated(n);
      yield cur;
      cur = [];
      if (done()) return;
    }
  }
  if (cur.length > 0) {
    generated(n + cur.length);
    yield cur;
  }
  if (!done())
    throw new Error(`${cls}: fewer than ${o.selectedPerClass} of ${limit} generated events passed the selection`);
}

/** Every file under `dir`, depth first, in name order. */
function filesUnder(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .sort()
    .flatMap((name) => {
      const p = join(dir, name);
      return statSync(p).isDirectory() ? filesUnder(p) : [p];
    });
}

let codeHash: string | undefined;
/** A hash of the compiled code and native addons that make the parts, by their paths in the build. */
function partsCodeHash(): string {
  if (codeHash) return codeHash;
  const build = fileURLToPath(new URL('../../', import.meta.url));
  const compiled = [
    fileURLToPath(import.meta.url),
    ...['src/generator', 'src/physics', 'src/parquet', 'src/delphes'].flatMap((d) =>
      filesUnder(join(build, d)).filter((p) => p.endsWith('.js')),
    ),
  ];
  const addons = filesUnder(join(projectRoot, 'native')).filter((p) => p.endsWith('.node'));
  const h = createHash('sha256');
  for (const [root, files] of [
    [build, compiled],
    [projectRoot, addons],
  ] as const)
    for (const f of files) h.update(relative(root, f)).update(readFileSync(f));
  codeHash = h.digest('hex').slice(0, 16);
  return codeHash;
}

interface Parts {
  readonly paths: string[];
  readonly selected: Record<EventClass, number>;
  readonly generated: Record<EventClass, number>;
}

/** One feature Parquet part per class, written to `partsDir`. */
async function buildParts(o: PhysicsDatasetOptions, partsDir: string): Promise<Parts> {
  await mkdir(partsDir, { recursive: true });
  const paths: string[] = [];
  const selected = {} as Record<EventClass, number>;
  const generated = {} as Record<EventClass, number>;
  for (const cls of EVENT_CLASSES) {
    const path = join(partsDir, `${cls}.parquet`);
    const writer = await ParquetFeatureWriter.open(path, { rowGroupSize: 500 });
    let rows = 0;
    const out = {
      write: (row: FeatureRow) => {
        rows++;
        return writer.write(row);
      },
    };
    let flow: CutFlow;
    try {
      const events = chunks(
        cls,
        o,
        () => rows >= o.selectedPerClass,
        (n) => {
          generated[cls] = n;
        },
      );
      flow = await prepareFeatures({
        events,
        label: labelOf(cls),
        className: cls,
        sourceUri: `generated:${cls}:seed${o.seed ?? 1}`,
        out,
      });
    } catch (e) {
      // A part cut short must not look like a complete Parquet file.
      await writer.abort(e as Error);
      throw e;
    }
    await writer.close();
    selected[cls] = flow.withIsolatedLepton;
    paths.push(path);
    o.onProgress?.(`${cls}: ${flow.withIsolatedLepton} of ${generated[cls]} generated events selected`);
  }
  return { paths, selected, generated };
}

/** The parts from the cache, built into it first if they are not there. */
async function cachedParts(o: PhysicsDatasetOptions): Promise<Parts> {
  const key = `${partsCodeHash()}-${o.selectedPerClass}-seed${o.seed ?? 1}-pileup${o.pileup ?? 'default'}`;
  const dir = join(tmpdir(), 'hepflow-physics-parts', key);
  const summary = join(dir, 'parts.json');
  if (!existsSync(summary)) {
    // Built aside and renamed into place whole: test processes may build the same key at once.
    const building = `${dir}.${randomUUID()}`;
    const parts = await buildParts(o, building);
    await writeFile(
      join(building, 'parts.json'),
      JSON.stringify({ selected: parts.selected, generated: parts.generated }),
    );
    await rename(building, dir).catch(() => rm(building, { recursive: true, force: true }));
  } else o.onProgress?.(`parts from ${dir}`);
  const { selected, generated } = JSON.parse(await readFile(summary, 'utf8')) as Omit<Parts, 'paths'>;
  return { paths: EVENT_CLASSES.map((cls) => join(dir, `${cls}.parquet`)), selected, generated };
}

export async function buildPhysicsDataset(o: PhysicsDatasetOptions): Promise<PhysicsDataset> {
  if (!Number.isInteger(o.selectedPerClass) || o.selectedPerClass < 1) {
    throw new Error(`selectedPerClass must be a positive integer, got ${o.selectedPerClass}`);
  }
  const parts = await cachedParts(o);
  const ds = await assembleDataset({
    parts: parts.paths,
    outDir: join(o.dir, 'dataset'),
    kind: 'full',
    seed: o.seed ?? 1,
    testFraction: o.testFraction ?? 0.2,
    ...(o.rowGroupSize !== undefined ? { rowGroupSize: o.rowGroupSize } : {}),
  });
  return { ...ds, dir: o.dir, selected: parts.selected, generated: parts.generated };
}
