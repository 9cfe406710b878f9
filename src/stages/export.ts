/**
 * Model export: a model directory rewritten in forms other tools load (Keras' standard
 * GRU topology, model.keras), itself a model directory that score and serve accept.
 */
import { joinUri, type Storage } from '../storage/index.js';
import { kerasFile } from '../ml/keras-export.js';
import { readModelFiles } from '../ml/training/model-dir.js';
import { toStandardTopology } from '../ml/portable-topology.js';
import { InvalidInputError } from '../errors.js';

export interface ExportInput {
  /** A model directory written by training (or an earlier export). */
  readonly modelUri: string;
  readonly outputUri: string;
  /** Also write model.keras (needs the project venv's Keras). Default true. */
  readonly keras?: boolean;
}

export interface ExportResult {
  readonly outputUri: string;
  readonly files: readonly string[];
}

const utf8 = new TextEncoder();
const fromUtf8 = new TextDecoder();

/**
 * A model in forms others load: model.json + weights.bin with the GRU as Keras' standard
 * `GRU` layer, model.keras (Keras 3), and the scalers and metadata that say how to make
 * its inputs. The directory is itself a hepflow model directory (score and serve take it).
 */
export async function exportModel(store: Storage, input: ExportInput): Promise<ExportResult> {
  const m = await readModelFiles(store, input.modelUri);
  const where = joinUri(input.modelUri, 'model.json');
  let portable: Uint8Array;
  try {
    const json = JSON.parse(fromUtf8.decode(m.modelJson)) as { modelTopology: unknown };
    portable = utf8.encode(JSON.stringify({ ...json, modelTopology: toStandardTopology(json.modelTopology, where) }));
  } catch (e) {
    throw new InvalidInputError((e as Error).message, { cause: e });
  }
  const files: Record<string, Uint8Array> = {
    'model.json': portable,
    'weights.bin': m.weights,
    'scaler.json': utf8.encode(JSON.stringify(m.scaler)),
  };
  if (m.particleScaler !== undefined) files['particle-scaler.json'] = utf8.encode(JSON.stringify(m.particleScaler));
  if (input.keras ?? true) files['model.keras'] = await kerasFile(portable, m.weights, where);
  // metadata.json last: a model directory without it is incomplete to every reader.
  files['metadata.json'] = utf8.encode(JSON.stringify({ ...m.metadata, exportedFrom: input.modelUri }, null, 2));
  for (const [name, data] of Object.entries(files)) await store.write(joinUri(input.outputUri, name), data);
  return { outputUri: input.outputUri, files: Object.keys(files) };
}
