/**
 * Samples: a run's input as the physicist lays it out, one or more prefixes or files per
 * physics process. The order of the classes the samples name fixes the label indices,
 * which the dataset, the models, the evaluation and the report then carry. Sandbox-safe
 * (no Node imports): workflows resolve samples too.
 */
import { array, boolean, InputSchemaError, inputUri, object, optional, string, type Check } from './validate.js';

/**
 * The physics classes of the reference paper, in its label order: the generator's classes,
 * the classes of a sidecar sample, the default classes of a dataset and a training run,
 * and the classes the report compares with the paper's AUCs.
 */
export const EVENT_CLASSES = ['qcd', 'ttbar', 'wjets'] as const;
export type EventClass = (typeof EVENT_CLASSES)[number];

export interface SampleInput {
  /** Names the sample in the cut flow and the report; its class unless `label` says otherwise. */
  readonly name: string;
  /** A prefix (a directory: ends with /) or one ROOT file. */
  readonly uri?: string | undefined;
  readonly uris?: readonly string[] | undefined;
  /** The class of the sample's events (default: its name); samples may share a class. */
  readonly label?: string | undefined;
  /**
   * The files carry the generator's `<name>.labels.json` sidecar (mixed classes: the
   * paper's preset qcd, ttbar, wjets) instead of being one class.
   */
  readonly sidecar?: boolean | undefined;
}

/** How one file's events get their labels. */
export type LabelSource =
  /** Every event of the file is of one class. */
  | { readonly from: 'class'; readonly className: string; readonly label: number }
  /** The generator's sidecar beside the file, its class names mapped onto the run's classes. */
  | { readonly from: 'sidecar'; readonly classes: readonly string[] };

export interface ResolvedSample {
  readonly name: string;
  readonly uris: readonly string[];
  readonly labels: LabelSource;
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9_.+-]*$/;
const name = string({ pattern: NAME, what: 'a name of letters, digits, _ . + - (starting with a letter or digit)' });

export const sampleSchema: Check<SampleInput> = object(
  {
    name,
    uri: optional(inputUri),
    uris: optional(array(inputUri, { min: 1 })),
    label: optional(name),
    sidecar: optional(boolean),
  },
  'a sample { name, uri | uris, label?, sidecar? }',
);

export const samplesSchema: Check<SampleInput[]> = array(sampleSchema, { min: 1 });

/**
 * Checks what the schema cannot (one of uri/uris, unique names, at least `minClasses`
 * classes) and gives each sample its label source. `key` names the samples in errors.
 * A classifier needs two classes; the features of one sample (a physicist's look at a
 * file) need one, and the dataset stage refuses a features run of fewer than two.
 */
export function resolveSamples(
  samples: readonly SampleInput[],
  key = 'samples',
  minClasses: 1 | 2 = 2,
): { samples: ResolvedSample[]; classes: string[] } {
  const classes: string[] = [];
  const seen = new Set<string>();
  samples.forEach((s, i) => {
    const k = `${key}[${i}]`;
    if (seen.has(s.name)) throw new InputSchemaError(`${k}.name`, 'a name no other sample has', s.name);
    seen.add(s.name);
    if ((s.uri === undefined) === (s.uris === undefined))
      throw new InputSchemaError(k, 'exactly one of uri or uris', s);
    if (s.sidecar && s.label !== undefined)
      throw new InputSchemaError(`${k}.label`, 'no label on a sidecar sample (its files label their events)', s.label);
    for (const c of s.sidecar ? EVENT_CLASSES : [s.label ?? s.name]) if (!classes.includes(c)) classes.push(c);
  });
  if (classes.length < minClasses)
    throw new InputSchemaError(key, minClasses === 2 ? 'samples of at least two classes' : 'a sample', classes);
  return {
    classes,
    samples: samples.map((s) => ({
      name: s.name,
      uris: s.uris ?? [s.uri!],
      labels: s.sidecar
        ? { from: 'sidecar', classes }
        : { from: 'class', className: s.label ?? s.name, label: classes.indexOf(s.label ?? s.name) },
    })),
  };
}

/** Per-sample outcome of the features stage, as the fan-out tallies it: what happened to one sample's files. */
export interface SampleOutcome {
  readonly ok: number;
  readonly failed: number;
  /** Summed counters of the sample's files. */
  readonly counters: Readonly<Record<string, number>>;
  /** Failure message (with the file's URI taken out) → how many files, and the first few. */
  readonly causes: Readonly<Record<string, { readonly count: number; readonly files: readonly string[] }>>;
}

export interface OutcomeProblem {
  /** The failure type workflows raise (non-retryable). */
  readonly type: 'SampleFailed' | 'EmptyClass' | 'FilesFailed';
  readonly message: string;
}

function causesOf(name: string, t: SampleOutcome): string {
  const causes = Object.entries(t.causes)
    .sort(([, a], [, b]) => b.count - a.count)
    .map(([cause, c]) => `${c.count}× ${cause} (${c.files.join(', ')}${c.count > c.files.length ? ', …' : ''})`);
  return `sample '${name}': ${t.failed} of ${t.ok + t.failed} files failed: ${causes.join('; ')}`;
}

/**
 * Whether a features run can go on to a dataset: every sample must have read files,
 * every class selected events, and every file must have succeeded unless the run
 * allows failed files (a policy the manifest and the report record). Checked at the
 * features stage so that the cause is stated there, not as an empty dataset later.
 */
export function featureOutcomeProblem(
  samples: readonly ResolvedSample[],
  classes: readonly string[],
  tallies: readonly (SampleOutcome | undefined)[],
  allowFailedFiles: boolean,
): OutcomeProblem | undefined {
  const tally = (i: number): SampleOutcome => tallies[i] ?? { ok: 0, failed: 0, counters: {}, causes: {} };
  const dead = samples.map((s, i) => ({ s, t: tally(i) })).filter(({ t }) => t.ok === 0);
  if (dead.length > 0) {
    return {
      type: 'SampleFailed',
      message: `no file of ${dead.map(({ s }) => `'${s.name}'`).join(', ')} could be read: ${dead.map(({ s, t }) => causesOf(s.name, t)).join(' | ')}`,
    };
  }
  const rows = (c: string) => samples.reduce((n, _, i) => n + (tally(i).counters[`class:${c}`] ?? 0), 0);
  const empty = classes.filter((c) => rows(c) === 0);
  if (empty.length > 0) {
    const flows = samples.map(
      (s, i) =>
        `'${s.name}' read ${tally(i).counters.read ?? 0} events in ${tally(i).ok} files, selected ${tally(i).counters.rows ?? 0}`,
    );
    return {
      type: 'EmptyClass',
      message: `no selected events of class ${empty.map((c) => `'${c}'`).join(', ')}: ${flows.join('; ')}`,
    };
  }
  const failed = samples.map((s, i) => ({ s, t: tally(i) })).filter(({ t }) => t.failed > 0);
  if (failed.length > 0 && !allowFailedFiles) {
    const n = failed.reduce((a, { t }) => a + t.failed, 0);
    return {
      type: 'FilesFailed',
      message: `${n} input files failed and allowFailedFiles is not set: ${failed.map(({ s, t }) => causesOf(s.name, t)).join(' | ')}`,
    };
  }
  return undefined;
}
