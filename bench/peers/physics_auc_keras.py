"""Keras' side of bench/physics-auc.ts: the reference models trained on the same dataset.

Usage: physics_auc_keras.py DATASET_DIR MAX_LEN EPOCHS BATCH CLASS[,CLASS...] MODEL [MODEL ...]

DATASET_DIR is the dataset hepflow assembled (train.parquet, test.parquet, scaler.json,
particle-scaler.json). Inputs are prepared as hepflow's trainer does (src/ml/data.ts): HLF
min-max scaled with scaler.json; each row's last MAX_LEN particles standardised with
particle-scaler.json and zero-padded at the front, so Masking(0) masks the padding. Each
MODEL ("hlf", "particle-sequence", "inclusive"; bench/peers/keras_models.py) trains EPOCHS
epochs with Adam at batch BATCH on the training rows less a 10% validation split, keeping
the epoch with the lowest validation loss (hepflow's default selection), then scores the
test rows. AUC is one-vs-rest per class, P(s+ > s-) + P(s+ = s-)/2 from ranks.
Prints JSON {"keras", "tensorflow", "models": {MODEL: {"auc": {CLASS: x}, "accuracy",
"trainSeconds", "trainCpuSeconds"}}}.
"""
import json
import os
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
import numpy as np  # noqa: E402
import pyarrow.parquet as pq  # noqa: E402
import tensorflow as tf  # noqa: E402
import keras  # noqa: E402
from keras_models import N_FEAT, build  # noqa: E402


def load(path, scaler, pscaler, max_len):
    t = pq.read_table(path)
    hlf = np.stack([t.column(n).to_numpy().astype(np.float32) for n in scaler["features"]], axis=1)
    lo, hi = np.asarray(scaler["min"], np.float32), np.asarray(scaler["max"], np.float32)
    rng = hi - lo
    hlf = np.where(rng > 0, (hlf - lo) / np.where(rng > 0, rng, 1), 0).astype(np.float32)
    p = t.column("particles").combine_chunks()
    offsets, values = p.offsets.to_numpy(), p.values.to_numpy().astype(np.float32)
    mean, std = np.asarray(pscaler["mean"], np.float32), np.asarray(pscaler["std"], np.float32)
    seq = np.zeros((len(t), max_len, N_FEAT), np.float32)
    for i in range(len(t)):
        row = values[offsets[i] : offsets[i + 1]].reshape(-1, N_FEAT)[-max_len:]
        if len(row):
            seq[i, max_len - len(row) :] = (row - mean) / std
    return hlf, seq, t.column("label").to_numpy().astype(np.int64)


def auc(scores, positive):
    """Mann-Whitney U with mid-ranks for ties, normalised."""
    order = np.argsort(scores, kind="mergesort")
    s = scores[order]
    ranks = np.empty(len(s), np.float64)
    i = 0
    while i < len(s):
        j = i
        while j + 1 < len(s) and s[j + 1] == s[i]:
            j += 1
        ranks[i : j + 1] = (i + j) / 2 + 1
        i = j + 1
    r = np.empty_like(ranks)
    r[order] = ranks
    n_pos, n_neg = positive.sum(), (~positive).sum()
    return float((r[positive].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def main():
    ds, max_len, epochs, batch, classes, *models = sys.argv[1:]
    max_len, epochs, batch, classes = int(max_len), int(epochs), int(batch), classes.split(",")
    with open(os.path.join(ds, "scaler.json")) as f:
        scaler = json.load(f)
    with open(os.path.join(ds, "particle-scaler.json")) as f:
        pscaler = json.load(f)
    train = load(os.path.join(ds, "train.parquet"), scaler, pscaler, max_len)
    test = load(os.path.join(ds, "test.parquet"), scaler, pscaler, max_len)
    inputs = {
        "hlf": lambda d: d[0],
        "particle-sequence": lambda d: d[1],
        "inclusive": lambda d: [d[1], d[0]],
    }
    out = {"keras": keras.__version__, "tensorflow": tf.__version__, "models": {}}
    for kind in models:
        keras.utils.set_random_seed(1)
        model = build(kind, max_len)
        y = np.eye(len(classes), dtype=np.float32)[train[2]]
        best = keras.callbacks.EarlyStopping(monitor="val_loss", patience=epochs, restore_best_weights=True)
        c0, t0 = time.process_time(), time.perf_counter()
        model.fit(inputs[kind](train), y, batch_size=batch, epochs=epochs, validation_split=0.1,
                  shuffle=True, verbose=0, callbacks=[best])
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
        scores = model.predict(inputs[kind](test), batch_size=1024, verbose=0)
        labels = test[2]
        out["models"][kind] = {
            "auc": {c: auc(scores[:, k], labels == k) for k, c in enumerate(classes)},
            "accuracy": float((scores.argmax(axis=1) == labels).mean()),
            "trainSeconds": wall,
            "trainCpuSeconds": cpu,
        }
        print(f"[keras] {kind}: {json.dumps(out['models'][kind])}", file=sys.stderr, flush=True)
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    if len(sys.argv) < 7:
        sys.exit(__doc__)
    main()
