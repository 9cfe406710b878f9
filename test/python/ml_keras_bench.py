"""Keras on TensorFlow CPU: the peer of bench/training.ts.

Reads a JSON list of cases on stdin, each {"name", "model": "hlf"|"particle-sequence"|
"inclusive", "batch", "steps" (T, 0 for hlf), "measure": steps to time}, builds the same
reference architecture (Keras' default reset_after GRU, Masking(0), Adam, categorical
cross-entropy), trains on random data with train_on_batch after one warm-up step, and
prints {"tensorflow": version, "keras": version, "threads": n, "results": [{"name",
"samplesPerSecond", "params"}]} as JSON.
"""
import json
import os
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
import keras  # noqa: E402
from keras import layers  # noqa: E402

N_HLF, N_FEAT = 14, 19


def build(kind, steps):
    if kind == "hlf":
        inp = keras.Input((N_HLF,))
        x = inp
        for units in (50, 20, 10):
            x = layers.Dense(units, activation="relu")(x)
        model = keras.Model(inp, layers.Dense(3, activation="softmax")(x))
    else:
        seq = keras.Input((steps, N_FEAT))
        g = layers.GRU(50, activation="tanh")(layers.Masking(0.0)(seq))
        if kind == "particle-sequence":
            model = keras.Model(seq, layers.Dense(3, activation="softmax")(layers.Dropout(0.2)(g)))
        else:
            hlf = keras.Input((N_HLF,))
            x = layers.Concatenate()([g, layers.Dropout(0.2)(hlf)])
            x = layers.Dense(25, activation="relu")(x)
            model = keras.Model([seq, hlf], layers.Dense(3, activation="softmax")(x))
    model.compile(optimizer=keras.optimizers.Adam(), loss="categorical_crossentropy")
    return model


def data(kind, batch, steps, rng):
    y = np.eye(3, dtype=np.float32)[rng.integers(0, 3, batch)]
    hlf = rng.standard_normal((batch, N_HLF), dtype=np.float32)
    if kind == "hlf":
        return hlf, y
    seq = rng.standard_normal((batch, steps, N_FEAT), dtype=np.float32)
    return (seq if kind == "particle-sequence" else [seq, hlf]), y


def main():
    cases = json.load(sys.stdin)
    rng = np.random.default_rng(1)
    results = []
    for c in cases:
        model = build(c["model"], c["steps"])
        x, y = data(c["model"], c["batch"], c["steps"], rng)
        model.train_on_batch(x, y)  # warm-up: tracing and graph compilation
        t0 = time.perf_counter()
        for _ in range(c["measure"]):
            model.train_on_batch(x, y)
        dt = time.perf_counter() - t0
        results.append({"name": c["name"], "samplesPerSecond": c["batch"] * c["measure"] / dt, "params": model.count_params()})
    print(json.dumps({
        "tensorflow": tf.__version__, "keras": keras.__version__,
        "threads": tf.config.threading.get_intra_op_parallelism_threads() or os.cpu_count(), "results": results,
    }))


main()
