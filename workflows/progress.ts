/**
 * The `progress` query every long-running workflow answers (pipeline, generate, ingest,
 * features, score, file batch, grid search, distributed training), the `HepflowStage`
 * search attribute kept in step with it, and the UI's "current details" line. What the
 * answer holds: src/contract/progress.ts.
 */
import { defineQuery, setCurrentDetails, setHandler, upsertSearchAttributes, workflowInfo } from '@temporalio/workflow';
import type { SearchAttributeUpdatePair } from '@temporalio/common';
import { SEARCH_ATTRIBUTES } from '../src/contract/search-attributes.js';
import { describeProgress, type RunKind, type RunProgress } from '../src/contract/progress.js';

export const progressQuery = defineQuery<RunProgress>('progress');

export interface ProgressTracker {
  readonly get: () => RunProgress;
  /** A new stage: the query, the HepflowStage search attribute and the UI's details follow. */
  stage(name: string, patch?: Partial<RunProgress>): void;
  update(patch: Partial<RunProgress> | ((p: RunProgress) => Partial<RunProgress>)): void;
  /** Adds `id` to the children running while `run` runs. */
  child<T>(id: string, run: () => Promise<T>): Promise<T>;
}

/**
 * Registers the progress query of the calling workflow. `searchable` workflows (the ones
 * a person starts or lists: not file batches) also upsert HepflowStage at each stage.
 */
export function trackProgress(
  kind: RunKind,
  first: { stage: string; searchable: boolean } & Partial<RunProgress>,
): ProgressTracker {
  const { searchable, ...initial } = first;
  const info = workflowInfo();
  const now = () => new Date().toISOString();
  let state: RunProgress = {
    workflowId: info.workflowId,
    kind,
    stageStartedAt: now(),
    startedAt: new Date(info.startTime).toISOString(),
    children: [],
    ...initial,
  };
  const publish = () => setCurrentDetails(describeProgress(state, Date.now()));
  const upsertStage = () => {
    if (searchable) upsertSearchAttributes([{ key: SEARCH_ATTRIBUTES.stage, value: state.stage }]);
  };
  setHandler(progressQuery, () => state);
  upsertStage();
  publish();
  const tracker: ProgressTracker = {
    get: () => state,
    stage(name, patch = {}) {
      state = { ...state, ...patch, stage: name, stageStartedAt: now() };
      upsertStage();
      publish();
    },
    update(patch) {
      state = { ...state, ...(typeof patch === 'function' ? patch(state) : patch) };
      publish();
    },
    async child(id, run) {
      tracker.update((p) => ({ children: [...p.children, id] }));
      try {
        return await run();
      } finally {
        tracker.update((p) => ({ children: p.children.filter((c) => c !== id) }));
      }
    },
  };
  return tracker;
}

/** Sets search attributes other than the stage (samples, model, best AUC). */
export function upsertRunAttributes(a: { samples?: readonly string[]; model?: string; bestAuc?: number }): void {
  const pairs: SearchAttributeUpdatePair[] = [];
  if (a.samples) pairs.push({ key: SEARCH_ATTRIBUTES.samples, value: [...a.samples] });
  if (a.model !== undefined) pairs.push({ key: SEARCH_ATTRIBUTES.model, value: a.model });
  if (a.bestAuc !== undefined && Number.isFinite(a.bestAuc))
    pairs.push({ key: SEARCH_ATTRIBUTES.bestAuc, value: a.bestAuc });
  if (pairs.length > 0) upsertSearchAttributes(pairs);
}
