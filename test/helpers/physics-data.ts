/**
 * A small training dataset of generated physics events, built through the real
 * pipeline code: the event generator → selection, HLF and particle sequence
 * (prepareFeatures) → one feature Parquet part per class → balanced train/test assembly
 * with its HLF and particle scalers. Used by the end-to-end ML test and the AUC bench;
 * it skips only the ROOT file round trip, which the dataset-pipeline test covers.
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { eventStream } from '../../src/generator/index.js';
import { EVENT_CLASSES, labelOf, type EventClass, type FeatureRow } from '../../src/physics/schema.js';
import { prepareFeatures, type EventWithEntry } from '../../src/physics/prepare.js';
import type { CutFlow } from '../../src/physics/features.js';
import { ParquetFeatureWriter } from '../../src/parquet/writer.js';
import { assembleDataset, type DatasetResult } from '../../src/dataset/assemble.js';

export interface PhysicsDatasetOptions {
  /** Directory for the parts (<dir>/parts/) and the dataset (<dir>/dataset/). */
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

export async function buildPhysicsDataset(o: PhysicsDatasetOptions): Promise<PhysicsDataset> {
  if (!Number.isInteger(o.selectedPerClass) || o.selectedPerClass < 1) {
    throw new Error(`selectedPerClass must be a positive integer, got ${o.selectedPerClass}`);
  }
  const partsDir = join(o.dir, 'parts');
  await mkdir(partsDir, { recursive: true });
  const parts: string[] = [];
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
    parts.push(path);
    o.onProgress?.(`${cls}: ${flow.withIsolatedLepton} of ${generated[cls]} generated events selected`);
  }
  const ds = await assembleDataset({
    parts,
    outDir: join(o.dir, 'dataset'),
    kind: 'full',
    seed: o.seed ?? 1,
    testFraction: o.testFraction ?? 0.2,
    ...(o.rowGroupSize !== undefined ? { rowGroupSize: o.rowGroupSize } : {}),
  });
  return { ...ds, dir: o.dir, selected, generated };
}
