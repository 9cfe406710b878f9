import { existsSync } from 'node:fs';
import path from 'node:path';
import { projectRoot } from '../../src/paths.js';
import { FileStore } from '../../src/storage/file-store.js';
import type { RandomAccessSource } from '../../src/storage/random-access.js';

/** Shared ROOT test files, beside the checkout (never copied into it). */
export const sharedTestData = path.resolve(projectRoot, '..', 'shared', 'testdata', 'root');

/** A shared ROOT test file (../shared/testdata/root), never copied into the project. */
export function sharedFile(name: string): string {
  const p = path.join(sharedTestData, name);
  if (!existsSync(p)) throw new Error(`shared test file missing: ${p} (the checkout must sit beside ../shared)`);
  return p;
}

/** Reference values from ../shared/testdata/README.md. */
export const HZZ = {
  entries: 2421,
  nMuonSum: 3825,
  firstMuonPx: [-52.89945602416992, 37.7377815246582],
  firstMetPx: 5.912771224975586,
  metPxSum: 577.72990359,
  jetPxCount: 2773,
  jetPxSum: 3434.917912,
  files: [
    'uproot-HZZ.root',
    'uproot-HZZ-zlib.root',
    'uproot-HZZ-lz4.root',
    'uproot-HZZ-zstd.root',
    'uproot-HZZ-lzma.root',
    'uproot-HZZ-uncompressed.root',
  ],
} as const;

export const ZMUMU = {
  file: 'uproot-Zmumu-zstd.root',
  entries: 2304,
  firstPx1: -41.1952876442,
  firstM: 82.4626915551,
} as const;

export const DELPHES = {
  file: 'delphes-uproot-issue513.root',
  entries: 10,
  jetSizeSum: 60,
  firstJetPt: [68.99266052246094, 65.33150482177734, 52.26370620727539],
  eflowTrackPt: 818,
  eflowPhotonEt: 520,
  eflowNeutralHadronEt: 760,
} as const;

/**
 * The real Pythia8 + Delphes samples, one file per process (../shared/testdata/delphes),
 * with the cut flow of the isolated-lepton filter from ../shared/testdata/README.md.
 */
export const REAL_DELPHES = {
  qcd: { file: 'delphes-qcd.root', entries: 250, selected: 31 },
  ttbar: { file: 'delphes-ttbar.root', entries: 200, selected: 121 },
  wjets: { file: 'delphes-wjets.root', entries: 200, selected: 155 },
  'qcd-pu20': { file: 'delphes-pu20-qcd.root', entries: 100, selected: 6 },
  'ttbar-pu20': { file: 'delphes-pu20-ttbar.root', entries: 100, selected: 66 },
  'wjets-pu20': { file: 'delphes-pu20-wjets.root', entries: 100, selected: 79 },
} as const;

export function sharedDelphesFile(name: string): string {
  return sharedFile(path.join('..', 'delphes', name));
}

/** A local file as the readers take it: the file store's ranged reads. */
export const localSource = (file: string): Promise<RandomAccessSource> => new FileStore().openRead(path.resolve(file));
