/**
 * The native fused GRU (native/fused_gru, C++ via N-API): threads across batch rows,
 * register-blocked SIMD products, built with -O3 -march=native by infra/bootstrap.sh.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import {
  HostSavedState,
  padSequences,
  WorkspacePool,
  type GruForwardResult,
  type GruGradients,
  type GruInputs,
  type GruKernel,
  type GruKernelConfig,
  type GruSavedState,
  type GruSequenceConfig,
  type GruSequenceInputs,
} from './kernel.js';

interface AddonConfig {
  B: number;
  T: number;
  F: number;
  U: number;
  threads: number;
  resetAfter: boolean;
  hardSigmoid: boolean;
}

interface FusedGruAddon {
  forward(
    config: AddonConfig,
    x: Float32Array,
    mask: Uint8Array | null,
    W: Float32Array,
    U: Float32Array,
    bias: Float32Array | null,
    h0: Float32Array,
    hT: Float32Array,
    hs: Float32Array | null,
    gates: Float32Array | null,
  ): void;
  /** Inference only, reset_after only: the last states of unpadded sequences (gru_infer.cc). */
  forwardInfer(
    config: AddonConfig,
    x: Float32Array,
    lengths: Int32Array,
    mean: Float64Array | null,
    std: Float64Array | null,
    W: Float32Array,
    U: Float32Array,
    bias: Float32Array | null,
    h0: Float32Array,
    hT: Float32Array,
  ): void;
  backward(
    config: AddonConfig,
    x: Float32Array,
    mask: Uint8Array | null,
    W: Float32Array,
    U: Float32Array,
    h0: Float32Array,
    hs: Float32Array,
    gates: Float32Array,
    dhT: Float32Array,
    dx: Float32Array,
    dW: Float32Array,
    dU: Float32Array,
    dBias: Float32Array | null,
    dh0: Float32Array,
  ): void;
  readonly hardwareThreads: number;
}

/** The repository root: the nearest ancestor with a package.json (works from src/ and dist/). */
function repoRoot(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  while (!existsSync(path.join(dir, 'package.json'))) {
    const up = path.dirname(dir);
    if (up === dir) throw new Error(`fused GRU: no package.json above ${fileURLToPath(import.meta.url)}`);
    dir = up;
  }
  return dir;
}

export const ADDON_PATH = path.join(repoRoot(), 'native/fused_gru/build/Release/fused_gru.node');

/** Loads the addon, or explains why it cannot be used. */
export function loadNativeAddon(): { addon: FusedGruAddon } | { error: string } {
  if (!existsSync(ADDON_PATH)) {
    return { error: `${ADDON_PATH} not built (infra/bootstrap.sh builds it with node-gyp)` };
  }
  try {
    const addon = createRequire(import.meta.url)(ADDON_PATH) as FusedGruAddon;
    if (
      typeof addon.forward !== 'function' ||
      typeof addon.backward !== 'function' ||
      typeof addon.forwardInfer !== 'function'
    ) {
      return { error: `${ADDON_PATH} does not export forward/backward/forwardInfer (stale build?)` };
    }
    return { addon };
  } catch (e) {
    return { error: `${ADDON_PATH} failed to load: ${(e as Error).message}` };
  }
}

export class NativeGruKernel implements GruKernel {
  readonly name = 'native';
  readonly description: string;
  private readonly pool = new WorkspacePool();

  constructor(
    private readonly addon: FusedGruAddon,
    readonly threads: number = Math.max(1, addon.hardwareThreads || 1),
  ) {
    this.description = `native C++ addon (${this.threads} thread${this.threads === 1 ? '' : 's'})`;
  }

  private cfg(c: GruKernelConfig): AddonConfig {
    return {
      B: c.batch,
      T: c.steps,
      F: c.features,
      U: c.units,
      threads: this.threads,
      resetAfter: c.resetAfter,
      hardSigmoid: c.hardSigmoid,
    };
  }

  forward(c: GruKernelConfig, a: GruInputs, save: boolean): GruForwardResult {
    const hT = new Float32Array(c.batch * c.units);
    const saved = save ? new HostSavedState(c, this.pool) : null;
    this.addon.forward(
      this.cfg(c),
      a.x,
      a.mask,
      a.kernel,
      a.recurrentKernel,
      a.bias,
      a.h0,
      hT,
      saved?.hs ?? null,
      saved?.gates ?? null,
    );
    return { hT, saved };
  }

  // The inference kernel covers Keras' reset_after variant (hepflow's models); tfjs' form
  // needs r before its candidate product and keeps the training forward.
  lastState(c: GruSequenceConfig, a: GruSequenceInputs): Float32Array {
    if (!c.resetAfter) {
      const padded = padSequences(c, a);
      return this.forward(padded.config, padded.inputs, false).hT;
    }
    const hT = new Float32Array(c.batch * c.units);
    // steps is not read: the longest length is the padded length.
    this.addon.forwardInfer(
      this.cfg({ ...c, steps: 1 }),
      a.x,
      a.lengths,
      a.scale?.mean ?? null,
      a.scale?.std ?? null,
      a.kernel,
      a.recurrentKernel,
      a.bias,
      a.h0,
      hT,
    );
    return hT;
  }

  backward(c: GruKernelConfig, a: GruInputs, s: GruSavedState, dhT: Float32Array): GruGradients {
    if (!(s instanceof HostSavedState)) throw new Error('fused GRU (native): foreign saved state');
    s.assertLive();
    const U3 = 3 * c.units;
    const g = {
      dx: new Float32Array(c.batch * c.steps * c.features),
      dKernel: new Float32Array(c.features * U3),
      dRecurrentKernel: new Float32Array(c.units * U3),
      dBias: a.bias === null ? null : new Float32Array(c.resetAfter ? 2 * U3 : U3),
      dh0: new Float32Array(c.batch * c.units),
    };
    this.addon.backward(
      this.cfg(c),
      a.x,
      a.mask,
      a.kernel,
      a.recurrentKernel,
      a.h0,
      s.hs,
      s.gates,
      dhT,
      g.dx,
      g.dKernel,
      g.dRecurrentKernel,
      g.dBias,
      g.dh0,
    );
    return g;
  }
}
