/**
 * The class mix of a generated sample: the probability of each event class.
 */
import { EVENT_CLASSES, type EventClass } from '../physics/schema.js';

export type ClassMix = Readonly<Record<EventClass, number>>;

/** Trigger-level mix of the reference: W+jets 63%, QCD 36%, tt̄ 1%. */
export const TRIGGER_MIX: ClassMix = { qcd: 0.36, ttbar: 0.01, wjets: 0.63 };
/** Equal thirds: every class well populated in small demo samples. */
export const BALANCED_MIX: ClassMix = { qcd: 1 / 3, ttbar: 1 / 3, wjets: 1 / 3 };

export const NAMED_MIXES = { trigger: TRIGGER_MIX, balanced: BALANCED_MIX } as const;

/**
 * A mix as users give it: a preset name, a `class=weight,...` string (CLI form, e.g.
 * `wjets=2,qcd=1`), or an object of weights. Weights need not sum to 1; classes left out
 * get weight 0.
 */
export type MixInput = keyof typeof NAMED_MIXES | string | Readonly<Partial<Record<string, number>>>;

function isEventClass(name: string): name is EventClass {
  return (EVENT_CLASSES as readonly string[]).includes(name);
}

/** Validates and normalises a mix; throws with the offending class and value. */
export function resolveMix(input: MixInput): ClassMix {
  let weights: Readonly<Partial<Record<string, number>>>;
  if (typeof input === 'string') {
    const named = (NAMED_MIXES as Record<string, ClassMix>)[input];
    if (named !== undefined) return named;
    const parsed: Record<string, number> = {};
    for (const part of input.split(',')) {
      const m = /^\s*([A-Za-z_]+)\s*[=:]\s*([^\s]+)\s*$/.exec(part);
      if (m === null) {
        throw new Error(
          `class mix "${input}": expected a preset (${Object.keys(NAMED_MIXES).join(', ')}) or class=weight pairs like "wjets=0.63,qcd=0.36,ttbar=0.01"`,
        );
      }
      const value = Number(m[2]);
      if (m[1]! in parsed) throw new Error(`class mix "${input}": class "${m[1]}" given twice`);
      parsed[m[1]!] = value;
    }
    weights = parsed;
  } else {
    weights = input;
  }
  const out: Record<EventClass, number> = { qcd: 0, ttbar: 0, wjets: 0 };
  let sum = 0;
  for (const [name, w] of Object.entries(weights)) {
    if (!isEventClass(name)) {
      throw new Error(`class mix: unknown class "${name}" (known: ${EVENT_CLASSES.join(', ')})`);
    }
    if (typeof w !== 'number' || !Number.isFinite(w) || w < 0) {
      throw new Error(`class mix: weight of "${name}" must be a finite number >= 0, got ${String(w)}`);
    }
    out[name] = w;
    sum += w;
  }
  if (!(sum > 0)) throw new Error('class mix: the weights must sum to a positive number');
  for (const c of EVENT_CLASSES) out[c] /= sum;
  return out;
}

/** The class for a uniform deviate u ∈ (0, 1). */
export function pickClass(mix: ClassMix, u: number): EventClass {
  let acc = 0;
  for (const c of EVENT_CLASSES) {
    acc += mix[c];
    if (u < acc) return c;
  }
  // Rounding can leave acc a hair below 1: fall back to the last class with weight.
  for (let i = EVENT_CLASSES.length - 1; i >= 0; i--) if (mix[EVENT_CLASSES[i]!] > 0) return EVENT_CLASSES[i]!;
  throw new Error('class mix has no class with positive weight');
}
