/**
 * The model registry activity (src/registry): registers a run's models with their
 * lineage, idempotently (registering the same files again returns the same version).
 */
import { FEATURE_DEFINITION_VERSION } from '../src/physics/features.js';
import { toActivityFailure } from '../src/contract/errors.js';
import type { ActivityDeps } from './deps.js';
import { withHeartbeat } from './heartbeat.js';

export interface RegisterModelsInput {
  /** Default: HEPFLOW_REGISTRY_URI, else s3://<HEPFLOW_BUCKET>/registry, as the worker sees them. */
  readonly registryUri?: string;
  readonly datasetUri: string;
  /** Without registryUri or HEPFLOW_REGISTRY_URI, the registry is `registry/` in this URI's bucket (s3). */
  readonly workUri?: string;
  /** What the dataset's features were made from and with (samples, tree, options): its hash goes into the lineage. */
  readonly featuresConfig: Readonly<Record<string, unknown>>;
  readonly models: readonly {
    readonly name: string;
    readonly modelUri: string;
    readonly metrics: Record<string, unknown>;
  }[];
}

export const registryActivities = ({ storage, env }: ActivityDeps) => ({
  /** Registers each model with its lineage (src/registry); returns name, version and URI of each. */
  async registerModels(input: RegisterModelsInput): Promise<{ name: string; version: number; modelUri: string }[]> {
    const { defaultRegistryUri, ModelRegistry } = await import('../src/registry/registry.js');
    const registry = new ModelRegistry(storage, input.registryUri ?? defaultRegistryUri(env, input.workUri));
    try {
      return await withHeartbeat(async () => {
        const out = [];
        for (const m of input.models) {
          const e = await registry.register({
            ...m,
            datasetUri: input.datasetUri,
            featuresConfig: { featureVersion: FEATURE_DEFINITION_VERSION, ...input.featuresConfig },
          });
          out.push({ name: e.name, version: e.version, modelUri: e.modelUri });
        }
        return out;
      });
    } catch (e) {
      throw toActivityFailure(e);
    }
  },
});
