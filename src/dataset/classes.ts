import { storage as defaultStorage, ObjectNotFoundError, type Storage } from '../storage/index.js';
import { InvalidInputError } from '../errors.js';
import { datasetFiles } from '../contract/run-layout.js';
import type { DatasetMetadata } from './assemble.js';

/** The class names of a dataset, by label index, from its metadata.json. */
export async function datasetClasses(
  datasetUri: string,
  store: Storage = defaultStorage(),
): Promise<readonly string[]> {
  const uri = datasetFiles(datasetUri).metadata;
  const meta = await store.readJson<DatasetMetadata>(uri).catch((e) => {
    if (e instanceof ObjectNotFoundError)
      throw new InvalidInputError(`dataset ${datasetUri} has no metadata.json: not a complete hepflow dataset`);
    throw e;
  });
  const classes = meta.config?.classes;
  if (!Array.isArray(classes) || classes.length < 2)
    throw new InvalidInputError(`${uri}: no list of at least two classes in config.classes`);
  return classes;
}
