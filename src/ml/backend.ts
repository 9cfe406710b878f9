/**
 * Chooses the TensorFlow.js compute backend at run time.
 *
 * Native packages (@tensorflow/tfjs-node, -node-gpu) are opt-in and usually absent, so
 * every backend package is loaded with a dynamic import: a missing one is a reason in
 * the log, not a crash. `auto` prefers the fastest that loads.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { runtimeSettings } from '../runtime-settings.js';

export const BACKEND_REQUESTS = ['auto', 'tensorflow', 'tensorflow-gpu', 'wasm', 'cpu'] as const;
export type BackendRequest = (typeof BACKEND_REQUESTS)[number];
/** A concrete choice; `auto` resolves to one of these. */
export type BackendKind = Exclude<BackendRequest, 'auto'>;

/** Order tried by `auto`: fastest first. */
export const AUTO_ORDER: readonly BackendKind[] = ['tensorflow-gpu', 'tensorflow', 'wasm', 'cpu'];

export interface BackendInfo {
  readonly requested: BackendRequest;
  readonly kind: BackendKind;
  /** tf.getBackend() after initialisation: 'tensorflow', 'wasm' or 'cpu'. */
  readonly tfBackend: string;
  /** Why earlier candidates were skipped (auto) — for the log and run metadata. */
  readonly skipped: readonly string[];
}

/** Loads a backend package and makes it the active tf backend; throws when it cannot. */
export type BackendLoader = () => Promise<void>;
export type BackendLoaders = Record<BackendKind, BackendLoader>;

export function parseBackendRequest(value: string): BackendRequest {
  if ((BACKEND_REQUESTS as readonly string[]).includes(value)) return value as BackendRequest;
  throw new Error(`unknown compute backend '${value}': expected one of ${BACKEND_REQUESTS.join(', ')}`);
}

const require = createRequire(import.meta.url);

async function activate(name: string): Promise<void> {
  if (!(await tf.setBackend(name))) throw new Error(`tf.setBackend('${name}') failed`);
  await tf.ready();
}

/** Imports a package by a name held in a variable so TypeScript does not require its types. */
async function importOptional(pkg: string): Promise<void> {
  await import(pkg);
}

/** The real loaders; tests replace them to exercise the selection logic. */
export const defaultLoaders: BackendLoaders = {
  'tensorflow-gpu': async () => {
    await importOptional('@tensorflow/tfjs-node-gpu');
    await activate('tensorflow');
  },
  tensorflow: async () => {
    await importOptional('@tensorflow/tfjs-node');
    await activate('tensorflow');
  },
  wasm: async () => {
    const wasm = (await import('@tensorflow/tfjs-backend-wasm')) as typeof import('@tensorflow/tfjs-backend-wasm');
    // In Node the backend would try to fetch the binaries by URL; point it at the files
    // shipped next to the package's entry point instead (trailing separator: a prefix).
    const dir = path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm'));
    wasm.setWasmPaths(dir + path.sep);
    await activate('wasm');
    installWasmUnpackFix();
  },
  cpu: async () => {
    await activate('cpu');
  },
};

/**
 * tfjs warns through console.warn whenever the orthogonal initializer (the GRU's
 * recurrent kernel, as in Keras) gets more than 2000 elements: a one-off QR per model,
 * not a slowness of training. Shown only with --verbose; every other warning passes.
 */
const TFJS_ORTHOGONAL_NOTICE = 'Orthogonal initializer is being called on a matrix with more than';
const consoleWarn = console.warn;
console.warn = (...args: unknown[]): void => {
  if (!runtimeSettings().verbose && typeof args[0] === 'string' && args[0].startsWith(TFJS_ORTHOGONAL_NOTICE)) return;
  consoleWarn(...args);
};

function describe(err: unknown): string {
  const msg = err instanceof Error ? err.message : String(err);
  return msg.split('\n')[0] ?? msg;
}

/**
 * Initialises the requested backend. An explicit request that fails throws (the user
 * asked for it); `auto` walks AUTO_ORDER and records why each skipped one failed.
 */
export async function initBackend(
  requested: BackendRequest,
  options: { log?: (message: string) => void; loaders?: BackendLoaders } = {},
): Promise<BackendInfo> {
  const loaders = options.loaders ?? defaultLoaders;
  const log = options.log ?? ((m: string) => console.error(m));
  const candidates = requested === 'auto' ? AUTO_ORDER : [requested];
  const skipped: string[] = [];
  for (const kind of candidates) {
    try {
      await loaders[kind]();
    } catch (err) {
      if (requested !== 'auto') {
        throw new Error(`compute backend '${kind}' could not be initialised: ${describe(err)}`);
      }
      skipped.push(`${kind}: ${describe(err)}`);
      continue;
    }
    const info: BackendInfo = { requested, kind, tfBackend: tf.getBackend(), skipped };
    // Every run records the choice (BackendInfo); printing it each time is for --verbose.
    if (runtimeSettings().verbose) {
      log(
        `[ml] compute backend: ${kind} (tf backend '${info.tfBackend}', requested '${requested}')` +
          (skipped.length ? `; skipped ${skipped.join('; ')}` : ''),
      );
    }
    return info;
  }
  throw new Error(`no compute backend could be initialised: ${skipped.join('; ')}`);
}

/** What tfjs-node(-gpu)'s backend object exposes beyond tfjs' KernelBackend. */
interface NativeBackendInternals {
  readonly isGPUPackage?: boolean;
  /** Set once by the addon: TensorFlow listed a GPU device, and every op is placed on it. */
  readonly isUsingGpuDevice?: boolean;
  readonly binding?: { readonly TF_Version?: string };
}

/** The GPUs the NVIDIA driver lists (model names), whether or not TensorFlow can use them. */
export function driverGpus(root = '/proc/driver/nvidia/gpus'): string[] {
  let ids: string[];
  try {
    ids = readdirSync(root).sort();
  } catch {
    return [];
  }
  return ids.map((id) => {
    let info = '';
    try {
      info = readFileSync(path.join(root, id, 'information'), 'utf8');
    } catch {
      // A start-up log line is no reason to stop a worker: the GPU is still listed.
    }
    return `${/^Model:\s*(.+)$/m.exec(info)?.[1]?.trim() ?? 'unknown model'} (${id})`;
  });
}

/**
 * Where the initialised backend computes, in words, for a worker's start-up log: the GPU
 * when tfjs-node-gpu's TensorFlow found one, else the CPU, with the driver's GPUs named
 * when TensorFlow did not use them (its own log then says which CUDA library failed).
 */
export function describeComputeDevice(info: BackendInfo, gpus: readonly string[] = driverGpus()): string {
  if (info.tfBackend !== 'tensorflow') return `CPU (tfjs ${info.tfBackend} backend)`;
  const b = tf.backend() as unknown as NativeBackendInternals;
  const version = `TensorFlow ${b.binding?.TF_Version ?? '?'}`;
  const driver = gpus.length ? gpus.join(', ') : 'none';
  if (b.isUsingGpuDevice) return `GPU (${version}; driver GPUs: ${driver})`;
  if (!b.isGPUPackage) return `CPU (${version}, tfjs-node)`;
  return gpus.length
    ? `CPU (${version}: no GPU visible to TensorFlow although the driver lists ${driver}; running on CPU)`
    : `CPU (${version}: no GPU visible, running on CPU)`;
}

// ---------------------------------------------------------------------------------------
// WASM Unpack fix

/** The parts of tfjs-backend-wasm's BackendWasm that the kernel uses (not exported typed). */
interface WasmBackendInternals {
  readonly wasm: { readonly HEAPU8: Uint8Array };
  readonly dataIdMap: { get(dataId: object): { memoryOffset: number } | undefined };
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
}

const BYTES_PER_ELEMENT: Partial<Record<tf.DataType, number>> = { float32: 4, int32: 4, bool: 1 };

/**
 * Unpack (tf.unstack) for the WASM backend in one pass over the input.
 *
 * tfjs 4.22's version calls its Slice kernel once per output, and Slice starts with
 * readSync(), which copies the WHOLE input out of the WASM heap: T outputs cost T full
 * copies. tfjs-layers unstacks every GRU input and gradient along time, so at T=801 this
 * is quadratic and dominates the step. Here all outputs are allocated first (malloc can
 * grow the heap and replace its buffer), then each slice is copied straight from the heap.
 */
export function unpackWasmKernel(
  args: { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs?: tf.NamedAttrMap },
  fallback: tf.KernelFunc,
): tf.TensorInfo[] {
  const value = args.inputs['value'];
  if (value === undefined) throw new Error('Unpack: missing input "value"');
  const bytes = BYTES_PER_ELEMENT[value.dtype];
  if (bytes === undefined) return fallback(args as Parameters<tf.KernelFunc>[0]) as tf.TensorInfo[];
  const backend = args.backend as WasmBackendInternals;
  const rank = value.shape.length;
  let axis = Number(args.attrs?.['axis'] ?? 0);
  if (axis < 0) axis += rank;
  const count = value.shape[axis]!;
  const outer = value.shape.slice(0, axis).reduce((a, b) => a * b, 1);
  const inner = value.shape.slice(axis + 1).reduce((a, b) => a * b, 1);
  const outShape = value.shape.filter((_, i) => i !== axis);

  const outs: tf.TensorInfo[] = [];
  for (let i = 0; i < count; i++) outs.push(backend.makeOutput(outShape, value.dtype));

  const heap = backend.wasm.HEAPU8;
  const srcOffset = backend.dataIdMap.get(value.dataId)!.memoryOffset;
  const rowBytes = inner * bytes;
  for (let i = 0; i < count; i++) {
    const dstOffset = backend.dataIdMap.get(outs[i]!.dataId)!.memoryOffset;
    for (let o = 0; o < outer; o++) {
      const from = srcOffset + (o * count + i) * rowBytes;
      heap.copyWithin(dstOffset + o * rowBytes, from, from + rowBytes);
    }
  }
  return outs;
}

/** tfjs' own kernel, kept to delegate non-numeric dtypes and for comparisons. */
let originalUnpack: tf.KernelConfig | undefined;

/** Replaces the WASM backend's Unpack kernel with unpackWasmKernel (idempotent). */
export function installWasmUnpackFix(): void {
  if (originalUnpack !== undefined) return;
  const original = tf.getKernel('Unpack', 'wasm');
  if (original === undefined) throw new Error('the WASM backend has no Unpack kernel to replace');
  tf.unregisterKernel('Unpack', 'wasm');
  tf.registerKernel({
    kernelName: 'Unpack',
    backendName: 'wasm',
    kernelFunc: (args: Parameters<tf.KernelFunc>[0]) => unpackWasmKernel(args, original.kernelFunc),
  });
  originalUnpack = original;
}

/**
 * Runs `body` with tfjs' own Unpack registered for WASM, then puts the fix back (after
 * the promise settles when `body` is async). For the equality test and the benchmark.
 */
export function withOriginalWasmUnpack<T>(body: () => T): T {
  const original = originalUnpack;
  if (original === undefined) throw new Error('installWasmUnpackFix() has not run');
  const fixed = tf.getKernel('Unpack', 'wasm');
  if (fixed === undefined) throw new Error('the WASM backend has no Unpack kernel');
  const swap = (to: tf.KernelConfig) => {
    tf.unregisterKernel('Unpack', 'wasm');
    tf.registerKernel(to);
  };
  swap(original);
  let result: T;
  try {
    result = body();
  } catch (err) {
    swap(fixed);
    throw err;
  }
  if (result instanceof Promise) return result.finally(() => swap(fixed)) as T;
  swap(fixed);
  return result;
}
