/**
 * Model parameters and Adam state as plain named arrays, the unit workers exchange
 * through object storage, and their sample-weighted average (the synchronisation step
 * of local SGD). No tfjs here: the averaging is plain arithmetic over typed arrays.
 */
import { CheckpointError } from '../../errors.js';

export interface TensorSpec {
  readonly name: string;
  readonly shape: readonly number[];
  readonly dtype: 'float32' | 'int32';
}

/** Tensors in order; `data` is their values back to back, 4 bytes each, little-endian. */
export interface TensorSet {
  readonly specs: readonly TensorSpec[];
  readonly data: Uint8Array;
}

const size = (s: TensorSpec) => s.shape.reduce((a, b) => a * b, 1);

export function packTensors(specs: readonly TensorSpec[], values: readonly (Float32Array | Int32Array)[]): TensorSet {
  if (specs.length !== values.length) throw new Error(`packTensors: ${specs.length} specs for ${values.length} arrays`);
  const total = specs.reduce((s, spec) => s + size(spec), 0);
  const data = new Uint8Array(total * 4);
  let at = 0;
  specs.forEach((spec, i) => {
    const v = values[i]!;
    if (v.length !== size(spec))
      throw new Error(`packTensors: ${spec.name} has ${v.length} values, shape ${JSON.stringify(spec.shape)}`);
    const want = spec.dtype === 'int32' ? Int32Array : Float32Array;
    if (!(v instanceof want)) throw new Error(`packTensors: ${spec.name} is not ${spec.dtype}`);
    data.set(new Uint8Array(v.buffer, v.byteOffset, v.byteLength), at);
    at += v.byteLength;
  });
  return { specs, data };
}

/**
 * Copies out each tensor's values (the data may be an unaligned view of a download). A set
 * whose bytes do not fit its specs is a stored state no retry can make usable.
 */
export function unpackTensors(set: TensorSet, where: string): (Float32Array | Int32Array)[] {
  const total = set.specs.reduce((s, spec) => s + size(spec), 0);
  if (set.data.byteLength !== total * 4)
    throw new CheckpointError(`${where}: ${set.data.byteLength} bytes, specs need ${total * 4}`);
  const aligned = new Uint8Array(set.data);
  let at = 0;
  return set.specs.map((spec) => {
    const n = size(spec);
    const out =
      spec.dtype === 'int32' ? new Int32Array(aligned.buffer, at, n) : new Float32Array(aligned.buffer, at, n);
    at += n * 4;
    return out;
  });
}

export interface WorkerState {
  readonly weights: TensorSet;
  /** Adam's step counter and moments; absent before the first step. */
  readonly optimizer?: TensorSet | undefined;
  /** Training rows the worker's round saw: the weight of its state in the average. */
  readonly samples: number;
}

/** Names are informational: tfjs suffixes variable names per process, so only shapes must agree. */
function sameSpecs(a: readonly TensorSpec[], b: readonly TensorSpec[]): boolean {
  return a.length === b.length && a.every((s, i) => s.dtype === b[i]!.dtype && s.shape.join() === b[i]!.shape.join());
}

/**
 * The sample-weighted mean of the workers' weights and Adam moments. Adam's step
 * counter (int32) takes the largest count, so bias correction continues from the step
 * the most advanced worker reached rather than re-warming.
 */
export function averageStates(
  states: readonly WorkerState[],
  where: string,
): { weights: TensorSet; optimizer?: TensorSet | undefined } {
  if (states.length === 0) throw new Error(`${where}: nothing to average`);
  const total = states.reduce((s, w) => s + w.samples, 0);
  if (!(total > 0)) throw new Error(`${where}: the workers trained on no rows`);
  const average = (sets: TensorSet[], what: string): TensorSet => {
    const specs = sets[0]!.specs;
    sets.forEach((s, i) => {
      if (!sameSpecs(s.specs, specs))
        throw new CheckpointError(`${where}: worker ${i}'s ${what} tensors differ from worker 0's`);
    });
    const unpacked = sets.map((s, i) => unpackTensors(s, `${where} worker ${i} ${what}`));
    const out = specs.map((spec, t) => {
      if (spec.dtype === 'int32') {
        const r = new Int32Array(unpacked[0]![t]!.length);
        for (const u of unpacked) {
          const a = u[t]!;
          for (let j = 0; j < r.length; j++) r[j] = Math.max(r[j]!, a[j]!);
        }
        return r;
      }
      const acc = new Float64Array(unpacked[0]![t]!.length);
      unpacked.forEach((u, w) => {
        const f = states[w]!.samples / total;
        const a = u[t]!;
        for (let j = 0; j < acc.length; j++) acc[j]! += f * a[j]!;
      });
      return Float32Array.from(acc);
    });
    return packTensors(specs, out);
  };
  const weights = average(
    states.map((s) => s.weights),
    'weight',
  );
  const withOpt = states.filter((s) => s.optimizer !== undefined);
  if (withOpt.length !== 0 && withOpt.length !== states.length)
    throw new Error(`${where}: some workers have optimizer state, some not`);
  return withOpt.length === 0
    ? { weights }
    : {
        weights,
        optimizer: average(
          states.map((s) => s.optimizer!),
          'optimizer',
        ),
      };
}
