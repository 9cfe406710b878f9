import type { Storage } from '../storage/index.js';
import { readHlfBatches } from '../parquet/reader.js';
import { datasetFiles } from '../contract/run-layout.js';
import { HLF_NAMES, N_HLF } from '../physics/schema.js';
import type { HlfScaler } from './scaler.js';

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
    /** counts[class][bin]; values below lo or above hi are counted in the first or last bin. */
    readonly counts: readonly (readonly number[])[];
  }[];
}

const INTEGER_FEATURES = new Set<string>(['nJets', 'nBjets', 'LepCharge', 'LepIsEle']);
const MAX_INTEGER_BINS = 30;
/** Fine bins over the full range, merged afterwards into the shown ones. */
const FINE_BINS = 2000;
/** The shown range leaves out this fraction of all events on each side (into the edge bins). */
const TAIL = 0.002;

/**
 * Per-class histograms of the 14 HLF over a dataset's train and test files, streamed one
 * row group at a time without the particles (memory bounded by the row-group size). The
 * ranges are the train split's min and max from the dataset's scaler.json, so one pass
 * suffices: it fills fine bins over that range, and the shown bins then cover all but the
 * outermost 0.2% on either side (long tails such as HT's would otherwise squeeze every
 * event into a few bins).
 */
export async function hlfHistograms(
  store: Storage,
  datasetUri: string,
  classes: readonly string[],
  bins = 40,
): Promise<HlfHistograms> {
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
      ? {
          name,
          lo: Math.round(min) - 0.5,
          hi: Math.round(max) + 0.5,
          integer,
          n: Math.round(max) - Math.round(min) + 1,
        }
      : { name, lo: min, hi: max > min ? max : min + 1, integer, n: FINE_BINS };
  });
  const counts = layout.map((f) => classes.map(() => new Array<number>(f.n).fill(0)));
  const rows = classes.map(() => 0);
  for (const uri of [files.train, files.test]) {
    const source = await store.openRead(uri);
    try {
      for await (const b of readHlfBatches(source)) {
        for (let i = 0; i < b.length; i++) {
          const c = b.label[i]!;
          if (!(c >= 0 && c < classes.length))
            throw new Error(`${uri}: label ${c} is not one of the dataset's ${classes.length} classes`);
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
  return {
    classes,
    rows,
    features: layout.map((f, k) =>
      f.integer
        ? { name: f.name, lo: f.lo, hi: f.hi, integer: true, counts: counts[k]! }
        : { name: f.name, integer: false, ...coarse(f.lo, f.hi, counts[k]!, bins) },
    ),
  };
}

/** Merges fine bins into at most `bins` over the range holding all but the tails; the tails go to the edge bins. */
function coarse(
  lo: number,
  hi: number,
  fine: readonly number[][],
  bins: number,
): { lo: number; hi: number; counts: number[][] } {
  const n = fine[0]!.length;
  const total = fine.map((c) => c.reduce((a, b) => a + b, 0)).reduce((a, b) => a + b, 0);
  const all = Array.from({ length: n }, (_, i) => fine.reduce((a, c) => a + c[i]!, 0));
  let first = 0;
  for (let below = 0; first < n - 1 && below + all[first]! <= TAIL * total; first++) below += all[first]!;
  let last = n - 1;
  for (let above = 0; last > first && above + all[last]! <= TAIL * total; last--) above += all[last]!;
  const group = Math.ceil((last - first + 1) / bins);
  const shown = Math.ceil((last - first + 1) / group);
  const width = (hi - lo) / n;
  return {
    lo: lo + first * width,
    hi: lo + (first + shown * group) * width,
    counts: fine.map((c) => {
      const out = new Array<number>(shown).fill(0);
      c.forEach((x, i) => {
        out[Math.min(shown - 1, Math.max(0, Math.floor((i - first) / group)))]! += x;
      });
      return out;
    }),
  };
}
