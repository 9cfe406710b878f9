/**
 * The process's runtime settings: which implementation of each compute kernel to use
 * and whether to say more. Resolved from the environment once, at a process's edge (a
 * pool worker, the CLI once its flags are parsed, the serving command), validated
 * there with a message naming the variable and the bad value, and handed to every
 * worker thread the process starts, which installs them before anything else. Domain
 * code asks runtimeSettings() and never reads process.env; chooseOnce is the one way a
 * kernel implementation is chosen, with its fallback and the reason logged once.
 */
import { parseInteger } from './settings.js';
import { isVerbose } from './verbose.js';

/** Each kernel's variable and the implementations it may force; unset (or empty) means the best available. */
export const KERNEL_VARIABLES = {
  /** ROOT basket decompression (src/root/reader/decompress-native.ts). */
  decompress: { variable: 'HEPFLOW_DECOMPRESS', choices: ['native', 'portable'] },
  /** Feature extraction (src/physics/extractor.ts). */
  features: { variable: 'HEPFLOW_FEATURES', choices: ['native', 'js'] },
  /** The sequence models' training step (src/ml/gru/train-step.ts). */
  seqStep: { variable: 'HEPFLOW_SEQ_STEP', choices: ['fused', 'tfjs'] },
  /** The GRU layer (src/ml/gru/select.ts). */
  gru: { variable: 'HEPFLOW_GRU', choices: ['native', 'js', 'tfjs'] },
  /** The dense classifier (src/ml/dense/index.ts). */
  dense: { variable: 'HEPFLOW_DENSE', choices: ['native', 'js', 'tfjs'] },
} as const;

export type KernelName = keyof typeof KERNEL_VARIABLES;

export interface RuntimeSettings {
  /** The implementation each kernel is forced to, or undefined for the best available. */
  readonly kernels: { readonly [K in KernelName]?: (typeof KERNEL_VARIABLES)[K]['choices'][number] | undefined };
  /** HEPFLOW_GRU_THREADS: the native GRU kernel's threads (default: all cores). */
  readonly gruThreads?: number | undefined;
  /** HEPFLOW_VERBOSE: print every kernel choice, not only fallbacks. */
  readonly verbose: boolean;
}

function choice<K extends KernelName>(kernel: K, env: NodeJS.ProcessEnv): RuntimeSettings['kernels'][K] {
  const { variable, choices } = KERNEL_VARIABLES[kernel];
  const raw = env[variable];
  if (raw === undefined || raw === '') return undefined;
  if (!(choices as readonly string[]).includes(raw)) {
    const names =
      choices.length === 2 ? choices.join(' or ') : `${choices.slice(0, -1).join(', ')} or ${choices.at(-1)}`;
    throw new Error(`${variable} must be ${names}, got '${raw}'`);
  }
  return raw as RuntimeSettings['kernels'][K];
}

export function runtimeSettingsFromEnv(env: NodeJS.ProcessEnv = process.env): RuntimeSettings {
  return {
    kernels: {
      decompress: choice('decompress', env),
      features: choice('features', env),
      seqStep: choice('seqStep', env),
      gru: choice('gru', env),
      dense: choice('dense', env),
    },
    gruThreads: parseInteger('HEPFLOW_GRU_THREADS', env['HEPFLOW_GRU_THREADS'] || undefined, undefined),
    verbose: isVerbose(env),
  };
}

let installed: RuntimeSettings | undefined;

/** Installs the settings the process's edge resolved (or a thread received); before any kernel is chosen. */
export function installRuntimeSettings(settings: RuntimeSettings): void {
  installed = settings;
}

/**
 * The installed settings; a process whose edge installed none (a library use, a test)
 * resolves them from its environment on first use, once.
 */
export function runtimeSettings(): RuntimeSettings {
  return (installed ??= runtimeSettingsFromEnv());
}

/** What a kernel choice says of itself: why this implementation (a fallback's reason starts "native unavailable"). */
export interface KernelChoice {
  readonly reason: string;
}

/**
 * A kernel's implementation, chosen by `resolve` on first use and kept: the choice is
 * logged once, always when it fell back (a fallback costs speed) and otherwise only
 * when verbose.
 */
export function chooseOnce<T extends KernelChoice>(
  area: string,
  resolve: (settings: RuntimeSettings) => T,
  describe: (choice: T) => string,
): () => T {
  let chosen: T | undefined;
  return () => {
    if (chosen === undefined) {
      const settings = runtimeSettings();
      chosen = resolve(settings);
      if (settings.verbose || chosen.reason.startsWith('native unavailable'))
        console.error(`[hepflow:${area}] using ${describe(chosen)} (${chosen.reason})`);
    }
    return chosen;
  };
}
