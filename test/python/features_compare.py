"""Compares two feature Parquet files value for value (hepflow's and the Python peer's):
the same schema, rows, lineage columns, and every float within float32 precision
(|a - b| <= 2.5e-7 * max(|a|, |b|): the two sides sum cones in different orders and
use different libm, so the last float32 bit may differ). Prints JSON
{rows, particles, max_rel, mismatches: [first few]}; exit status 1 when they differ.

Usage: features_compare.py A.parquet B.parquet
"""
import json
import sys

import numpy as np
import pyarrow.parquet as pq

REL = 2.5e-7


def main(a_path, b_path):
    a, b = pq.read_table(a_path), pq.read_table(b_path)
    problems = []
    sa = [(f.name, str(f.type), f.nullable) for f in a.schema]
    sb = [(f.name, str(f.type), f.nullable) for f in b.schema]
    if sa != sb:
        problems.append({"schema": [sa, sb]})
    if a.num_rows != b.num_rows:
        problems.append({"rows": [a.num_rows, b.num_rows]})
    max_rel = 0.0
    n_particles = 0
    if not problems:
        for name in ["label", "class_name", "source_uri", "source_entry"]:
            if a[name].to_pylist() != b[name].to_pylist():
                problems.append({"column": name})
        for f in a.schema:
            if str(f.type) != "float":
                continue
            x, y = a[f.name].to_numpy().astype(np.float64), b[f.name].to_numpy().astype(np.float64)
            rel = np.abs(x - y) / np.maximum(np.maximum(np.abs(x), np.abs(y)), 1e-30)
            max_rel = max(max_rel, float(rel.max(initial=0)))
            for i in np.nonzero(rel > REL)[0][:5]:
                problems.append({"column": f.name, "row": int(i), "a": x[i], "b": y[i]})
        pa_, pb_ = a["particles"].combine_chunks(), b["particles"].combine_chunks()
        la, lb = np.diff(pa_.offsets.to_numpy()), np.diff(pb_.offsets.to_numpy())
        if not np.array_equal(la, lb):
            i = int(np.nonzero(la != lb)[0][0])
            problems.append({"particles_length_row": i, "a": int(la[i]), "b": int(lb[i])})
        else:
            x = pa_.values.to_numpy().astype(np.float64)
            y = pb_.values.to_numpy().astype(np.float64)
            n_particles = x.size // 19
            rel = np.abs(x - y) / np.maximum(np.maximum(np.abs(x), np.abs(y)), 1e-30)
            max_rel = max(max_rel, float(rel.max(initial=0)))
            row_of = np.repeat(np.arange(len(la)), la)
            for k in np.nonzero(rel > REL)[0][:5]:
                problems.append({"particles_row": int(row_of[k]), "value": int(k), "feature": int(k % 19),
                                 "a": x[k], "b": y[k]})
    print(json.dumps({"rows": a.num_rows, "particles": n_particles, "max_rel": max_rel, "mismatches": problems}))
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
