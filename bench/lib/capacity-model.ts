/**
 * The capacity model: the seed's workload (CERN's pipeline, /work/shared/reference/cern-pipeline.md)
 * projected onto a cluster of N cores from rates measured on one host (bench/capacity.ts).
 * Each stage's time is the largest of three demands, each divided by what serves it:
 *
 * - worker CPU: the stage's work over (cores × the measured per-core rate); a stage that
 *   runs as one activity (the dataset build) gets one core whatever N is;
 * - Temporal: the stage's activities over the activities/s the Temporal service sustains;
 * - S3: the stage's bytes (read + written, from the storage meter) over the store's bandwidth.
 *
 * The largest names the stage's bottleneck. Nothing here is measured: the numbers come in.
 */

export interface Workload {
  /** Events of ROOT input read by the feature stage. */
  readonly events: number;
  readonly inputFiles: number;
  /** Rows of the dataset the stage builds (train + test). */
  readonly datasetRows: number;
  readonly trainRows: number;
  readonly epochs: number;
}

/** The seed: 54.5M events in ~10 TB of ROOT, 3,426,083 train + 856,090 test rows, the inclusive model for 6 epochs. */
export const SEED_WORKLOAD: Workload = {
  events: 54_500_000,
  // Not in the reference: 10 TB in files of 100 MB (the size of the 100,000-file Temporal run).
  inputFiles: 100_000,
  datasetRows: 3_426_083 + 856_090,
  trainRows: 3_426_083,
  epochs: 6,
};

export interface StageRates {
  /** Work units (events, rows, samples) per second per core. */
  readonly perCore: number;
  /** The stage is one activity: it gets one core however many the cluster has. */
  readonly oneActivity?: boolean;
  /** Storage bytes read + written per work unit. */
  readonly bytesPerUnit: number;
  /** Bytes per row moved once per stage run whatever its units (training reads its dataset once, not per epoch). */
  readonly bytesOncePerRow?: number;
}

export interface MeasuredRates {
  readonly features: StageRates;
  readonly dataset: StageRates;
  /** Per core of a training host: the host's samples/s over its cores (data-parallel across hosts). */
  readonly training: StageRates;
  readonly temporal: {
    /** Activities per second the Temporal service completes. */
    readonly activitiesPerSecond: number;
    /** Activities of a fan-out per input file (the file's own, plus each batch's listing read and result write). */
    readonly activitiesPerFile: number;
  };
  /** Bytes per second the object store serves (reads + writes together). */
  readonly s3BytesPerSecond: number;
}

export type Bottleneck = 'worker CPU' | 'Temporal activities/s' | 'S3 bandwidth';
export type StageName = 'features' | 'dataset' | 'training';

export interface StageProjection {
  readonly stage: StageName;
  readonly units: number;
  readonly activities: number;
  readonly bytes: number;
  readonly seconds: number;
  readonly bottleneck: Bottleneck;
  /** The stage runs as one activity (its CPU demand is one core's). */
  readonly oneActivity: boolean;
  /** Seconds each resource alone would need. */
  readonly demand: Readonly<Record<Bottleneck, number>>;
}

export interface Projection {
  readonly cores: number;
  readonly stages: readonly StageProjection[];
  readonly seconds: number;
  /** The bottleneck of the stage that takes longest, and that stage. */
  readonly bottleneck: Bottleneck;
  readonly longest: StageName;
}

function stage(
  name: StageName,
  units: number,
  rows: number,
  activities: number,
  r: StageRates,
  m: MeasuredRates,
  cores: number,
): StageProjection {
  const bytes = units * r.bytesPerUnit + rows * (r.bytesOncePerRow ?? 0);
  const demand: Record<Bottleneck, number> = {
    'worker CPU': units / (r.perCore * (r.oneActivity ? 1 : cores)),
    'Temporal activities/s': activities / m.temporal.activitiesPerSecond,
    'S3 bandwidth': bytes / m.s3BytesPerSecond,
  };
  const [bottleneck, seconds] = (Object.entries(demand) as [Bottleneck, number][]).reduce((a, b) =>
    b[1] > a[1] ? b : a,
  );
  return { stage: name, units, activities, bytes, seconds, bottleneck, oneActivity: r.oneActivity ?? false, demand };
}

export function project(w: Workload, m: MeasuredRates, cores: number): Projection {
  if (!(cores >= 1)) throw new Error(`cores must be >= 1, got ${cores}`);
  for (const [k, v] of Object.entries({
    features: m.features.perCore,
    dataset: m.dataset.perCore,
    training: m.training.perCore,
    temporal: m.temporal.activitiesPerSecond,
    activitiesPerFile: m.temporal.activitiesPerFile,
    s3: m.s3BytesPerSecond,
  }))
    if (!(v > 0)) throw new Error(`measured rate ${k} must be > 0, got ${v}`);
  const stages = [
    stage('features', w.events, w.events, w.inputFiles * m.temporal.activitiesPerFile, m.features, m, cores),
    stage('dataset', w.datasetRows, w.datasetRows, 1, m.dataset, m, cores),
    stage('training', w.trainRows * w.epochs, w.trainRows, w.epochs, m.training, m, cores),
  ];
  const longest = stages.reduce((a, b) => (b.seconds > a.seconds ? b : a));
  return {
    cores,
    stages,
    seconds: stages.reduce((s, x) => s + x.seconds, 0),
    bottleneck: longest.bottleneck,
    longest: longest.stage,
  };
}
