"""The reference architectures in Keras, shared by the benchmarks' Keras peers.

Keras' defaults: GRU with reset_after and sigmoid recurrent activation, Masking(0),
Adam, categorical cross-entropy.
"""
import keras
from keras import layers

N_HLF, N_FEAT = 14, 19


def build(kind, steps):
    """kind: "hlf", "particle-sequence" or "inclusive"; steps: sequence length T."""
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
