/**
 * Events as JSON, the service's input (HTTP bodies and Kafka messages). One event is
 * either a Delphes-like event — the seven collections hepflow reads, each a struct of
 * arrays with the field names of src/delphes/event.ts:
 *
 *   {"id": "run1:42", "event": {"electrons": {"pt": [..], "eta": [..], "phi": [..], "charge": [..]},
 *     "muons": {..}, "jets": {"pt", "eta", "phi", "mass", "btag"}, "missingEt": {"met", "eta", "phi"},
 *     "tracks": {"pt", "eta", "phi", "charge", "pid", "x", "y", "z"},
 *     "photons": {"et", "eta", "phi", "e"}, "neutralHadrons": {"et", "eta", "phi", "e"}}}
 *
 * or a precomputed feature row, raw (unscaled) as in feature files:
 *
 *   {"id": "x", "features": {"hlf": [14 numbers], "particles": [[19 numbers], ...]}}
 *
 * Delphes events go through the isolated-lepton selection first; an event it rejects
 * gets no probabilities.
 */
import { HLF_NAMES, N_HLF, N_PARTICLE_FEATURES } from '../physics/schema.js';
import { DELPHES_BRANCHES, type DelphesEvent } from '../contract/delphes-event.js';
import { FeatureExtractor } from '../physics/features.js';
import type { InputRow } from '../ml/data.js';

/** A request that cannot be scored as given: the HTTP layer answers 400, Kafka dead-letters it. */
export class BadEventError extends Error {
  override name = 'BadEvent';
}

const FIELDS: Record<keyof DelphesEvent, Record<string, 'f32' | 'i32' | 'u32'>> = {
  electrons: { pt: 'f32', eta: 'f32', phi: 'f32', charge: 'i32' },
  muons: { pt: 'f32', eta: 'f32', phi: 'f32', charge: 'i32' },
  jets: { pt: 'f32', eta: 'f32', phi: 'f32', mass: 'f32', btag: 'u32' },
  missingEt: { met: 'f32', eta: 'f32', phi: 'f32' },
  tracks: { pt: 'f32', eta: 'f32', phi: 'f32', charge: 'i32', pid: 'i32', x: 'f32', y: 'f32', z: 'f32' },
  photons: { et: 'f32', eta: 'f32', phi: 'f32', e: 'f32' },
  neutralHadrons: { et: 'f32', eta: 'f32', phi: 'f32', e: 'f32' },
};
const ARRAYS = { f32: Float32Array, i32: Int32Array, u32: Uint32Array } as const;

function numbers(v: unknown, where: string): number[] {
  if (!Array.isArray(v)) throw new BadEventError(`${where}: expected an array of numbers`);
  for (let i = 0; i < v.length; i++) {
    if (typeof v[i] !== 'number' || !Number.isFinite(v[i]))
      throw new BadEventError(`${where}[${i}]: expected a finite number, got ${JSON.stringify(v[i])}`);
  }
  return v as number[];
}

/** The DelphesEvent a JSON event describes; every collection and field is required. */
export function delphesEventFromJson(json: unknown, where: string): DelphesEvent {
  if (json === null || typeof json !== 'object' || Array.isArray(json))
    throw new BadEventError(`${where}: event must be an object of collections`);
  const out: Record<string, Record<string, Float32Array | Int32Array | Uint32Array>> = {};
  for (const [collection, fields] of Object.entries(FIELDS)) {
    const c = (json as Record<string, unknown>)[collection];
    if (c === null || typeof c !== 'object') {
      throw new BadEventError(
        `${where}: missing collection '${collection}' (Delphes ${DELPHES_BRANCHES[collection as keyof DelphesEvent]}; give empty arrays for none)`,
      );
    }
    const arrays: Record<string, Float32Array | Int32Array | Uint32Array> = {};
    let length = -1;
    for (const [field, type] of Object.entries(fields)) {
      const values = numbers((c as Record<string, unknown>)[field], `${where}.${collection}.${field}`);
      if (length >= 0 && values.length !== length) {
        throw new BadEventError(
          `${where}.${collection}: field '${field}' has ${values.length} values, the others ${length}`,
        );
      }
      length = values.length;
      arrays[field] = ARRAYS[type].from(values);
    }
    out[collection] = arrays;
  }
  return out as unknown as DelphesEvent;
}

/** The JSON form of a DelphesEvent (for clients, tests and benchmarks). */
export function delphesEventToJson(e: DelphesEvent): Record<string, Record<string, number[]>> {
  return Object.fromEntries(
    Object.entries(FIELDS).map(([collection, fields]) => [
      collection,
      Object.fromEntries(
        Object.keys(fields).map((f) => [
          f,
          Array.from((e as unknown as Record<string, Record<string, ArrayLike<number>>>)[collection]![f]!),
        ]),
      ),
    ]),
  );
}

function featureRowFromJson(json: unknown, where: string): InputRow {
  const f = json as { hlf?: unknown; particles?: unknown } | null;
  if (f === null || typeof f !== 'object')
    throw new BadEventError(`${where}: features must be an object with hlf and particles`);
  const hlf = numbers(f.hlf, `${where}.hlf`);
  if (hlf.length !== N_HLF)
    throw new BadEventError(`${where}.hlf: ${hlf.length} values, expected ${N_HLF} (${HLF_NAMES.join(', ')})`);
  if (!Array.isArray(f.particles)) throw new BadEventError(`${where}.particles: expected an array of particles`);
  const particles = new Float32Array(f.particles.length * N_PARTICLE_FEATURES);
  f.particles.forEach((p, i) => {
    const values = numbers(p, `${where}.particles[${i}]`);
    if (values.length !== N_PARTICLE_FEATURES)
      throw new BadEventError(`${where}.particles[${i}]: ${values.length} values, expected ${N_PARTICLE_FEATURES}`);
    particles.set(values, i * N_PARTICLE_FEATURES);
  });
  return { hlf: Float32Array.from(hlf), particles };
}

export interface ParsedEvent {
  readonly id: string | null;
  /** null when the isolated-lepton selection rejected the event. */
  readonly row: InputRow | null;
}

/**
 * Parses one event and computes its features. `extractor` is reused across calls (its
 * buffers are per call: the row gets copies).
 */
export function parseEvent(json: unknown, where: string, extractor: FeatureExtractor): ParsedEvent {
  if (json === null || typeof json !== 'object' || Array.isArray(json))
    throw new BadEventError(`${where}: expected an object with 'event' or 'features'`);
  const o = json as { id?: unknown; event?: unknown; features?: unknown };
  if (o.id !== undefined && typeof o.id !== 'string' && typeof o.id !== 'number')
    throw new BadEventError(`${where}.id: must be a string or a number`);
  const id = o.id === undefined ? null : String(o.id);
  if ((o.event === undefined) === (o.features === undefined))
    throw new BadEventError(`${where}: give exactly one of 'event' (Delphes collections) and 'features'`);
  if (o.features !== undefined) return { id, row: featureRowFromJson(o.features, `${where}.features`) };
  const event = delphesEventFromJson(o.event, `${where}.event`);
  let selected: boolean;
  try {
    selected = extractor.select(event);
    if (!selected) return { id, row: null };
    return { id, row: { hlf: extractor.hlf.slice(), particles: extractor.particles() } };
  } catch (e) {
    throw new BadEventError(`${where}.event: ${(e as Error).message}`);
  }
}
