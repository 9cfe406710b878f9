import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  eventStream,
  generateEvent,
  generateEvents,
  partRange,
  resolveMix,
  BALANCED_MIX,
  TRIGGER_MIX,
  type EventSink,
  type GeneratedEvent,
} from '../src/generator/index.js';
import type { DelphesEvent } from '../src/contract/delphes-event.js';
import type { EventClass } from '../src/physics/schema.js';

test('resolveMix: presets, strings and objects are normalised', () => {
  assert.deepEqual(resolveMix('trigger'), TRIGGER_MIX);
  assert.deepEqual(resolveMix('balanced'), BALANCED_MIX);
  assert.deepEqual(resolveMix('wjets=3, qcd=1'), { qcd: 0.25, ttbar: 0, wjets: 0.75 });
  assert.deepEqual(resolveMix({ ttbar: 2 }), { qcd: 0, ttbar: 1, wjets: 0 });
});

test('resolveMix: clear errors for bad input', () => {
  assert.throws(() => resolveMix({ zjets: 1 }), /unknown class "zjets".*qcd, ttbar, wjets/);
  assert.throws(() => resolveMix({ qcd: -1, wjets: 2 }), /weight of "qcd" must be a finite number >= 0, got -1/);
  assert.throws(() => resolveMix({ qcd: Number.NaN }), /weight of "qcd"/);
  assert.throws(() => resolveMix({ qcd: 0, wjets: 0 }), /sum to a positive number/);
  assert.throws(() => resolveMix({}), /sum to a positive number/);
  assert.throws(() => resolveMix('wjets=abc'), /weight of "wjets"/);
  assert.throws(() => resolveMix('wjets'), /expected a preset/);
  assert.throws(() => resolveMix('wjets=1,wjets=2'), /given twice/);
});

test('option validation', async () => {
  const sink: EventSink = { write: () => undefined };
  await assert.rejects(generateEvents({ events: -1 }, sink), /events must be a non-negative integer/);
  await assert.rejects(generateEvents({ events: 1, seed: 1.5 }, sink), /seed/);
  await assert.rejects(generateEvents({ events: 1, firstEvent: -3 }, sink), /firstEvent/);
  await assert.rejects(generateEvents({ events: 1, pileup: -1 }, sink), /pileup/);
  await assert.rejects(generateEvents({ events: 1, mix: { higgs: 1 } }, sink), /unknown class "higgs"/);
  assert.throws(() => partRange(10, 0, 0), /parts/);
  assert.throws(() => partRange(10, 3, 3), /part index/);
});

test('partRange covers [0, total) contiguously with balanced sizes', () => {
  for (const [total, parts] of [
    [10, 3],
    [7, 7],
    [3, 5],
    [1000, 16],
  ] as const) {
    let next = 0;
    const sizes: number[] = [];
    for (let k = 0; k < parts; k++) {
      const r = partRange(total, parts, k);
      assert.equal(r.firstEvent, next);
      next += r.events;
      sizes.push(r.events);
    }
    assert.equal(next, total);
    assert.ok(Math.max(...sizes) - Math.min(...sizes) <= 1);
  }
});

function sameEvent(a: DelphesEvent, b: DelphesEvent): boolean {
  for (const key of Object.keys(a) as (keyof DelphesEvent)[]) {
    const ca = a[key] as unknown as Record<string, ArrayLike<number>>;
    const cb = b[key] as unknown as Record<string, ArrayLike<number>>;
    for (const leaf of Object.keys(ca)) {
      const x = ca[leaf]!;
      const y = cb[leaf]!;
      if (x.length !== y.length) return false;
      for (let i = 0; i < x.length; i++) if (!Object.is(x[i], y[i])) return false;
    }
  }
  return true;
}

test('a seed fixes the sample; another seed changes it', () => {
  const a = generateEvent(11, 5, BALANCED_MIX);
  const b = generateEvent(11, 5, BALANCED_MIX);
  const c = generateEvent(12, 5, BALANCED_MIX);
  assert.ok(sameEvent(a.event, b.event));
  assert.equal(a.eventClass, b.eventClass);
  assert.ok(!sameEvent(a.event, c.event));
});

test('generating file k of K gives the events of the serial run', async () => {
  const total = 60;
  const serial = [...eventStream({ events: total, seed: 9, mix: 'balanced' })];
  const parts: GeneratedEvent[] = [];
  for (let k = 0; k < 4; k++) parts.push(...eventStream({ ...partRange(total, 4, k), seed: 9, mix: 'balanced' }));
  assert.equal(parts.length, total);
  for (let i = 0; i < total; i++) {
    assert.equal(parts[i]!.index, i);
    assert.equal(parts[i]!.eventClass, serial[i]!.eventClass);
    assert.ok(sameEvent(parts[i]!.event, serial[i]!.event), `event ${i} differs`);
  }
});

test('generateEvents feeds the sink in order, awaits it, and counts classes', async () => {
  const seen: EventClass[] = [];
  let inFlight = 0;
  const sink: EventSink = {
    async write(_event, cls) {
      assert.equal(inFlight, 0, 'writes must not overlap');
      inFlight++;
      await new Promise((r) => setImmediate(r));
      seen.push(cls);
      inFlight--;
    },
  };
  const summary = await generateEvents({ events: 300, seed: 4, firstEvent: 1000 }, sink);
  assert.equal(seen.length, 300);
  assert.equal(summary.firstEvent, 1000);
  assert.equal(summary.classCounts.qcd + summary.classCounts.ttbar + summary.classCounts.wjets, 300);
  assert.equal(seen.filter((c) => c === 'wjets').length, summary.classCounts.wjets);
  // Trigger mix: W 63%, QCD 36%, tt̄ 1% (binomial σ ≈ 2.8% at n = 300).
  assert.ok(Math.abs(summary.classCounts.wjets / 300 - 0.63) < 0.09, JSON.stringify(summary.classCounts));
  assert.ok(Math.abs(summary.classCounts.qcd / 300 - 0.36) < 0.09, JSON.stringify(summary.classCounts));
  assert.ok(summary.classCounts.ttbar < 12);
});

test('a pure mix gives only that class', () => {
  for (let i = 0; i < 50; i++) assert.equal(generateEvent(1, i, resolveMix({ ttbar: 1 })).eventClass, 'ttbar');
});
