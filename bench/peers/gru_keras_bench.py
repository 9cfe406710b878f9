"""Keras on TensorFlow CPU: the peer of bench/gru.ts.

Serves cases one per line on stdin (so the caller can interleave them with its own
measurements under the same machine load), each {"name", "model": "particle-sequence"|"inclusive",
"batch", "steps" (T), "seconds" (time budget), "min_steps"}, builds the reference model
(Masking(0) -> GRU(50) with Keras' defaults (reset_after, sigmoid) -> Dropout(0.2) ->
Dense(3); the inclusive one adds Dropout(0.2)(HLF 14), Dense(25, relu)), Adam, categorical
cross-entropy, and times train_on_batch on one random batch after a warm-up step. Prints
one JSON line first, {"tensorflow", "keras"}, then one per case: {"name",
"samplesPerSecond", "cpuSecondsPerStep"}.
"""
import json
import os
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
import keras  # noqa: E402
from keras_models import N_FEAT, N_HLF, build  # noqa: E402

def run_case(c, rng):
    kind, batch, steps = c["model"], c["batch"], c["steps"]
    model = build(kind, steps)
    y = np.eye(3, dtype=np.float32)[rng.integers(0, 3, batch)]
    seq = rng.standard_normal((batch, steps, N_FEAT), dtype=np.float32)
    x = seq if kind == "particle-sequence" else [seq, rng.standard_normal((batch, N_HLF), dtype=np.float32)]
    model.train_on_batch(x, y)  # warm-up: tracing and graph compilation
    n = 0
    c0, t0 = time.process_time(), time.perf_counter()
    while n < c["min_steps"] or time.perf_counter() - t0 < c["seconds"]:
        model.train_on_batch(x, y)
        n += 1
    dt, cpu = time.perf_counter() - t0, time.process_time() - c0
    return {"name": c["name"], "samplesPerSecond": batch * n / dt, "cpuSecondsPerStep": cpu / n}


def main():
    rng = np.random.default_rng(1)
    print(json.dumps({"tensorflow": tf.__version__, "keras": keras.__version__}), flush=True)
    for line in sys.stdin:
        if line.strip():
            print(json.dumps(run_case(json.loads(line), rng)), flush=True)


main()
