/**
 * The Keras 3 `.keras` export: the project venv's Keras (infra/requirements.txt) builds
 * the model from the portable model.json and saves it, so the file is Keras' own.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { projectRoot, toolsDir } from '../paths.js';

const run = promisify(execFile);

export const KERAS_EXPORT_SCRIPT = path.join(projectRoot, 'src', 'ml', 'python', 'keras_export.py');

/** The Python with Keras: HEPFLOW_PYTHON, else the project venv that the bootstrap fills. */
export function kerasPython(env: NodeJS.ProcessEnv = process.env): string {
  const python = env.HEPFLOW_PYTHON ?? path.join(toolsDir, 'venv', 'bin', 'python');
  if (!existsSync(python))
    throw new Error(`no Python with Keras at ${python}: run 'npm run setup' or set HEPFLOW_PYTHON`);
  return python;
}

/** The `.keras` file's bytes for a portable model.json + weights.bin. */
export async function kerasFile(
  portableModelJson: Uint8Array,
  weights: Uint8Array,
  where: string,
): Promise<Uint8Array> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'hepflow-keras-'));
  try {
    const [json, bin, out] = ['model.json', 'weights.bin', 'model.keras'].map((f) => path.join(dir, f)) as [
      string,
      string,
      string,
    ];
    await writeFile(json, portableModelJson);
    await writeFile(bin, weights);
    try {
      await run(kerasPython(), [KERAS_EXPORT_SCRIPT, json, bin, out], { maxBuffer: 1 << 24 });
    } catch (e) {
      const err = e as { stderr?: string; message: string };
      throw new Error(
        `${where}: Keras export failed: ${(err.stderr ?? '').trim().split('\n').slice(-3).join(' ') || err.message}`,
      );
    }
    return new Uint8Array(await readFile(out));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
