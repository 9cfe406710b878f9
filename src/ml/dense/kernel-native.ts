/** The native fused dense classifier (native/fused_dense, C++ via N-API, built by infra/bootstrap.sh). */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { projectRoot } from '../../paths.js';
import { paramCount, type AdamStep, type MlpImplementation, type MlpKernel } from './kernel.js';

interface NativeMlp {
  setParams(flat: Float32Array): void;
  getParams(flat: Float32Array): void;
  setMoments(m: Float32Array, v: Float32Array): void;
  getMoments(m: Float32Array, v: Float32Array): void;
  forward(x: Float32Array, batch: number, out: Float32Array): void;
  trainStep(x: Float32Array, y: Float32Array, batch: number, adam: AdamStep): number;
}

interface FusedDenseAddon {
  Mlp: new (sizes: number[]) => NativeMlp;
}

/** The native object checks every array's type and length itself. */
class NativeMlpKernel implements MlpKernel {
  readonly paramCount: number;
  constructor(
    readonly sizes: readonly number[],
    private readonly native: NativeMlp,
  ) {
    this.paramCount = paramCount(sizes);
  }
  setParams(flat: Float32Array): void {
    this.native.setParams(flat);
  }
  getParams(flat: Float32Array): void {
    this.native.getParams(flat);
  }
  setMoments(m: Float32Array, v: Float32Array): void {
    this.native.setMoments(m, v);
  }
  getMoments(m: Float32Array, v: Float32Array): void {
    this.native.getMoments(m, v);
  }
  forward(x: Float32Array, batch: number, out: Float32Array): void {
    this.native.forward(x, batch, out);
  }
  trainStep(x: Float32Array, y: Float32Array, batch: number, adam: AdamStep): number {
    return this.native.trainStep(x, y, batch, adam);
  }
}

export const DENSE_ADDON_PATH = path.join(projectRoot, 'native/fused_dense/build/Release/fused_dense.node');

/** Loads the addon, or says why it cannot be used. */
export function loadDenseAddon(file = DENSE_ADDON_PATH): { impl: MlpImplementation } | { error: string } {
  if (!existsSync(file)) return { error: `${file} not built (infra/bootstrap.sh builds it with node-gyp)` };
  let addon: FusedDenseAddon;
  try {
    addon = createRequire(import.meta.url)(file) as FusedDenseAddon;
  } catch (e) {
    return { error: `${file} failed to load: ${(e as Error).message}` };
  }
  if (typeof addon.Mlp !== 'function') return { error: `${file} does not export Mlp` };
  return {
    impl: {
      name: 'native',
      description: 'native C++ addon (one thread)',
      create: (sizes) => new NativeMlpKernel(sizes, new addon.Mlp([...sizes])),
    },
  };
}
