"""Loads a `.keras` file with stock Keras and predicts: the export's independent check.

Reads requests on stdin, one JSON line each: {"model": path, "inputs": [array per model
input, nested lists]}, and answers each with one line {"probs": [[...], ...], "layers":
[class names]}; without Keras, one line {"skip": reason} and the end. One process serves a
test file's models: importing TensorFlow takes seconds.
"""
import json
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

try:
    import numpy as np
    import keras
except ImportError as e:
    print(json.dumps({"skip": f"keras not importable: {e}"}))
    sys.exit(0)


def main() -> None:
    for line in sys.stdin:
        req = json.loads(line)
        model = keras.saving.load_model(req["model"], compile=False)
        inputs = [np.asarray(x, dtype=np.float32) for x in req["inputs"]]
        probs = model.predict(inputs if len(inputs) > 1 else inputs[0], verbose=0)
        answer = {"probs": probs.tolist(), "layers": [type(l).__name__ for l in model.layers]}
        print(json.dumps(answer), flush=True)


if __name__ == "__main__":
    main()
