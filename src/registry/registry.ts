/**
 * A model registry in object storage. Each registered version is a copy of the model
 * directory (immutable, so a retrained model at the source URI does not change what a
 * name means) plus an entry with its lineage:
 *
 *   <registry>/models/<name>/<version>/model/...   the model files
 *   <registry>/models/<name>/<version>/entry.json  the entry, written last (its presence marks the version complete)
 *
 * Versions count up from 1 per name. Registering the same source model again returns
 * its existing version, so a retried activity registers nothing twice.
 */
import { joinUri, normalizeUri, ObjectNotFoundError, type Storage } from '../storage/index.js';
import { configHash, sha256 } from '../storage/content-address.js';
import { readModelFiles } from '../ml/training/model-dir.js';
import type { TrainConfig } from '../ml/training/config.js';
import type { ModelKind } from '../ml/models.js';
import { InvalidInputError } from '../errors.js';
import { codeVersion } from './code-version.js';

export interface RegistryEntry {
  readonly name: string;
  readonly version: number;
  readonly registeredAt: string;
  /** The registry's own copy: what scoring and serving load. */
  readonly modelUri: string;
  readonly source: { readonly modelUri: string; readonly key: string };
  readonly kind: ModelKind;
  readonly classNames: readonly string[];
  readonly dataset: {
    readonly uri: string;
    readonly configHash?: string;
    readonly trainEtag?: string;
    readonly testEtag?: string;
  } | null;
  /** Hash of the feature configuration (src/stages/features.ts featureConfig) the dataset was built with. */
  readonly featuresConfigHash: string | null;
  readonly codeVersion: string;
  /** The training configuration: model, optimiser, batch, epochs, split, padding, classes. */
  readonly hyperParameters: TrainConfig;
  readonly metrics: Readonly<Record<string, unknown>>;
}

export interface RegisterInput {
  readonly name: string;
  readonly modelUri: string;
  readonly datasetUri?: string;
  /** The feature configuration object whose hash is recorded. */
  readonly featuresConfig?: unknown;
  /** E.g. validation metrics and the test-set evaluation. */
  readonly metrics?: Readonly<Record<string, unknown>>;
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/;
const MODEL_FILES = [
  'model.json',
  'weights.bin',
  'scaler.json',
  'particle-scaler.json',
  'metadata.json',
  'validation-report.json',
];

/** Where the registry lives: HEPFLOW_REGISTRY_URI, else s3://<bucket>/registry, the bucket of `near` (a run's s3 work URI) or HEPFLOW_BUCKET. */
export function defaultRegistryUri(env: NodeJS.ProcessEnv = process.env, near?: string): string {
  // A run registers beside its own outputs unless told otherwise: its bucket is one the
  // run can write, where the default bucket may not even exist.
  const bucket = near?.match(/^s3:\/\/([^/]+)/)?.[1] ?? env.HEPFLOW_BUCKET ?? 'hepflow';
  return normalizeUri(env.HEPFLOW_REGISTRY_URI ?? `s3://${bucket}/registry`);
}

/** A URI (scheme or path) rather than a registry name (`name` or `name@version`). */
export function isModelUri(ref: string): boolean {
  return /^[a-z][a-z0-9+.-]*:\/\//i.test(ref) || ref.startsWith('/') || ref.startsWith('.');
}

export class ModelRegistry {
  constructor(
    private readonly store: Storage,
    readonly rootUri: string = defaultRegistryUri(),
  ) {}

  private versionUri(name: string, version: number): string {
    return joinUri(this.rootUri, 'models', name, `v${String(version).padStart(6, '0')}`);
  }

  async register(input: RegisterInput): Promise<RegistryEntry> {
    if (!NAME.test(input.name))
      throw new InvalidInputError(
        `registry: model name '${input.name}' must be letters, digits, '.', '_' or '-' (up to 100)`,
      );
    // Requests in parallel where they are independent: each is a round trip to the store.
    const [files, infos, versions] = await Promise.all([
      readModelFiles(this.store, input.modelUri),
      Promise.all(MODEL_FILES.map((f) => this.store.head(joinUri(input.modelUri, f)))),
      this.versions(input.name),
    ]);
    const etags: Record<string, string> = {};
    MODEL_FILES.forEach((f, i) => {
      const info = infos[i];
      if (info) etags[f] = info.etag;
    });
    const key = sha256(JSON.stringify({ uri: input.modelUri, etags })).slice(0, 24);
    const existing = (await Promise.all(versions.map((v) => this.get(input.name, v)))).find(
      (e) => e.source.key === key,
    );
    if (existing) return existing;
    const version = (versions.at(-1) ?? 0) + 1;
    const dir = this.versionUri(input.name, version);
    await Promise.all(
      Object.keys(etags).map(async (f) =>
        this.store.write(joinUri(dir, 'model', f), await this.store.readAll(joinUri(input.modelUri, f))),
      ),
    );
    const dataset = input.datasetUri === undefined ? null : await this.datasetIdentity(input.datasetUri);
    const { config } = files.metadata;
    const entry: RegistryEntry = {
      name: input.name,
      version,
      registeredAt: new Date().toISOString(),
      modelUri: joinUri(dir, 'model'),
      source: { modelUri: input.modelUri, key },
      kind: config.model.kind,
      classNames: config.classNames,
      dataset,
      featuresConfigHash: input.featuresConfig === undefined ? null : configHash(input.featuresConfig),
      codeVersion: codeVersion(),
      hyperParameters: config,
      metrics: input.metrics ?? {},
    };
    await this.store.writeJson(joinUri(dir, 'entry.json'), entry);
    return entry;
  }

  private async datasetIdentity(uri: string): Promise<NonNullable<RegistryEntry['dataset']>> {
    const meta = await this.store.readJson<{ configHash?: string }>(joinUri(uri, 'metadata.json')).catch((e) => {
      if (e instanceof ObjectNotFoundError) return undefined;
      throw e;
    });
    const [train, test] = await Promise.all([
      this.store.head(joinUri(uri, 'train.parquet')),
      this.store.head(joinUri(uri, 'test.parquet')),
    ]);
    return {
      uri,
      ...(meta?.configHash ? { configHash: meta.configHash } : {}),
      ...(train ? { trainEtag: train.etag } : {}),
      ...(test ? { testEtag: test.etag } : {}),
    };
  }

  /** Complete versions of `name`, ascending. */
  async versions(name: string): Promise<number[]> {
    const out: number[] = [];
    for await (const o of this.store.list(`${joinUri(this.rootUri, 'models', name)}/`)) {
      const m = /\/v(\d{6})\/entry\.json$/.exec(o.uri);
      if (m) out.push(Number(m[1]));
    }
    return out.sort((a, b) => a - b);
  }

  async get(name: string, version?: number): Promise<RegistryEntry> {
    const v = version ?? (await this.versions(name)).at(-1);
    if (v === undefined) throw new InvalidInputError(`registry ${this.rootUri}: no model named '${name}'`);
    return this.store.readJson<RegistryEntry>(joinUri(this.versionUri(name, v), 'entry.json')).catch((e) => {
      if (e instanceof ObjectNotFoundError)
        throw new InvalidInputError(`registry ${this.rootUri}: '${name}' has no version ${v}`);
      throw e;
    });
  }

  /** Every complete version of every model, by name then version. */
  async list(): Promise<RegistryEntry[]> {
    const found: { name: string; version: number }[] = [];
    for await (const o of this.store.list(`${joinUri(this.rootUri, 'models')}/`)) {
      const m = /\/models\/([^/]+)\/v(\d{6})\/entry\.json$/.exec(o.uri);
      if (m) found.push({ name: m[1]!, version: Number(m[2]) });
    }
    found.sort((a, b) => a.name.localeCompare(b.name) || a.version - b.version);
    return Promise.all(found.map((f) => this.get(f.name, f.version)));
  }

  /** A model directory's URI from a URI (returned as is) or `name[@version]` (latest without one). */
  async resolve(ref: string): Promise<string> {
    if (isModelUri(ref)) return normalizeUri(ref);
    const m = /^([^@]+)(?:@v?(\d+))?$/.exec(ref);
    if (!m || !NAME.test(m[1]!))
      throw new InvalidInputError(`'${ref}' is neither a model URI nor a registry name[@version]`);
    return (await this.get(m[1]!, m[2] === undefined ? undefined : Number(m[2]))).modelUri;
  }
}
