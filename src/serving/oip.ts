/**
 * The Open Inference Protocol (KServe v2, the API of Triton and of CMS' SONIC clients)
 * over one loaded model, shared by its REST (oip-rest.ts) and gRPC (grpc-server.ts)
 * bindings. The model's tensors:
 *
 *   inputs   hlf        FP32 [N, 14]      raw (unscaled) high-level features, HLF_NAMES order
 *            particles  FP32 [N, T, 19]   raw particle features (PARTICLE_FEATURE_NAMES); rows
 *                                         that are all zero are padding and dropped, so a
 *                                         batch of events of different lengths is padded
 *                                         to one T (in front or behind) with zeros
 *   output   probabilities  FP32 [N, classes], classes in the order of the response's
 *                                         `classes` parameter and of the REST metadata
 *
 * The HLF model takes `hlf`, the particle-sequence model `particles`, the inclusive
 * model both. FP64 inputs are accepted and rounded to FP32. Events go through the same
 * batcher as the native API's, so requests of every protocol share batches.
 */
import { HLF_NAMES, N_HLF, N_PARTICLE_FEATURES, PARTICLE_FEATURE_NAMES } from '../physics/schema.js';
import { modelInputs, type ModelInputName } from '../ml/models.js';
import type { InputRow } from '../ml/data.js';
import type { ErrorKind } from './metrics.js';
import type { ScoringService } from './scoring-service.js';

/** A request the protocol refuses: its message and the metrics' kind (status codes follow from it). */
export class OipError extends Error {
  constructor(
    message: string,
    readonly kind: Extract<ErrorKind, 'bad_request' | 'not_found' | 'unsupported'>,
  ) {
    super(message);
  }
}

export interface TensorMetadata {
  readonly name: string;
  readonly datatype: string;
  readonly shape: readonly number[];
}

/** An input tensor as a binding decoded it: the values row-major, as float32. */
export interface InputTensor {
  readonly name: string;
  readonly shape: readonly number[];
  readonly values: Float32Array;
}

export const OUTPUT_NAME = 'probabilities';
const WIDTH: Record<ModelInputName, number> = { hlf: N_HLF, particles: N_PARTICLE_FEATURES };
const BYTES: Record<string, number> = { FP32: 4, FP64: 8 };

/** The float32 values of `bytes` (little-endian FP32 or FP64, the protocol's raw encoding). */
export function rawValues(datatype: string, bytes: Uint8Array, where: string): Float32Array {
  const size = BYTES[datatype];
  if (size === undefined)
    throw new OipError(`${where}: datatype ${datatype} not supported (FP32 or FP64)`, 'unsupported');
  if (bytes.byteLength % size !== 0)
    throw new OipError(
      `${where}: ${bytes.byteLength} bytes is not a whole number of ${datatype} values`,
      'bad_request',
    );
  // A copy: the bytes of a request body or protobuf message need not be aligned.
  const copy = new Uint8Array(bytes);
  return datatype === 'FP32'
    ? new Float32Array(copy.buffer, 0, copy.byteLength / 4)
    : Float32Array.from(new Float64Array(copy.buffer, 0, copy.byteLength / 8));
}

/** The float32 values of a JSON `data` array, flat or nested row-major. */
export function jsonValues(datatype: string, data: unknown, where: string): Float32Array {
  if (BYTES[datatype] === undefined)
    throw new OipError(`${where}: datatype ${datatype} not supported (FP32 or FP64)`, 'unsupported');
  if (!Array.isArray(data)) throw new OipError(`${where}: 'data' must be an array of numbers`, 'bad_request');
  const flat = (data as unknown[]).flat(Infinity);
  const out = new Float32Array(flat.length);
  for (let i = 0; i < flat.length; i++) {
    const v = flat[i];
    if (typeof v !== 'number' || !Number.isFinite(v))
      throw new OipError(`${where}: data[${i}] is not a finite number: ${JSON.stringify(v)}`, 'bad_request');
    out[i] = v;
  }
  return out;
}

/** The real particles of one event's [T, 19] slice: all-zero rows are padding. */
function particlesOf(values: Float32Array, from: number, steps: number): Float32Array {
  const kept: number[] = [];
  for (let t = 0; t < steps; t++) {
    const at = from + t * N_PARTICLE_FEATURES;
    for (let f = 0; f < N_PARTICLE_FEATURES; f++) {
      if (values[at + f] !== 0) {
        kept.push(at);
        break;
      }
    }
  }
  const out = new Float32Array(kept.length * N_PARTICLE_FEATURES);
  kept.forEach((at, i) => out.set(values.subarray(at, at + N_PARTICLE_FEATURES), i * N_PARTICLE_FEATURES));
  return out;
}

export class OipModel {
  readonly inputNames: readonly ModelInputName[];

  constructor(
    readonly service: ScoringService,
    readonly name: string,
    readonly version = '1',
  ) {
    this.inputNames = modelInputs(service.bundle.input.kind);
  }

  get classes(): readonly string[] {
    return this.service.bundle.classNames;
  }

  /** Throws not_found unless `name` (and `version`, when given) is this model's. */
  check(name: string, version: string | undefined): void {
    if (name !== this.name) throw new OipError(`unknown model '${name}' (this server has '${this.name}')`, 'not_found');
    if (version !== undefined && version !== '' && version !== this.version)
      throw new OipError(`model '${name}' has no version '${version}' (only '${this.version}')`, 'not_found');
  }

  inputs(): TensorMetadata[] {
    return this.inputNames.map((n) => ({
      name: n,
      datatype: 'FP32',
      shape: n === 'hlf' ? [-1, N_HLF] : [-1, -1, N_PARTICLE_FEATURES],
    }));
  }

  outputs(): TensorMetadata[] {
    return [{ name: OUTPUT_NAME, datatype: 'FP32', shape: [-1, this.classes.length] }];
  }

  /** The feature names of each input, for the REST metadata. */
  featureNames(): Record<string, readonly string[]> {
    return Object.fromEntries(this.inputNames.map((n) => [n, n === 'hlf' ? HLF_NAMES : PARTICLE_FEATURE_NAMES]));
  }

  /** Refuses outputs other than the model's one. */
  checkOutputs(names: readonly string[]): void {
    for (const n of names)
      if (n !== OUTPUT_NAME) throw new OipError(`no output '${n}' (the model has '${OUTPUT_NAME}')`, 'bad_request');
  }

  /** The feature rows the tensors describe, every shape checked. */
  rows(tensors: readonly InputTensor[]): InputRow[] {
    const byName = new Map(tensors.map((t) => [t.name, t]));
    for (const t of tensors)
      if (!(this.inputNames as readonly string[]).includes(t.name))
        throw new OipError(`unknown input '${t.name}' (the model takes ${this.inputNames.join(', ')})`, 'bad_request');
    let n = -1;
    for (const name of this.inputNames) {
      const t = byName.get(name);
      if (t === undefined) throw new OipError(`missing input '${name}'`, 'bad_request');
      const rank = name === 'hlf' ? 2 : 3;
      const last = t.shape[t.shape.length - 1];
      if (t.shape.length !== rank || last !== WIDTH[name] || t.shape.some((d) => !Number.isInteger(d) || d < 0))
        throw new OipError(
          `input '${name}': shape [${t.shape.join(',')}], expected [N,${rank === 3 ? 'T,' : ''}${WIDTH[name]}]`,
          'bad_request',
        );
      const count = t.shape.reduce((a, b) => a * b, 1);
      if (t.values.length !== count)
        throw new OipError(
          `input '${name}': ${t.values.length} values for shape [${t.shape.join(',')}] (${count})`,
          'bad_request',
        );
      if (n >= 0 && t.shape[0] !== n)
        throw new OipError(`inputs disagree on the batch size: ${n} and ${t.shape[0]}`, 'bad_request');
      n = t.shape[0]!;
    }
    if (n === 0) throw new OipError('empty batch (N = 0)', 'bad_request');
    const hlf = byName.get('hlf');
    const particles = byName.get('particles');
    const steps = particles?.shape[1] ?? 0;
    return Array.from({ length: n }, (_, i) => ({
      hlf: hlf === undefined ? new Float32Array(N_HLF) : hlf.values.slice(i * N_HLF, (i + 1) * N_HLF),
      particles:
        particles === undefined
          ? new Float32Array(0)
          : particlesOf(particles.values, i * steps * N_PARTICLE_FEATURES, steps),
    }));
  }

  /** Probabilities [N x classes] row-major, through the service's batcher. */
  async infer(tensors: readonly InputTensor[]): Promise<Float32Array> {
    const rows = this.rows(tensors);
    const probs = await this.service.batcher.submit(rows);
    const k = this.classes.length;
    const out = new Float32Array(rows.length * k);
    probs.forEach((p, i) => out.set(p, i * k));
    return out;
  }
}
