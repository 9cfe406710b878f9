// Renders and validates deploy/k8s with the tools infra/deploy-tools.sh installs:
// kustomize, kubeconform -strict against Kubernetes' JSON schemas, and schemas made here
// from KEDA's CRDs. Also reads what a rendered pod would get in its environment.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import yaml from 'js-yaml';
import { projectRoot } from '../../src/paths.js';

export const K8S_DIR = path.join(projectRoot, 'deploy/k8s');
const TOOLS = path.join(projectRoot, '.tools/deploy');
const KUSTOMIZE = path.join(TOOLS, 'bin/kustomize');
const KUBECONFORM = path.join(TOOLS, 'bin/kubeconform');

/** Why the tools cannot run here, or undefined when they can. */
export function missingDeployTools(): string | undefined {
  for (const f of [KUSTOMIZE, KUBECONFORM, path.join(TOOLS, 'schemas/kubernetes'), path.join(TOOLS, 'keda')]) {
    if (!existsSync(f))
      return `${path.relative(projectRoot, f)} is missing: run 'bash infra/deploy-tools.sh' (needs Go)`;
  }
  return undefined;
}

/** A Kubernetes object as rendered: only the fields every object has are typed. */
export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; [k: string]: unknown };
  [field: string]: unknown;
}

export const overlays = (): string[] => ['self-hosted', 'temporal-cloud', 'temporal-cloud-mtls'];

/** `kustomize build` of a directory (an overlay under deploy/k8s by default). */
export function renderYaml(dir: string): string {
  return execFileSync(KUSTOMIZE, ['build', dir], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

export function parseObjects(text: string): K8sObject[] {
  return yaml.loadAll(text).filter((o): o is K8sObject => typeof o === 'object' && o !== null);
}

export const renderOverlay = (name: string): K8sObject[] =>
  parseObjects(renderYaml(path.join(K8S_DIR, 'overlays', name)));

export function find(objects: readonly K8sObject[], kind: string, name: string): K8sObject {
  const o = objects.find((x) => x.kind === kind && x.metadata.name === name);
  if (o === undefined) throw new Error(`no ${kind} ${name} in the rendered manifests`);
  return o;
}

/** Loose access to nested fields of parsed YAML, for assertions. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- parsed YAML of many kinds, checked field by field
export type Loose = any;

/** The environment a container of `deployment` gets from its env and envFrom ConfigMaps. */
export function containerEnv(
  objects: readonly K8sObject[],
  deployment: string,
  container?: string,
): Record<string, string> {
  const d = find(objects, 'Deployment', deployment) as Loose;
  const c =
    container === undefined
      ? d.spec.template.spec.containers[0]
      : d.spec.template.spec.containers.find((x: Loose) => x.name === container);
  const env: Record<string, string> = {};
  for (const from of c.envFrom ?? []) {
    if (from.configMapRef === undefined) continue;
    Object.assign(env, (find(objects, 'ConfigMap', from.configMapRef.name) as Loose).data ?? {});
  }
  for (const e of c.env ?? []) if (typeof e.value === 'string') env[e.name] = e.value;
  return env;
}

/**
 * JSON schemas for KEDA's kinds from its CRDs, in the layout kubeconform's second
 * schema location names. Strict as Kubernetes' own: an object that lists its properties
 * takes no others, unless the CRD says it keeps unknown fields.
 */
function kedaSchemas(dir: string): string {
  for (const file of ['keda.sh_scaledobjects.yaml', 'keda.sh_triggerauthentications.yaml']) {
    const crd = yaml.load(readFileSync(path.join(TOOLS, 'keda', file), 'utf8')) as Loose;
    for (const version of crd.spec.versions) {
      const out = path.join(dir, crd.spec.group, `${crd.spec.names.kind.toLowerCase()}_${version.name}.json`);
      mkdirSync(path.dirname(out), { recursive: true });
      writeFileSync(out, JSON.stringify(strict(version.schema.openAPIV3Schema)));
    }
  }
  return dir;
}

function strict(schema: Loose): Loose {
  if (Array.isArray(schema)) return schema.map(strict);
  if (typeof schema !== 'object' || schema === null) return schema;
  const out: Loose = {};
  for (const [k, v] of Object.entries(schema)) out[k] = k === 'properties' ? mapValues(v, strict) : strict(v);
  if (
    out.properties !== undefined &&
    out.additionalProperties === undefined &&
    !out['x-kubernetes-preserve-unknown-fields']
  ) {
    out.additionalProperties = false;
  }
  return out;
}

const mapValues = (o: Loose, f: (v: Loose) => Loose): Loose =>
  Object.fromEntries(Object.entries(o as Record<string, unknown>).map(([k, v]) => [k, f(v)]));

export interface Verdict {
  readonly filename: string;
  readonly kind: string;
  readonly name: string;
  readonly status: 'statusValid' | 'statusInvalid' | 'statusError' | 'statusSkipped' | 'statusEmpty';
  readonly msg: string;
}

/** kubeconform -strict over the files, offline; one verdict per object. */
export function kubeconform(files: readonly string[], scratch: string): Verdict[] {
  const keda = existsSync(path.join(scratch, 'keda.sh')) ? scratch : kedaSchemas(scratch);
  const args = [
    '-strict',
    '-verbose',
    '-output',
    'json',
    '-schema-location',
    `${path.join(TOOLS, 'schemas/kubernetes')}/{{ .ResourceKind }}{{ .KindSuffix }}.json`,
    '-schema-location',
    `${keda}/{{ .Group }}/{{ .ResourceKind }}_{{ .ResourceAPIVersion }}.json`,
    ...files,
  ];
  let stdout: string;
  try {
    stdout = execFileSync(KUBECONFORM, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (e) {
    // Exit 1 means some object is invalid; the JSON report is still on stdout.
    stdout = (e as { stdout?: string }).stdout ?? '';
    if (stdout === '') throw e;
  }
  return (JSON.parse(stdout) as { resources: Verdict[] }).resources;
}
