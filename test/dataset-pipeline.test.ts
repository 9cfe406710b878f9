/**
 * End to end through the domain code: generated per-class Delphes ROOT files → our ROOT
 * reader → prepareFeatures → feature Parquet parts → assembleDataset (one part given as
 * a RandomAccessSource) → train/test files that pyarrow reads.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { generateDelphesFile } from '../src/generator/file.js';
import { readDelphesEvents } from '../src/delphes/reader.js';
import { EVENT_CLASSES, labelOf } from '../src/physics/schema.js';
import { prepareFeatures, withEntries } from '../src/physics/prepare.js';
import { ParquetFeatureWriter } from '../src/parquet/writer.js';
import { assembleDataset } from '../src/dataset/assemble.js';
import type { RandomAccessSource } from '../src/storage/random-access.js';
import { localSource } from './helpers/testdata.js';

test('generated ROOT files → features → balanced dataset readable by pyarrow', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'hepflow-pipeline-'));
  try {
    const parts: (string | RandomAccessSource)[] = [];
    const selected: Record<string, number> = {};
    for (const cls of EVENT_CLASSES) {
      const root = join(dir, `${cls}.root`);
      await generateDelphesFile(root, { events: cls === 'qcd' ? 400 : 120, seed: 5, mix: { [cls]: 1 } });
      const src = await localSource(root);
      const pq = join(dir, `${cls}.parquet`);
      const out = await ParquetFeatureWriter.open(pq, { rowGroupSize: 50 });
      const cf = await prepareFeatures({
        events: withEntries(readDelphesEvents(src, { entriesPerChunk: 64 })),
        label: labelOf(cls),
        className: cls,
        sourceUri: root,
        out,
      });
      await out.close();
      await src.close();
      selected[cls] = cf.withIsolatedLepton;
      parts.push(cls === 'ttbar' ? await localSource(pq) : pq);
    }
    const smallest = Math.min(...Object.values(selected));
    assert.ok(smallest >= 20, `too few selected events: ${JSON.stringify(selected)}`);
    const ds = await assembleDataset({
      parts,
      outDir: join(dir, 'ds'),
      kind: 'full',
      seed: 3,
      rowGroupSize: 16,
      bucketRows: 25,
    });
    for (const p of parts) if (typeof p !== 'string') await p.close();
    assert.deepEqual(ds.metadata.available, selected);
    const nTest = Math.round(smallest * 0.2);
    assert.deepEqual(ds.metadata.counts.test, { qcd: nTest, ttbar: nTest, wjets: nTest });
    const py = execFileSync(
      resolve('.tools/venv/bin/python'),
      [
        '-c',
        `
import pyarrow.parquet as pq, json, sys
t = pq.read_table(sys.argv[1])
lab = t.column('label').to_pylist()
n = [len(x) for x in t.column('particles').to_pylist()]
print(json.dumps({"rows": t.num_rows, "per_label": [lab.count(i) for i in range(3)], "multiple_of_19": all(k % 19 == 0 and k > 0 for k in n)}))
`,
        ds.trainPath,
      ],
      { encoding: 'utf8' },
    );
    const train = JSON.parse(py);
    assert.deepEqual(train.per_label, [smallest - nTest, smallest - nTest, smallest - nTest]);
    assert.equal(train.multiple_of_19, true);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
