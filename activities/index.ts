// Every activity; workers pick their pool's share (see workers/activity-sets.ts).
export { listInputFiles, readListingBatch, inspectRootFile, writeBatchResult, writeManifest } from './ingest.js';
export { describeWorker } from './worker-info.js';
