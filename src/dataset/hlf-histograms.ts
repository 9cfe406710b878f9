import type { Storage } from '../storage/index.js';
import { readFeatureBatches } from '../parquet/reader.js';
import { datasetFiles } from './layout.js';
import { HLF_NAMES, N_HLF, type HlfScaler } from './schema.js';

/** Counts, not values: the only feature-level facts that fit a report at any dataset size. */
export interface HlfHistograms {
  readonly classes: readonly string[];
  /** Rows histogrammed per class (train and test together). */
  readonly rows: readonly number[];
  readonly features: readonly {
    readonly name: string;
    /** Lower edge of the first bin and upper edge of the last. */
    readonly lo: number;
    readonly hi: number;
    /** Bins centred on integers (counts and flags) rather than spanning the range evenly. */
    readonly integer: boolean;
    /** counts[class][bin]; values outside [lo, hi] go to the first or last bin. */
    readonly counts: readonly (readonly number[])[];
  }[];
}

const INTEGER_FEATURES = new Set<string>(['nJets', 'nBjets', 'LepCharge', 'LepIsEle']);
const MAX_INTEGER_BINS = 30;

/**
 * Per-class histograms of the 14 HLF over a dataset's train and test files, streamed one
 * row group at a time (memory bounded by the row-group size). The ranges are the train
 * split's min and max from the dataset's scaler.json, so one pass suffices.
 */
export async function hlfHistograms(store: Storage, datasetUri: string, classes: readonly string[], bins = 40): Promise<HlfHistograms> {
  const files = datasetFiles(datasetUri);
  const scaler = await store.readJson<HlfScaler>(files.scaler);
  if (scaler.features?.join() !== HLF_NAMES.join()) {
    throw new Error(`${files.scaler}: features ${JSON.stringify(scaler.features)} are not the 14 HLF in order`);
  }
  const layout = HLF_NAMES.map((name, k) => {
    const min = scaler.min[k]!;
    const max = scaler.max[k]!;
    const integer = INTEGER_FEATURES.has(name) && max - min < MAX_INTEGER_BINS;
    return integer
      ? { name, lo: Math.round(min) - 0.5, hi: Math.round(max) + 0.5, integer, n: Math.round(max) - Math.round(min) + 1 }
      : { name, lo: min, hi: max > min ? max : min + 1, integer, n: bins };
  });
  const counts = layout.map((f) => classes.map(() => new Array<number>(f.n).fill(0)));
  const rows = classes.map(() => 0);
  for (const uri of [files.train, files.test]) {
    const source = await store.openRead(uri);
    try {
      for await (const b of readFeatureBatches(source)) {
        for (let i = 0; i < b.length; i++) {
          const c = b.label[i]!;
          if (!(c >= 0 && c < classes.length)) throw new Error(`${uri}: label ${c} is not one of the dataset's ${classes.length} classes`);
          rows[c]!++;
          for (let k = 0; k < N_HLF; k++) {
            const f = layout[k]!;
            const v = b.hlf[i * N_HLF + k]!;
            if (Number.isNaN(v)) throw new Error(`${uri}: ${f.name} is NaN in a row of class ${classes[c]}`);
            counts[k]![c]![Math.min(f.n - 1, Math.max(0, Math.floor(((v - f.lo) / (f.hi - f.lo)) * f.n)))]!++;
          }
        }
      }
    } finally {
      await source.close();
    }
  }
  return { classes, rows, features: layout.map((f, k) => ({ name: f.name, lo: f.lo, hi: f.hi, integer: f.integer, counts: counts[k]! })) };
}
