"""Keras predict on a `.keras` file: the peer of bench/serving.ts.

A line protocol on stdin/stdout (one JSON object per line), so that the benchmark can
alternate rounds of hepflow and of Keras under the same load on a shared machine:
  {"model": path, "inputs": [{"path": raw float32 file, "shape": [...]}, ...]}
      loads the model and its inputs (one array per model input), runs one untimed
      predict, answers {"ready": true}
  {"measure": seconds}  times predict_on_batch over the whole batch repeatedly, answers
      {"eventsPerSecond", "eventsPerCpuSecond"} (CPU time of the whole process: robust
      to other jobs on the machine)
  {"single": seconds}   latency of one event per call: {"p50", "p99"} in ms
TensorFlow is pinned to one thread (per-core figures). Ends at end of input.
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


def answer(obj):
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


def main():
    model, arg, xs = None, None, None
    for line in sys.stdin:
        req = json.loads(line)
        if "model" in req:
            model = keras.saving.load_model(req["model"], compile=False)
            xs = [np.fromfile(i["path"], dtype=np.float32).reshape(i["shape"]) for i in req["inputs"]]
            arg = xs if len(xs) > 1 else xs[0]
            model.predict_on_batch(arg)
            answer({"ready": True})
        elif "measure" in req:
            n = xs[0].shape[0]
            done, t0, c0 = 0, time.perf_counter(), time.process_time()
            while time.perf_counter() - t0 < req["measure"]:
                model.predict_on_batch(arg)
                done += n
            answer(
                {
                    "eventsPerSecond": done / (time.perf_counter() - t0),
                    "eventsPerCpuSecond": done / (time.process_time() - c0),
                }
            )
        elif "single" in req:
            one = [x[:1] for x in xs] if len(xs) > 1 else xs[0][:1]
            model.predict_on_batch(one)
            lat = []
            t0 = time.perf_counter()
            while time.perf_counter() - t0 < req["single"]:
                s = time.perf_counter()
                model.predict_on_batch(one)
                lat.append((time.perf_counter() - s) * 1000)
            lat.sort()
            answer({"p50": lat[len(lat) // 2], "p99": lat[int(len(lat) * 0.99)]})
        else:
            raise ValueError(f"unknown request {sorted(req)}")


main()
