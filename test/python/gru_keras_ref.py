"""Keras reference for the fused GRU's reset_after variant.

Reads JSON on stdin: {"units", "x": [B][T][F], "kernel", "recurrent_kernel", "bias" ([2][3u]),
"probe": [B][units], "mask_zeros": bool}. Builds Masking(0) -> GRU(reset_after=True,
recurrent_activation="sigmoid") (Keras' defaults) with those weights and prints JSON
{"y": [B][units], "grads": {"kernel", "recurrent_kernel", "bias", "x"}} where the gradients
are of sum(y * probe). Prints {"skip": reason} and exits 0 when TensorFlow is missing.
"""
import json
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

try:
    import numpy as np
    import tensorflow as tf
    import keras
except ImportError as e:  # the test reports this as a skip with the reason
    print(json.dumps({"skip": f"tensorflow not importable: {e}"}))
    sys.exit(0)


def main() -> None:
    req = json.load(sys.stdin)
    x = tf.constant(np.asarray(req["x"], dtype=np.float32))
    probe = tf.constant(np.asarray(req["probe"], dtype=np.float32))
    units = int(req["units"])
    gru = keras.layers.GRU(units, reset_after=True, recurrent_activation="sigmoid")
    layers = [keras.Input(shape=x.shape[1:])]
    if req["mask_zeros"]:
        layers.append(keras.layers.Masking(0.0))
    layers.append(gru)
    model = keras.Sequential(layers)
    gru.set_weights(
        [np.asarray(req[k], dtype=np.float32) for k in ("kernel", "recurrent_kernel", "bias")]
    )
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = model(x, training=True)
        loss = tf.reduce_sum(y * probe)
    gk, gr, gb, gx = tape.gradient(loss, [*gru.trainable_weights, x])
    print(
        json.dumps(
            {
                "y": y.numpy().tolist(),
                "grads": {
                    "kernel": gk.numpy().tolist(),
                    "recurrent_kernel": gr.numpy().tolist(),
                    "bias": gb.numpy().tolist(),
                    "x": gx.numpy().tolist(),
                },
            }
        )
    )


if __name__ == "__main__":
    main()
