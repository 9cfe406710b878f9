// deploy/k8s, rendered per overlay with kustomize, validated with kubeconform -strict
// against Kubernetes' and KEDA's schemas (offline), and checked for what a schema cannot
// see: drains that outlast the grace period, probes that miss the health port, scalers
// that watch another pool's queue, credentials written inline. Broken copies must fail.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import yaml from 'js-yaml';
import { taskQueueOf, type Pool } from '../src/contract/task-queues.js';
import {
  containerEnv,
  find,
  type K8sObject,
  kubeconform,
  type Loose,
  missingDeployTools,
  overlays,
  renderOverlay,
} from './helpers/k8s-manifests.js';

const missing = missingDeployTools();
// Where the bootstrap could install them (CI), missing tools are a failure, not a skip.
const skip = missing !== undefined && process.env.CI !== 'true' ? missing : false;
const scratch = mkdtempSync(path.join(os.tmpdir(), 'hepflow-deploy-manifests-'));
test.after(() => rmSync(scratch, { recursive: true, force: true }));

/** Seconds beyond the drain that the kubelet must leave the process to exit on its own. */
const EXIT_MARGIN_S = 10;
const SECRET_NAME = /SECRET|PASSWORD|API_KEY|TOKEN|PRIVATE|CREDENTIAL/i;

const POOLS: Record<string, Pool> = { 'hepflow-cpu-worker': 'cpu', 'hepflow-gpu-worker': 'gpu' };

/** What a schema cannot check; one line per problem. */
function semanticProblems(objects: readonly K8sObject[]): string[] {
  const problems: string[] = [];
  const kinds = (kind: string) => objects.filter((o) => o.kind === kind) as Loose[];
  for (const [name, pool] of Object.entries(POOLS)) {
    const d = find(objects, 'Deployment', name) as Loose;
    const pod = d.spec.template.spec;
    const c = pod.containers[0];
    const env = containerEnv(objects, name);
    if (c.args?.[0] !== pool) problems.push(`${name}: starts '${c.args?.[0]}', not the ${pool} pool`);
    const drain = Number(env.HEPFLOW_SHUTDOWN_GRACE_S ?? 30) + Number(env.HEPFLOW_SHUTDOWN_FORCE_S ?? 15);
    if (!(pod.terminationGracePeriodSeconds >= drain + EXIT_MARGIN_S)) {
      problems.push(
        `${name}: terminationGracePeriodSeconds ${pod.terminationGracePeriodSeconds} <= drain ${drain} s + ${EXIT_MARGIN_S}`,
      );
    }
    const healthPort = Number(env.HEPFLOW_HEALTH_PORT);
    if (!Number.isInteger(healthPort)) problems.push(`${name}: no HEPFLOW_HEALTH_PORT in its environment`);
    if (env.HEPFLOW_HEALTH_HOST !== '0.0.0.0')
      problems.push(
        `${name}: health endpoint not reachable by the kubelet (HEPFLOW_HEALTH_HOST=${env.HEPFLOW_HEALTH_HOST})`,
      );
    for (const [probe, want] of [
      ['livenessProbe', '/livez'],
      ['readinessProbe', '/readyz'],
    ] as const) {
      const p = c[probe]?.httpGet;
      const port =
        typeof p?.port === 'string' ? c.ports?.find((x: Loose) => x.name === p.port)?.containerPort : p?.port;
      if (p?.path !== want || port !== healthPort) {
        problems.push(`${name}: ${probe} is ${p?.path}:${port}, expected ${want} on the health port ${healthPort}`);
      }
    }
    const scaled = kinds('ScaledObject').filter((s) => s.spec.scaleTargetRef.name === name);
    if (scaled.length !== 1) problems.push(`${name}: ${scaled.length} ScaledObjects, expected 1`);
    for (const s of scaled) {
      const triggers = s.spec.triggers.filter((t: Loose) => t.type === 'temporal');
      if (triggers.length !== 1) problems.push(`${s.metadata.name}: no Temporal trigger`);
      for (const t of triggers) {
        if (t.metadata.taskQueue !== taskQueueOf(pool)) {
          problems.push(
            `${s.metadata.name}: scales on task queue '${t.metadata.taskQueue}', the ${pool} pool polls '${taskQueueOf(pool)}'`,
          );
        }
        const ref = t.authenticationRef?.name;
        if (ref !== undefined && !kinds('TriggerAuthentication').some((a) => a.metadata.name === ref)) {
          problems.push(`${s.metadata.name}: TriggerAuthentication '${ref}' is not in the manifests`);
        }
      }
      if (!(s.spec.maxReplicaCount >= Math.max(1, s.spec.minReplicaCount ?? 0))) {
        problems.push(`${s.metadata.name}: maxReplicaCount ${s.spec.maxReplicaCount} below minReplicaCount`);
      }
      if (pool === 'gpu' && s.spec.minReplicaCount !== 0)
        problems.push(`${s.metadata.name}: the GPU pool does not scale to zero`);
      if (pool === 'cpu' && !(s.spec.minReplicaCount >= 1))
        problems.push(`${s.metadata.name}: no CPU worker hosts the workflows at idle`);
    }
  }
  const gpu = (find(objects, 'Deployment', 'hepflow-gpu-worker') as Loose).spec.template.spec;
  if (!(Number(gpu.containers[0].resources?.limits?.['nvidia.com/gpu']) >= 1))
    problems.push('hepflow-gpu-worker: no nvidia.com/gpu limit');
  if (gpu.nodeSelector === undefined && gpu.affinity === undefined)
    problems.push('hepflow-gpu-worker: no GPU node selection');
  if (!gpu.tolerations?.some((t: Loose) => t.key === 'nvidia.com/gpu'))
    problems.push('hepflow-gpu-worker: no toleration for GPU nodes');
  for (const d of kinds('Deployment')) {
    const env = containerEnv(objects, d.metadata.name);
    // Each version must run until it drains: a Deployment that a rolling update replaces
    // in place (one name for every build) would stop it under its pinned runs.
    if (
      env.HEPFLOW_WORKER_VERSIONING === '1' &&
      !(env.HEPFLOW_BUILD_ID && d.metadata.name.endsWith(`-${env.HEPFLOW_BUILD_ID}`))
    ) {
      problems.push(
        `${d.metadata.name}: versioned, but not a Deployment of its own build (name without HEPFLOW_BUILD_ID '${env.HEPFLOW_BUILD_ID}')`,
      );
    }
  }
  for (const d of kinds('Deployment')) {
    const pod = d.spec.template.spec;
    if (pod.securityContext?.runAsNonRoot !== true) problems.push(`${d.metadata.name}: may run as root`);
    for (const c of pod.containers) {
      if (c.securityContext?.allowPrivilegeEscalation !== false)
        problems.push(`${d.metadata.name}: privilege escalation allowed`);
      if (c.resources?.requests?.cpu === undefined || c.resources?.limits?.memory === undefined) {
        problems.push(`${d.metadata.name}: no CPU request or memory limit`);
      }
      for (const e of c.env ?? []) {
        if (SECRET_NAME.test(e.name) && e.value !== undefined)
          problems.push(`${d.metadata.name}: ${e.name} written inline`);
      }
    }
  }
  for (const m of kinds('ConfigMap')) {
    for (const [k, v] of Object.entries(m.data ?? {})) {
      if (SECRET_NAME.test(k) || /-----BEGIN/.test(String(v)))
        problems.push(`ConfigMap ${m.metadata.name}: ${k} is a credential`);
    }
  }
  for (const s of kinds('Secret'))
    problems.push(`Secret ${s.metadata.name} is in the manifests: credentials are created in the cluster`);
  for (const a of kinds('TriggerAuthentication')) {
    if (Object.keys(a.spec).some((k) => k !== 'secretTargetRef'))
      problems.push(`TriggerAuthentication ${a.metadata.name}: not only secretTargetRef`);
  }
  const service = find(objects, 'Service', 'hepflow-inference') as Loose;
  const inference = find(objects, 'Deployment', 'hepflow-inference') as Loose;
  const labels = inference.spec.template.metadata.labels;
  if (!Object.entries(service.spec.selector).every(([k, v]) => labels[k] === v))
    problems.push('Service hepflow-inference selects no inference pod');
  const hpa = find(objects, 'HorizontalPodAutoscaler', 'hepflow-inference') as Loose;
  if (hpa.spec.scaleTargetRef.name !== 'hepflow-inference')
    problems.push('HPA hepflow-inference scales something else');
  return problems;
}

function writeObjects(name: string, objects: readonly K8sObject[]): string {
  const file = path.join(scratch, `${name}.yaml`);
  writeFileSync(file, objects.map((o) => yaml.dump(o, { noRefs: true })).join('---\n'));
  return file;
}

const rendered = new Map<string, K8sObject[]>();
const overlay = (name: string): K8sObject[] => {
  if (!rendered.has(name)) rendered.set(name, renderOverlay(name));
  return rendered.get(name) as K8sObject[];
};

test('every overlay renders, and kubeconform -strict finds each object valid', { skip }, () => {
  const files = overlays().map((o) => writeObjects(o, overlay(o)));
  const verdicts = kubeconform(files, scratch);
  const bad = verdicts.filter((v) => v.status !== 'statusValid');
  assert.deepEqual(bad, [], 'every rendered object is valid against its schema');
  for (const o of overlays()) {
    const kinds = verdicts.filter((v) => v.filename.endsWith(`/${o}.yaml`)).map((v) => v.kind);
    for (const kind of [
      'Namespace',
      'ConfigMap',
      'ServiceAccount',
      'Deployment',
      'Service',
      'HorizontalPodAutoscaler',
      'PodDisruptionBudget',
      'ScaledObject',
    ]) {
      assert.ok(kinds.includes(kind), `${o}: a ${kind} was validated`);
    }
    assert.equal(kinds.filter((k) => k === 'Deployment').length, 3, `${o}: CPU pool, GPU pool and inference service`);
  }
  const cloud = overlay('temporal-cloud');
  assert.ok(
    cloud.some((x) => x.kind === 'TriggerAuthentication'),
    'the API-key scaler authenticates',
  );
});

test('every overlay passes the checks a schema cannot make', { skip }, () => {
  for (const o of overlays()) assert.deepEqual(semanticProblems(overlay(o)), [], o);
  // The connection each overlay is for reaches the workers.
  assert.ok(
    containerEnv(overlay('temporal-cloud'), 'hepflow-cpu-worker').TEMPORAL_ADDRESS?.endsWith('.api.temporal.io:7233'),
  );
  const mtls = containerEnv(overlay('temporal-cloud-mtls'), 'hepflow-gpu-worker');
  assert.equal(mtls.TEMPORAL_TLS_CLIENT_CERT_PATH, '/etc/hepflow/temporal-tls/tls.crt');
  const s3 = containerEnv(overlay('self-hosted'), 'hepflow-inference');
  assert.equal(s3.HEPFLOW_S3_FORCE_PATH_STYLE, 'true');
  assert.equal(s3.AWS_CA_BUNDLE, '/etc/hepflow/s3-ca/ca.crt');
});

/** Deep copy of an overlay's objects with one changed. */
function broken(base: string, kind: string, name: string, change: (o: Loose) => void): K8sObject[] {
  const copy = structuredClone(overlay(base));
  change(find(copy, kind, name));
  return copy;
}

test('broken copies are rejected, each for its own reason', { skip }, () => {
  const schemaBreaks: Record<string, K8sObject[]> = {
    'unknown-deployment-field': broken('temporal-cloud', 'Deployment', 'hepflow-cpu-worker', (d) => {
      d.spec.template.spec.containers[0].livenessProbes = d.spec.template.spec.containers[0].livenessProbe;
    }),
    'grace-as-text': broken('self-hosted', 'Deployment', 'hepflow-gpu-worker', (d) => {
      d.spec.template.spec.terminationGracePeriodSeconds = 'sixty';
    }),
    'keda-unknown-field': broken('temporal-cloud', 'ScaledObject', 'hepflow-gpu-worker', (s) => {
      s.spec.minReplicas = s.spec.minReplicaCount;
    }),
    'keda-trigger-without-type': broken('self-hosted', 'ScaledObject', 'hepflow-cpu-worker', (s) => {
      delete s.spec.triggers[0].type;
    }),
  };
  const files = Object.entries(schemaBreaks).map(([name, objects]) => writeObjects(`broken-${name}`, objects));
  const verdicts = kubeconform(files, scratch);
  for (const [name] of Object.entries(schemaBreaks)) {
    const invalid = verdicts.filter((v) => v.filename.endsWith(`/broken-${name}.yaml`) && v.status === 'statusInvalid');
    assert.equal(invalid.length, 1, `${name}: exactly the changed object is invalid (${JSON.stringify(invalid)})`);
  }

  const semanticBreaks: Array<[string, K8sObject[], RegExp]> = [
    [
      'grace shorter than the drain',
      broken('temporal-cloud', 'Deployment', 'hepflow-cpu-worker', (d) => {
        d.spec.template.spec.terminationGracePeriodSeconds = 45;
      }),
      /terminationGracePeriodSeconds 45/,
    ],
    [
      'readiness on another port',
      broken('self-hosted', 'Deployment', 'hepflow-gpu-worker', (d) => {
        d.spec.template.spec.containers[0].readinessProbe.httpGet.port = 9090;
      }),
      /readinessProbe is \/readyz:9090/,
    ],
    [
      'liveness on the readiness path',
      broken('self-hosted', 'Deployment', 'hepflow-cpu-worker', (d) => {
        d.spec.template.spec.containers[0].livenessProbe.httpGet.path = '/readyz';
      }),
      /livenessProbe is \/readyz/,
    ],
    [
      'GPU scaler on the CPU queue',
      broken('temporal-cloud-mtls', 'ScaledObject', 'hepflow-gpu-worker', (s) => {
        s.spec.triggers[0].metadata.taskQueue = 'hepflow-cpu';
      }),
      /task queue 'hepflow-cpu', the gpu pool polls 'hepflow-gpu'/,
    ],
    [
      'GPU pool kept warm',
      broken('temporal-cloud', 'ScaledObject', 'hepflow-gpu-worker', (s) => {
        s.spec.minReplicaCount = 1;
      }),
      /does not scale to zero/,
    ],
    [
      'a key in the ConfigMap',
      broken('self-hosted', 'ConfigMap', configMapName('self-hosted'), (m) => {
        m.data.AWS_SECRET_ACCESS_KEY = 'hepflow-dev-secret';
      }),
      /AWS_SECRET_ACCESS_KEY is a credential/,
    ],
    [
      'an API key inline',
      broken('temporal-cloud', 'Deployment', 'hepflow-gpu-worker', (d) => {
        d.spec.template.spec.containers[0].env.push({ name: 'TEMPORAL_API_KEY', value: 'k' });
      }),
      /TEMPORAL_API_KEY written inline/,
    ],
    [
      'versioned pool rolled in place',
      broken('temporal-cloud', 'Deployment', 'hepflow-cpu-worker', (d) => {
        d.spec.template.spec.containers[0].env.push(
          { name: 'HEPFLOW_WORKER_VERSIONING', value: '1' },
          { name: 'HEPFLOW_BUILD_ID', value: '0.2.0-cpu' },
        );
      }),
      /versioned, but not a Deployment of its own build/,
    ],
    [
      'no GPU asked for',
      broken('temporal-cloud', 'Deployment', 'hepflow-gpu-worker', (d) => {
        delete d.spec.template.spec.containers[0].resources.limits['nvidia.com/gpu'];
      }),
      /no nvidia.com\/gpu limit/,
    ],
  ];
  for (const [what, objects, expected] of semanticBreaks) {
    const problems = semanticProblems(objects);
    assert.ok(
      problems.some((p) => expected.test(p)),
      `${what}: caught (${problems.join('; ')})`,
    );
  }
});

const configMapName = (o: string): string => {
  const from = (find(overlay(o), 'Deployment', 'hepflow-cpu-worker') as Loose).spec.template.spec.containers[0].envFrom;
  return from.find((f: Loose) => f.configMapRef !== undefined).configMapRef.name;
};
