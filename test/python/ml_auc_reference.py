"""Independent AUC reference for test/ml-metrics.test.ts (no sklearn).

Reads {"scores": [...], "labels": [0/1...]} on stdin and prints two values as JSON:
the trapezoidal area (numpy) under the ROC built from distinct thresholds, and the
Mann-Whitney U statistic by brute-force pair counting (ties count one half).
"""
import json
import sys

import numpy as np

d = json.load(sys.stdin)
s = np.asarray(d["scores"], dtype=np.float64)
y = np.asarray(d["labels"], dtype=bool)
order = np.argsort(-s, kind="stable")
s_sorted, y_sorted = s[order], y[order]
# Last index of each run of equal scores: one ROC point per distinct threshold.
ends = np.r_[np.nonzero(np.diff(s_sorted))[0], len(s_sorted) - 1]
tps = np.cumsum(y_sorted)[ends]
fps = np.cumsum(~y_sorted)[ends]
tpr = np.r_[0, tps] / y.sum()
fpr = np.r_[0, fps] / (~y).sum()
trapezoid = getattr(np, "trapezoid", None) or np.trapz
pos, neg = s[y], s[~y]
greater = (pos[:, None] > neg[None, :]).sum()
equal = (pos[:, None] == neg[None, :]).sum()
print(json.dumps({
    "trapz": float(trapezoid(tpr, fpr)),
    "mannWhitney": float((greater + 0.5 * equal) / (len(pos) * len(neg))),
}))
