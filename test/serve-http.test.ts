// The inference service over HTTP on loopback: a bounded load test in which every
// request is answered with the right scores, 400 with the cause for bad input, 503 when
// the queue bound would be passed, and a clean drain on SIGTERM of `hepflow serve`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import * as tf from '@tensorflow/tfjs';
import { storage } from '../src/storage/index.js';
import { bundleFromFiles, predictProbabilities } from '../src/ml/model-bundle.js';
import { readModelFiles } from '../src/ml/training/model-dir.js';
import { ScoringService, type EventScore } from '../src/serving/scoring-service.js';
import { InferenceHttpServer } from '../src/serving/http-server.js';
import { parseSelection } from '../src/scoring/selection.js';
import { trainedModelDir } from './helpers/trained-model.js';
import { jsonEvents } from './helpers/json-events.js';
import { until } from './helpers/until.js';

await tf.setBackend('cpu');
const dir = await mkdtemp(path.join(os.tmpdir(), 'hepflow-serve-'));
const inclusive = await trainedModelDir(dir, 'inclusive');
const hlf = await trainedModelDir(dir, 'hlf');
const bundle = await bundleFromFiles(await readModelFiles(storage(), inclusive));
const CLASSES = ['qcd', 'ttbar', 'wjets'];

async function post(
  url: string,
  body: unknown,
): Promise<{ status: number; json: { results?: EventScore[]; error?: string }; headers: Headers }> {
  const r = await fetch(`${url}/v1/score`, {
    method: 'POST',
    body: typeof body === 'string' ? body : JSON.stringify(body),
    headers: { 'content-type': 'application/json' },
  });
  return { status: r.status, json: (await r.json()) as { results?: EventScore[]; error?: string }, headers: r.headers };
}

test('load: 100 concurrent requests of 6 events, every event answered with its own scores', async () => {
  const service = new ScoringService(
    bundle,
    { maxBatch: 64, maxDelayMs: 2, maxQueue: 100_000 },
    parseSelection('ttbar>=0.5', CLASSES),
  );
  const server = new InferenceHttpServer(service, { port: 0 });
  const url = await server.listen();
  try {
    const events = jsonEvents(600);
    const selected = events.filter((e) => e.row !== null);
    assert.ok(selected.length > 100 && selected.length < 600, `${selected.length} selected`);
    const want = await predictProbabilities(
      bundle,
      selected.map((e) => e.row!),
    );
    const expected = new Map(selected.map((e, i) => [e.json.id, want.subarray(i * 3, i * 3 + 3)]));
    const requests = Array.from({ length: 100 }, (_, r) => events.slice(r * 6, r * 6 + 6));
    const answers = await Promise.all(requests.map((evs) => post(url, { events: evs.map((e) => e.json) })));
    let scored = 0;
    answers.forEach((a, r) => {
      assert.equal(a.status, 200, a.json.error);
      const timing = /^score;dur=(\d+(?:\.\d+)?)$/.exec(a.headers.get('server-timing') ?? '');
      assert.ok(timing !== null && Number(timing[1]) >= 0, `server-timing: ${a.headers.get('server-timing')}`);
      assert.deepEqual(
        a.json.results!.map((x) => x.id),
        requests[r]!.map((e) => e.json.id),
      );
      for (const res of a.json.results!) {
        const p = expected.get(res.id!);
        assert.equal(res.selected, p !== undefined, `${res.id} selected`);
        if (p === undefined) {
          assert.equal(res.accepted, false);
          continue;
        }
        scored++;
        CLASSES.forEach((c, k) => assert.ok(Math.abs(res.probabilities![c]! - p[k]!) < 1e-6, `${res.id} ${c}`));
        assert.equal(res.accepted, p[1]! >= 0.5);
      }
    });
    assert.equal(scored, selected.length);
    assert.equal(service.batcher.items, selected.length);
  } finally {
    await server.drain();
  }
});

test('bad input: 400 with the cause, nothing scored; over the queue bound: 503 with Retry-After', async () => {
  const service = new ScoringService(bundle, { maxBatch: 8, maxDelayMs: 1, maxQueue: 4 });
  const server = new InferenceHttpServer(service, { port: 0 });
  const url = await server.listen();
  try {
    const [good, other] = jsonEvents(40).filter((e) => e.row !== null && 'event' in e.json);
    let r = await post(url, '{"events": [');
    assert.equal(r.status, 400);
    assert.match(r.json.error!, /body is not JSON/);
    const { tracks: _t, ...noTracks } = good!.json.event as Record<string, unknown>;
    r = await post(url, { events: [good!.json, { id: 'x', event: noTracks }] });
    assert.equal(r.status, 400);
    assert.match(r.json.error!, /events\[1\]\.event: missing collection 'tracks' \(Delphes EFlowTrack/);
    r = await post(url, { events: [{ features: { hlf: [1, 2, 3], particles: [] } }] });
    assert.match(r.json.error!, /events\[0\]\.features\.hlf: 3 values, expected 14/);
    r = await post(url, { events: [{ id: 'y', event: { ...(good!.json.event as object), jets: { pt: [1, 'a'] } } }] });
    assert.match(r.json.error!, /events\[0\]\.event\.jets\.pt\[1\]: expected a finite number, got "a"/);
    assert.equal(service.batcher.items, 0);
    const five = Array.from({ length: 5 }, () => good!.json);
    r = await post(url, { events: five });
    assert.equal(r.status, 503);
    assert.equal(r.headers.get('retry-after'), '1');
    assert.match(r.json.error!, /queue full/);
    r = await post(url, other!.json);
    assert.equal(r.status, 200);
    assert.equal(r.json.results!.length, 1);
    assert.equal((await fetch(`${url}/healthz`)).status, 200);
  } finally {
    await server.drain();
  }
});

test('hepflow serve drains on SIGTERM: every admitted request answered, then exit 0', async () => {
  // A batch waits for 10 minutes or 10,000 events, so the requests sit in the queue until the drain.
  const child = spawn(
    process.execPath,
    [
      'dist/cli/hepflow.js',
      'serve',
      '--model',
      hlf,
      '--port',
      '0',
      '--max-delay-ms',
      '600000',
      '--max-batch',
      '10000',
      '--backend',
      'cpu',
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const lines = createInterface({ input: child.stdout });
  const output: string[] = [];
  const url = await new Promise<string>((resolve, reject) => {
    lines.on('line', (l) => {
      output.push(l);
      const m = /on (http:\/\/\S+)$/.exec(l);
      if (m) resolve(m[1]!);
    });
    child.once('exit', (code) => reject(new Error(`serve exited early (${code}): ${output.join('\n')}`)));
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const events = jsonEvents(120)
    .filter((e) => e.row !== null)
    .slice(0, 30);
  const answers = Promise.all(events.map((e) => post(url, e.json)));
  await until(async () => (await (await fetch(`${url}/healthz`)).json()) as { queued: number }, {
    holds: (h) => h.queued === events.length,
    what: `${events.length} requests queued`,
    deadline: 5 * 60_000,
    every: 20,
  });
  child.kill('SIGTERM');
  const done = await answers;
  assert.deepEqual(
    done.map((a) => a.status),
    events.map(() => 200),
  );
  assert.deepEqual(
    done.map((a) => a.json.results![0]!.id),
    events.map((e) => e.json.id),
  );
  assert.equal(await exited, 0);
  assert.ok(
    output.some((l) => l === `drained: ${events.length} events in 1 batches`),
    output.join('\n'),
  );
  await assert.rejects(fetch(`${url}/healthz`));
});
