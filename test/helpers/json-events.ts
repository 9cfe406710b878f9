// Generated Delphes events as the service's JSON, with the features the service should compute.
import { BALANCED_MIX, generateEvent } from '../../src/generator/index.js';
import { FeatureExtractor } from '../../src/physics/features.js';
import { delphesEventToJson } from '../../src/serving/event-json.js';
import type { InputRow } from '../../src/ml/data.js';

export interface JsonEvent {
  readonly json: { id: string; event?: unknown; features?: unknown };
  /** null when the isolated-lepton selection rejects it. */
  readonly row: InputRow | null;
}

/** `n` events; every third one (when selected) is sent as its precomputed feature row instead. */
export function jsonEvents(n: number, seed = 7): JsonEvent[] {
  const x = new FeatureExtractor();
  return Array.from({ length: n }, (_, i) => {
    const { event } = generateEvent(seed, i, BALANCED_MIX);
    const row = x.select(event) ? { hlf: x.hlf.slice(), particles: x.particles() } : null;
    const id = `e${i}`;
    if (row !== null && i % 3 === 0) {
      const particles = Array.from({ length: row.particles.length / 19 }, (_, p) =>
        Array.from(row.particles.subarray(p * 19, (p + 1) * 19)),
      );
      return { json: { id, features: { hlf: Array.from(row.hlf), particles } }, row };
    }
    return { json: { id, event: delphesEventToJson(event) }, row };
  });
}
