/**
 * Child process of the benchmarks that measure a stage's peak RSS: one stage, exactly
 * as its activity runs it, alone in this process so the peak belongs to that stage only,
 * then one JSON line with its timings and peak RSS.
 *
 *   node dist/bench/lib/stage-rss.js feature-file <root-file or URI> <out.parquet>
 *       writeFeatureFile on one file, labelled as one class (bench/features.ts, bench/xrootd.ts)
 *   node dist/bench/lib/stage-rss.js generate '<{ uri, events, seed, mix }>'
 *       the generate activity's generateToStorage
 *   node dist/bench/lib/stage-rss.js features '<LocalFeaturesInput JSON>'
 *       the features stage's per-file function (prepareFilePart) over every file of the
 *       samples, and the run's manifest, as `hepflow features` writes them
 *   node dist/bench/lib/stage-rss.js dataset '<BuildDatasetInput JSON>'
 *       the buildDataset activity's function
 *   node dist/bench/lib/stage-rss.js train '<{ runId, datasetUri, outputUri, spec }>'
 *       the trainModel activity's trainRun (training in a worker thread of this process)
 *
 * Storage comes from the environment (HEPFLOW_S3_ENDPOINT and the AWS variables for s3://).
 * The JSON line's `storage` is what the stage moved through object storage (the storage
 * layer's meter, src/storage/io-meter.ts; local files are not counted).
 */
export interface StageRun {
  readonly seconds: number;
  readonly cpuSeconds: number;
  readonly startRssMiB: number;
  readonly maxRssMiB: number;
  readonly storage: StorageIo;
  readonly [k: string]: unknown;
}

/**
 * Runs `stage` in its own process, as the benchmarks that measure a stage alone do: `arg`
 * is the stage's JSON argument, or its arguments as they are (feature-file).
 */
export function runStage(env: NodeJS.ProcessEnv, stage: string, arg: unknown): Promise<StageRun> {
  return new Promise((ok, fail) => {
    execFile(
      process.execPath,
      [fileURLToPath(import.meta.url), stage, ...(Array.isArray(arg) ? arg.map(String) : [JSON.stringify(arg)])],
      { env, encoding: 'utf8', maxBuffer: 1 << 24 },
      (err, stdout, stderr) => {
        if (err) fail(new Error(`${stage} ${JSON.stringify(arg)} failed: ${err.message}\n${stderr.slice(-4000)}`));
        else ok(JSON.parse(stdout.trim().split('\n').at(-1)!) as StageRun);
      },
    );
  });
}
import { execFile } from 'node:child_process';
import { readFileSync, realpathSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { meterStorage, Storage, storage, type StorageIo } from '../../src/storage/index.js';
import { writeFeatureFile } from '../../src/stages/features.js';
import { runFeaturesLocally, type LocalFeaturesInput } from '../../src/stages/features-run.js';
import { buildDataset, type BuildDatasetInput } from '../../src/stages/dataset.js';
import { trainRun } from '../../src/stages/train.js';
import { resolveTrainSpec, type TrainSpec } from '../../src/stages/train-spec.js';
import { datasetClasses } from '../../src/dataset/classes.js';
import { generateToStorage } from '../../src/generator/publish.js';
import type { MixInput } from '../../src/generator/index.js';

/** Resident set now and its high-water mark, in MiB, as the kernel counts them for this process. */
export function rssMiB(): { rss: number; peak: number } {
  const status = readFileSync('/proc/self/status', 'utf8');
  const kib = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
  return { rss: kib('VmRSS') / 1024, peak: kib('VmHWM') / 1024 };
}

async function run(stage: string, args: string[]): Promise<Record<string, unknown>> {
  switch (stage) {
    case 'feature-file': {
      const [file, out] = args;
      if (!file || !out) throw new Error('usage: stage-rss feature-file <root-file> <out.parquet>');
      const store = new Storage();
      // A path, or a URI of any scheme the storage reads (bench/xrootd.ts: root://, http://).
      const info = await store.head(/^[a-z][a-z0-9+.-]*:\/\//.test(file) ? file : pathToFileURL(file).href);
      if (!info) throw new Error(`no such file: ${file}`);
      // Generated files carry a labels sidecar; the label does not change the work done.
      const { rows, cutFlow } = await writeFeatureFile(
        store,
        info,
        { labels: { from: 'class', className: 'wjets', label: 2 } },
        pathToFileURL(out).href,
      );
      return { events: cutFlow.read, rows, inputBytes: info.size };
    }
    case 'generate': {
      const o = JSON.parse(args[0]!) as { uri: string; events: number; seed: number; mix: MixInput };
      const r = await generateToStorage(storage(), o.uri, { events: o.events, seed: o.seed, mix: o.mix });
      return { events: r.events, bytes: r.fileBytes };
    }
    case 'features': {
      const r = await runFeaturesLocally(storage(), JSON.parse(args[0]!) as LocalFeaturesInput);
      const selected = r.perSample.reduce((s, p) => s + (p.counters.rows ?? 0), 0);
      return { manifestUri: r.manifestUri, rows: selected, problem: r.problem ?? null };
    }
    case 'dataset': {
      const r = await buildDataset(storage(), JSON.parse(args[0]!) as BuildDatasetInput);
      const sum = (c: Record<string, number>) => Object.values(c).reduce((s, n) => s + n, 0);
      return { parts: r.parts, train: sum(r.counts.train), test: sum(r.counts.test) };
    }
    case 'train': {
      const input = JSON.parse(args[0]!) as { runId: string; datasetUri: string; outputUri: string; spec: TrainSpec };
      const config = resolveTrainSpec(input.spec, await datasetClasses(input.datasetUri, storage()));
      const r = await trainRun({ ...input, config }, { store: storage() });
      return { samplesPerSecond: r.samplesPerSecond, epochs: r.epochsCompleted, backend: r.backend, ...r.metrics };
    }
    default:
      throw new Error(`unknown stage '${stage}' (feature-file, generate, features, dataset, train)`);
  }
}

// Only as the entry script: the benchmarks import runStage. (realpath: dist/ may be a link.)
if (import.meta.url === pathToFileURL(realpathSync(process.argv[1]!)).href) {
  const [stage, ...args] = process.argv.slice(2);
  const before = rssMiB();
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  const { result, io } = await meterStorage(() => run(stage ?? '', args));
  const seconds = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  console.log(
    JSON.stringify({
      ...result,
      seconds,
      cpuSeconds: (cpu.user + cpu.system) / 1e6,
      startRssMiB: before.rss,
      maxRssMiB: rssMiB().peak,
      storage: io,
    }),
  );
}
