/**
 * The tfjs layers-model JSON in two dialects. hepflow saves its GRU as the custom class
 * `HepflowFusedGRU` (so tfjs deserialises it into the fused kernel); the portable dialect
 * names it Keras' standard `GRU`, with the same weights (kernel, recurrent_kernel and
 * Keras' reset_after bias [2, 3u]), which Keras reads directly. hepflow loads both.
 */

const FUSED = 'HepflowFusedGRU';
const STANDARD = 'GRU';

interface LayerJson {
  name: string;
  class_name: string;
  config: Record<string, unknown>;
}

/** The `config.layers` of a functional or sequential topology (its layers, nested models' not). */
function layersOf(topology: unknown, where: string): LayerJson[] {
  const t = topology as { config?: { layers?: unknown } } | null;
  const layers = t?.config?.layers;
  if (!Array.isArray(layers)) throw new Error(`${where}: model topology has no config.layers`);
  return layers as LayerJson[];
}

/**
 * A copy of `topology` with every fused GRU as a standard Keras GRU. Refuses what has no
 * Keras equivalent: maskZeros (Keras masks through a Masking layer), and tfjs'
 * hardSigmoid (0.2x + 0.5; Keras 3's hard_sigmoid is x/6 + 0.5).
 */
export function toStandardTopology<T>(topology: T, where = 'model'): T {
  const copy = structuredClone(topology);
  for (const layer of layersOf(copy, where)) {
    if (layer.class_name !== FUSED) continue;
    const { mask_zeros: maskZeros, ...config } = layer.config;
    if (maskZeros === true)
      throw new Error(
        `${where}: GRU layer '${layer.name}' masks zero steps itself (maskZeros), which Keras' GRU cannot; put a Masking(0) layer before it`,
      );
    if (config.recurrent_activation !== 'sigmoid') {
      throw new Error(
        `${where}: GRU layer '${layer.name}' uses recurrent activation '${String(config.recurrent_activation)}', which differs between tfjs and Keras; only 'sigmoid' exports`,
      );
    }
    layer.class_name = STANDARD;
    layer.config = {
      ...config,
      return_sequences: false,
      return_state: false,
      go_backwards: false,
      stateful: false,
      unroll: false,
    };
  }
  return copy;
}

/**
 * A copy of `topology` in which every standard GRU that only the fused layer can run
 * (reset_after: tfjs' own GRU refuses it) becomes the fused GRU, so hepflow loads the
 * portable export (or a model.json converted from Keras) with the same weights.
 */
export function toFusedTopology<T>(topology: T, where = 'model'): T {
  const copy = structuredClone(topology);
  for (const layer of layersOf(copy, where)) {
    if (layer.class_name !== STANDARD || layer.config.reset_after !== true) continue;
    const c = layer.config;
    if (c.return_sequences === true || c.return_state === true || c.go_backwards === true || c.stateful === true) {
      throw new Error(
        `${where}: GRU layer '${layer.name}' returns sequences or state, runs backwards or is stateful: the fused GRU does none of these`,
      );
    }
    layer.class_name = FUSED;
    layer.config = {
      name: c.name,
      trainable: c.trainable ?? true,
      units: c.units,
      activation: c.activation ?? 'tanh',
      recurrent_activation: c.recurrent_activation ?? 'sigmoid',
      use_bias: c.use_bias ?? true,
      reset_after: true,
      mask_zeros: false,
    };
  }
  return copy;
}
