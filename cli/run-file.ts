import { readFile } from 'node:fs/promises';
import { InputSchemaError, type Check } from '../src/contract/validate.js';
import { UsageError } from './args.js';

/** A run file (JSON): an object of a workflow's input keys. */
export async function readRunFile(path: string): Promise<Record<string, unknown>> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    throw new UsageError(`--config: cannot read ${path}: ${(e as Error).message}`);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw new UsageError(`--config: ${path} is not valid JSON: ${(e as Error).message}`);
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value))
    throw new UsageError(`--config: ${path} must hold a JSON object`);
  return value as Record<string, unknown>;
}

/** Checks an input at the edge with the workflow's own schema; a mismatch is a usage error naming the key. */
export function checkAtEdge<T>(schema: Check<unknown>, input: T, key: string): T {
  try {
    schema(input, key);
    return input;
  } catch (e) {
    if (e instanceof InputSchemaError) throw new UsageError(e.message);
    throw e;
  }
}
