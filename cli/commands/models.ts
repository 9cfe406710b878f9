import { parseArgs } from 'node:util';
import { storage, normalizeUri } from '../../src/storage/index.js';
import { exportModel } from '../../src/stages/export.js';
import { UsageError } from '../args.js';

// Using a trained model: export (and, below, scoring, the registry and the service).

const EXPORT_USAGE = 'usage: hepflow export --model <model-uri> --out <uri> [--no-keras]';

export async function exportCommand(args: string[]): Promise<void> {
  const { values } = parseArgs({ args, options: { model: { type: 'string' }, out: { type: 'string' }, 'no-keras': { type: 'boolean' } } });
  if (!values.model || !values.out) throw new UsageError(EXPORT_USAGE);
  const r = await exportModel(storage(), {
    modelUri: normalizeUri(values.model), outputUri: normalizeUri(values.out), keras: !values['no-keras'],
  });
  console.log(`exported ${r.files.join(', ')} → ${r.outputUri}`);
}
