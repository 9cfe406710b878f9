"""Keras predict on a `.keras` file: the peer of bench/serving.ts.

Reads JSON on stdin: {"model": path, "inputs": [array per model input], "batch": n,
"seconds": s, "single": bool}. Pins TensorFlow to one thread (per-core figures), times
predict_on_batch over the whole batch repeatedly for `seconds`, and with "single" also
the latency of one event per call. Prints {"eventsPerSecond", "eventsPerCpuSecond" (CPU
time of the whole process: robust to other jobs on the machine), "singleMs": {"p50", "p99"}}.
"""
import json
import os
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

tf.config.threading.set_intra_op_parallelism_threads(1)
tf.config.threading.set_inter_op_parallelism_threads(1)
import keras  # noqa: E402


def main():
    req = json.load(sys.stdin)
    model = keras.saving.load_model(req["model"], compile=False)
    xs = [np.asarray(x, dtype=np.float32) for x in req["inputs"]]
    arg = xs if len(xs) > 1 else xs[0]
    n = xs[0].shape[0]
    model.predict_on_batch(arg)
    done, t0, c0 = 0, time.perf_counter(), time.process_time()
    while time.perf_counter() - t0 < req["seconds"]:
        model.predict_on_batch(arg)
        done += n
    out = {"eventsPerSecond": done / (time.perf_counter() - t0), "eventsPerCpuSecond": done / (time.process_time() - c0)}
    if req.get("single"):
        one = [x[:1] for x in xs] if len(xs) > 1 else xs[0][:1]
        model.predict_on_batch(one)
        lat = []
        t0 = time.perf_counter()
        while time.perf_counter() - t0 < req["seconds"]:
            s = time.perf_counter()
            model.predict_on_batch(one)
            lat.append((time.perf_counter() - s) * 1000)
        lat.sort()
        out["singleMs"] = {"p50": lat[len(lat) // 2], "p99": lat[int(len(lat) * 0.99)]}
    print(json.dumps(out))


main()
