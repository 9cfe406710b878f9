/**
 * Synthetic Delphes-like events for hepflow's demos, tests and benchmarks.
 *
 * Event i of a sample is a pure function of (seed, i, mix, pileup): its class is drawn
 * from the mix by the event's own random stream, so a range [first, first + n) is the
 * same whether produced alone (file k of K, in parallel) or inside a serial run.
 * See docs/generator.md for the physics model.
 */
import type { DelphesEvent } from '../contract/delphes-event.js';
import type { EventClass } from '../physics/schema.js';
import { Detector } from './detector.js';
import { pickClass, resolveMix, TRIGGER_MIX, type ClassMix, type MixInput } from './mix.js';
import { simulate } from './processes.js';
import { Rng } from './rng.js';

export { partRange } from '../contract/generated-files.js';
export { BALANCED_MIX, NAMED_MIXES, TRIGGER_MIX, resolveMix, type ClassMix, type MixInput } from './mix.js';

/** Mean number of pile-up vertices: LHC Run 2 conditions. */
export const DEFAULT_PILEUP = 30;

export interface GenerateOptions {
  /** Number of events to generate (≥ 0). */
  readonly events: number;
  /** Sample seed (non-negative safe integer); default 0. */
  readonly seed?: number;
  /** Global index of the first event; default 0. */
  readonly firstEvent?: number;
  /** Class mix; default the trigger-level mix (W 63%, QCD 36%, tt̄ 1%). */
  readonly mix?: MixInput;
  /** Mean number of pile-up vertices; default 30. */
  readonly pileup?: number;
}

export interface GeneratedEvent {
  /** Global event index (firstEvent + position). */
  readonly index: number;
  readonly eventClass: EventClass;
  readonly event: DelphesEvent;
}

/** Where generated events go: a ROOT file writer, a feature extractor, a counter... */
export interface EventSink {
  write(event: DelphesEvent, eventClass: EventClass): void | Promise<void>;
}

export interface GenerationSummary {
  readonly firstEvent: number;
  readonly events: number;
  readonly classCounts: Readonly<Record<EventClass, number>>;
}

interface ResolvedOptions {
  readonly events: number;
  readonly seed: number;
  readonly firstEvent: number;
  readonly mix: ClassMix;
  readonly pileup: number;
}

function resolveOptions(o: GenerateOptions): ResolvedOptions {
  const events = o.events;
  if (!Number.isSafeInteger(events) || events < 0)
    throw new RangeError(`events must be a non-negative integer, got ${events}`);
  const seed = o.seed ?? 0;
  if (!Number.isSafeInteger(seed) || seed < 0)
    throw new RangeError(`seed must be a non-negative safe integer, got ${seed}`);
  const firstEvent = o.firstEvent ?? 0;
  if (!Number.isSafeInteger(firstEvent) || firstEvent < 0 || !Number.isSafeInteger(firstEvent + events)) {
    throw new RangeError(
      `firstEvent must be a non-negative integer with firstEvent + events a safe integer, got ${firstEvent}`,
    );
  }
  const pileup = o.pileup ?? DEFAULT_PILEUP;
  if (!Number.isFinite(pileup) || pileup < 0 || pileup > 500)
    throw new RangeError(`pileup must be a number in [0, 500], got ${pileup}`);
  const mix = o.mix === undefined ? TRIGGER_MIX : resolveMix(o.mix);
  return { events, seed, firstEvent, mix, pileup };
}

/** Event `index` of the sample defined by (seed, mix, pileup). */
export function generateEvent(
  seed: number,
  index: number,
  mix: ClassMix = TRIGGER_MIX,
  pileup = DEFAULT_PILEUP,
): GeneratedEvent {
  const rng = Rng.forEvent(seed, index);
  const eventClass = pickClass(mix, rng.uniform());
  const det = new Detector(rng);
  simulate(rng, det, eventClass, { pileup });
  return { index, eventClass, event: det.finish() };
}

/** The events [firstEvent, firstEvent + events) one at a time. */
export function* eventStream(options: GenerateOptions): Generator<GeneratedEvent> {
  const o = resolveOptions(options);
  for (let i = 0; i < o.events; i++) yield generateEvent(o.seed, o.firstEvent + i, o.mix, o.pileup);
}

/** Generates the range into `sink`, awaiting each write (back-pressure for async sinks). */
export async function generateEvents(options: GenerateOptions, sink: EventSink): Promise<GenerationSummary> {
  const o = resolveOptions(options);
  const classCounts: Record<EventClass, number> = { qcd: 0, ttbar: 0, wjets: 0 };
  for (let i = 0; i < o.events; i++) {
    const g = generateEvent(o.seed, o.firstEvent + i, o.mix, o.pileup);
    classCounts[g.eventClass]++;
    const pending = sink.write(g.event, g.eventClass);
    if (pending !== undefined) await pending;
  }
  return { firstEvent: o.firstEvent, events: o.events, classCounts };
}
