"""Writes a Keras 3 `.keras` file from a tfjs layers model in the portable dialect.

usage: keras_export.py <model.json> <weights.bin> <out.keras>

model.json must name only standard Keras layers (hepflow's export rewrites its fused GRU
as Keras' GRU first); Keras 3 reads the tfjs topology (Keras' legacy functional config)
with Model.from_config. Weights are assigned layer by layer in the manifest's order,
which is each layer's own weight order. Prints {"layers": n, "parameters": n} as JSON.
"""
import json
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402
import keras  # noqa: E402

DTYPES = {"float32": np.float32, "int32": np.int32}


def main(model_json: str, weights_bin: str, out: str) -> None:
    with open(model_json) as f:
        spec = json.load(f)
    with open(weights_bin, "rb") as f:
        data = f.read()
    topology = spec["modelTopology"]
    model = keras.Model.from_config(topology["config"])
    by_layer: dict[str, list[np.ndarray]] = {}
    offset = 0
    for group in spec["weightsManifest"]:
        for w in group["weights"]:
            dtype = DTYPES.get(w["dtype"])
            if dtype is None:
                raise SystemExit(f"{model_json}: weight {w['name']} has unsupported dtype {w['dtype']}")
            count = int(np.prod(w["shape"], dtype=np.int64))
            arr = np.frombuffer(data, dtype=dtype, count=count, offset=offset).reshape(w["shape"])
            offset += arr.nbytes
            layer, _, _ = w["name"].rpartition("/")
            by_layer.setdefault(layer, []).append(arr)
    if offset != len(data):
        raise SystemExit(f"{weights_bin}: {len(data)} bytes, the manifest describes {offset}")
    for name, arrays in by_layer.items():
        model.get_layer(name).set_weights(arrays)
    unset = [l.name for l in model.layers if l.weights and l.name not in by_layer]
    if unset:
        raise SystemExit(f"{model_json}: no weights for layers {', '.join(unset)}")
    model.save(out)
    print(json.dumps({"layers": len(model.layers), "parameters": int(model.count_params())}))


if __name__ == "__main__":
    if len(sys.argv) != 4:
        raise SystemExit(__doc__)
    main(*sys.argv[1:])
