/**
 * hepflow's custom search attributes: what runs are filtered and shown as columns by
 * (web UI, `temporal workflow list --query`, `hepflow runs`). Pure definitions, imported
 * by workflow code. A workflow that upserts an attribute the server does not know fails
 * its workflow task, so every server hepflow runs on registers them first: `hepflow
 * stack up` and the tests' dev servers pass them at start (`--search-attribute`); other
 * clusters with `temporal operator search-attribute create` (README).
 */
import { defineSearchAttributeKey, SearchAttributeType, TypedSearchAttributes } from '@temporalio/common';

export const SEARCH_ATTRIBUTES = {
  /** What the run is doing now: listing, features, dataset, training, report, done, ... */
  stage: defineSearchAttributeKey('HepflowStage', SearchAttributeType.KEYWORD),
  /** The names of the samples read (one per input prefix for ingest). */
  samples: defineSearchAttributeKey('HepflowSamples', SearchAttributeType.KEYWORD_LIST),
  /** A grid search's model; a pipeline's model with the best test AUC once evaluated. */
  model: defineSearchAttributeKey('HepflowModel', SearchAttributeType.KEYWORD),
  /** Mean one-vs-rest AUC: on the test set for a pipeline, the best validation AUC so far for a grid search. */
  bestAuc: defineSearchAttributeKey('HepflowBestAuc', SearchAttributeType.DOUBLE),
} as const;

export const SEARCH_ATTRIBUTE_KEYS = Object.values(SEARCH_ATTRIBUTES);

/** The dev server's `--search-attribute Name=Type` arguments that register them all. */
export const devServerSearchAttributeArgs = (): string[] =>
  SEARCH_ATTRIBUTE_KEYS.flatMap((k) => [
    '--search-attribute',
    `${k.name}=${TypedSearchAttributes.toMetadataType(k.type)}`,
  ]);
