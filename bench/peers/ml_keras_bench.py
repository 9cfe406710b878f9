"""Keras on TensorFlow CPU: the peer of bench/training.ts.

Reads a JSON list of cases on stdin, each {"name", "model": "hlf"|"particle-sequence"|
"inclusive", "batch", "steps" (T, 0 for hlf), "measure": steps to time}, builds the same
reference architecture (Keras' default reset_after GRU, Masking(0), Adam, categorical
cross-entropy), trains on random data with train_on_batch after one warm-up step, and
prints {"tensorflow": version, "keras": version, "threads": n, "results": [{"name",
"samplesPerSecond", "samplesPerCpuSecond" (CPU time of all the process' threads), "params"}]} as JSON.
"""
import json
import os
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
import keras  # noqa: E402
from keras_models import N_FEAT, N_HLF, build  # noqa: E402

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
        t0, c0 = time.perf_counter(), time.process_time()
        for _ in range(c["measure"]):
            model.train_on_batch(x, y)
        dt, cpu = time.perf_counter() - t0, time.process_time() - c0
        results.append({
            "name": c["name"], "samplesPerSecond": c["batch"] * c["measure"] / dt,
            "samplesPerCpuSecond": c["batch"] * c["measure"] / cpu, "params": model.count_params(),
        })
    print(json.dumps({
        "tensorflow": tf.__version__, "keras": keras.__version__,
        "threads": tf.config.threading.get_intra_op_parallelism_threads() or os.cpu_count(), "results": results,
    }))


main()
