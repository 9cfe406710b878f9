"""Closed-loop load over the Open Inference Protocol's gRPC binding with tritonclient.grpc,
the peer load generator of bench/serve-load.ts (the way a SONIC-style caller sends).

usage: oip_grpc_load.py HOST:PORT MODEL EVENTS.json SECONDS CONCURRENCY
EVENTS.json: [{input name: nested list [1, ...]}, ...], sent in turn, one event per call.
CONCURRENCY callers (threads, each its own client and channel) send one request after
the other for SECONDS. Prints {"requests", "seconds", "p50Ms", "p99Ms", "errors"}.
"""
import json
import sys
import threading
import time

import numpy as np
import tritonclient.grpc as grpcclient


def main() -> None:
    url, model, events_file, seconds, concurrency = sys.argv[1:6]
    with open(events_file) as f:
        events = json.load(f)
    prepared = []
    for e in events:
        inputs = []
        for name, value in e.items():
            a = np.asarray(value, dtype=np.float32)
            t = grpcclient.InferInput(name, list(a.shape), "FP32")
            t.set_data_from_numpy(a)
            inputs.append(t)
        prepared.append(inputs)
    outputs = [grpcclient.InferRequestedOutput("probabilities")]
    latencies, errors = [], [0]
    lock = threading.Lock()
    end = time.perf_counter() + float(seconds)

    def caller(k: int) -> None:
        client = grpcclient.InferenceServerClient(url=url)
        client.infer(model, prepared[0], outputs=outputs)  # the channel's connection, untimed
        mine, i = [], k
        while time.perf_counter() < end:
            t0 = time.perf_counter()
            try:
                client.infer(model, prepared[i % len(prepared)], outputs=outputs)
                mine.append(time.perf_counter() - t0)
            except Exception:  # noqa: BLE001 - counted, the load goes on
                with lock:
                    errors[0] += 1
            i += 1
        with lock:
            latencies.extend(mine)

    t0 = time.perf_counter()
    threads = [threading.Thread(target=caller, args=(k,)) for k in range(int(concurrency))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    took = time.perf_counter() - t0
    lat = np.sort(np.asarray(latencies)) * 1000
    print(json.dumps({
        "requests": len(lat),
        "seconds": took,
        "p50Ms": float(lat[len(lat) // 2]) if len(lat) else None,
        "p99Ms": float(lat[int(len(lat) * 0.99)]) if len(lat) else None,
        "errors": errors[0],
    }))


if __name__ == "__main__":
    main()
