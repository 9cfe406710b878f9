import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Storage } from '../storage/index.js';
import { baseName } from '../storage/uri.js';
import { generateDelphesFile, labelsPathFor, type GenerateFileOptions, type GeneratedFile } from './file.js';

export interface PublishedFile extends Omit<GeneratedFile, 'path' | 'labelsPath'> {
  readonly uri: string;
  readonly labelsUri: string;
}

/**
 * Generates one Delphes ROOT file and its labels sidecar into object storage (or a
 * local directory). The ROOT writer patches headers at close, so the file is built in
 * a local temporary directory and then moved or uploaded; the sidecar goes last, so a file
 * with a sidecar is a complete file.
 */
export async function generateToStorage(
  store: Storage,
  uri: string,
  options: GenerateFileOptions,
): Promise<PublishedFile> {
  if (!uri.endsWith('.root')) throw new Error(`output ${uri} must end in .root`);
  const dir = await mkdtemp(path.join(os.tmpdir(), 'hepflow-gen-'));
  try {
    const { path: local, labelsPath, ...summary } = await generateDelphesFile(path.join(dir, baseName(uri)), options);
    const labelsUri = labelsPathFor(uri);
    await store.moveIn(uri, local);
    await store.moveIn(labelsUri, labelsPath);
    return { ...summary, uri, labelsUri };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
