"""Loads a `.keras` file with stock Keras and predicts: the export's independent check.

Reads JSON on stdin: {"model": path, "inputs": [array per model input, nested lists]}.
Prints {"probs": [[...], ...], "layers": [class names]}; {"skip": reason} without Keras.
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
    req = json.load(sys.stdin)
    model = keras.saving.load_model(req["model"], compile=False)
    inputs = [np.asarray(x, dtype=np.float32) for x in req["inputs"]]
    probs = model.predict(inputs if len(inputs) > 1 else inputs[0], verbose=0)
    print(json.dumps({"probs": probs.tolist(), "layers": [type(l).__name__ for l in model.layers]}))


if __name__ == "__main__":
    main()
