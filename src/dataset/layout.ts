import { joinUri } from '../storage/uri.js';

/** Where a dataset's files live under its URI (the names assembleDataset writes). */
export function datasetFiles(datasetUri: string) {
  return {
    train: joinUri(datasetUri, 'train.parquet'),
    test: joinUri(datasetUri, 'test.parquet'),
    scaler: joinUri(datasetUri, 'scaler.json'),
    particleScaler: joinUri(datasetUri, 'particle-scaler.json'),
    metadata: joinUri(datasetUri, 'metadata.json'),
  };
}
