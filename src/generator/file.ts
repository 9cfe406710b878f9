/**
 * Generated events as a Delphes-layout ROOT file, plus the labels sidecar.
 *
 * The true class of each entry is not a Delphes branch and the ROOT writer
 * (src/root/writer) writes exactly the Delphes collections, so labels go to a small JSON
 * sidecar next to the file: `<name>.labels.json` for `<name>.root`. Files generated with
 * a pure mix (e.g. `{ ttbar: 1 }`) need no sidecar to be labelled — one class per file,
 * like the reference's samples — but get one anyway so every generated file is
 * self-describing.
 */
import { readFile, rename, rm, writeFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { EVENT_CLASSES, labelOf, type EventClass } from '../physics/schema.js';
import { FileSink, type CompressionSettings } from '../root/writer/index.js';
import { DelphesFileWriter } from '../delphes/writer.js';
import { DEFAULT_PILEUP, generateEvents, resolveMix, type GenerateOptions, type GenerationSummary } from './index.js';
import { TRIGGER_MIX, type ClassMix } from './mix.js';
import { withoutUndefined } from '../contract/defined.js';

export const LABELS_FORMAT = 'hepflow-generator-labels/1';

/** Contents of a `.labels.json` sidecar. */
export interface LabelsSidecar {
  readonly format: typeof LABELS_FORMAT;
  /** Base name of the ROOT file the labels belong to. */
  readonly file: string;
  readonly seed: number;
  readonly firstEvent: number;
  readonly events: number;
  readonly mix: ClassMix;
  readonly pileup: number;
  /** label → class name; label = index (0 QCD, 1 tt̄, 2 W+jets, as in the reference). */
  readonly classes: readonly EventClass[];
  readonly classCounts: Readonly<Record<EventClass, number>>;
  /** labels[i] is the label of tree entry i. */
  readonly labels: readonly number[];
}

/** The sidecar path for a ROOT file path: x.root → x.labels.json (else path + .labels.json). */
export function labelsPathFor(rootPath: string): string {
  return rootPath.endsWith('.root') ? `${rootPath.slice(0, -'.root'.length)}.labels.json` : `${rootPath}.labels.json`;
}

export interface GenerateFileOptions extends GenerateOptions {
  /** ROOT compression; default the writer's (zlib level 1). */
  readonly compression?: CompressionSettings;
  /** Called with the number of events written so far, every `progressEvery` events. */
  readonly onProgress?: (eventsDone: number) => void;
  readonly progressEvery?: number;
}

export interface GeneratedFile extends GenerationSummary {
  readonly path: string;
  readonly labelsPath: string;
  readonly fileBytes: number;
}

/**
 * Generates events [firstEvent, firstEvent + events) into a Delphes ROOT file at
 * `localPath` and writes its labels sidecar. Both files are written under temporary
 * names and renamed at the end, so a crash never leaves a truncated file under the
 * final name (a retried activity simply regenerates it).
 */
export async function generateDelphesFile(localPath: string, options: GenerateFileOptions): Promise<GeneratedFile> {
  const mix = options.mix === undefined ? TRIGGER_MIX : resolveMix(options.mix);
  const tmp = `${localPath}.partial`;
  const sink = await FileSink.create(tmp);
  const labels: number[] = [];
  let summary: GenerationSummary;
  let fileBytes: number;
  try {
    const writer = new DelphesFileWriter(sink, {
      fileName: basename(localPath),
      ...withoutUndefined({ compression: options.compression }),
    });
    summary = await generateEvents(
      { ...options, mix },
      {
        write: async (event, cls) => {
          labels.push(labelOf(cls));
          await writer.fill(event);
          if (options.onProgress && labels.length % (options.progressEvery ?? 1000) === 0)
            options.onProgress(labels.length);
        },
      },
    );
    fileBytes = (await writer.close()).fileBytes;
  } catch (err) {
    // The sink may already be closed (a failure inside close()); either way the partial
    // file is useless.
    await sink.close().catch(() => undefined);
    await rm(tmp, { force: true });
    throw err;
  }
  const sidecar: LabelsSidecar = {
    format: LABELS_FORMAT,
    file: basename(localPath),
    seed: options.seed ?? 0,
    firstEvent: summary.firstEvent,
    events: summary.events,
    mix,
    pileup: options.pileup ?? DEFAULT_PILEUP,
    classes: [...EVENT_CLASSES],
    classCounts: summary.classCounts,
    labels,
  };
  const labelsPath = labelsPathFor(localPath);
  await writeFile(`${labelsPath}.partial`, JSON.stringify(sidecar));
  await rename(tmp, localPath);
  await rename(`${labelsPath}.partial`, labelsPath);
  return { ...summary, path: localPath, labelsPath, fileBytes };
}

/** Reads and validates a labels sidecar; errors name the file and the problem. */
export async function readLabels(path: string): Promise<LabelsSidecar> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(await readFile(path, 'utf8'));
  } catch (err) {
    throw new Error(`${path}: cannot read labels sidecar: ${(err as Error).message}`);
  }
  const s = parsed as Partial<LabelsSidecar> | null;
  if (s === null || typeof s !== 'object' || s.format !== LABELS_FORMAT) {
    throw new Error(`${path}: not a labels sidecar (format must be "${LABELS_FORMAT}")`);
  }
  if (!Array.isArray(s.classes) || s.classes.join() !== EVENT_CLASSES.join()) {
    throw new Error(`${path}: classes must be [${EVENT_CLASSES.join(', ')}]`);
  }
  if (!Array.isArray(s.labels) || typeof s.events !== 'number' || s.labels.length !== s.events) {
    throw new Error(`${path}: labels must be an array of length events (${String(s.events)})`);
  }
  s.labels.forEach((l, i) => {
    if (!Number.isInteger(l) || l < 0 || l >= EVENT_CLASSES.length)
      throw new Error(`${path}: labels[${i}] = ${String(l)} is not a class label`);
  });
  return s as LabelsSidecar;
}
