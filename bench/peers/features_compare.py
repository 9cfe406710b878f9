"""Compares two feature Parquet files value for value (hepflow's and the Python peer's):
the same schema, rows, lineage columns, and every float within float32 precision
(|a - b| <= 2.5e-7 * max(|a|, |b|): the two sides may sum in different orders and use
different libm, so the last float32 bit may differ). Streams batches of rows, so files
of any size compare in bounded memory. Prints JSON {rows, particles, max_rel,
mismatches: [first few]}; exit status 1 when they differ.

Usage: features_compare.py A.parquet B.parquet
"""
import json
import sys

import numpy as np
import pyarrow.parquet as pq

REL = 2.5e-7
BATCH = 2000


def rel_diff(x, y):
    x = x.astype(np.float64)
    y = y.astype(np.float64)
    return np.abs(x - y) / np.maximum(np.maximum(np.abs(x), np.abs(y)), 1e-30)


def main(a_path, b_path):
    fa, fb = pq.ParquetFile(a_path), pq.ParquetFile(b_path)
    problems = []
    sa = [(f.name, str(f.type), f.nullable) for f in fa.schema_arrow]
    sb = [(f.name, str(f.type), f.nullable) for f in fb.schema_arrow]
    if sa != sb:
        problems.append({"schema": [sa, sb]})
    if fa.metadata.num_rows != fb.metadata.num_rows:
        problems.append({"rows": [fa.metadata.num_rows, fb.metadata.num_rows]})
    max_rel = 0.0
    n_particles = 0
    start = 0
    if not problems:
        floats = [f.name for f in fa.schema_arrow if str(f.type) == "float"]
        for a, b in zip(fa.iter_batches(batch_size=BATCH), fb.iter_batches(batch_size=BATCH)):
            for name in ["label", "class_name", "source_uri", "source_entry"]:
                if a.column(name).to_pylist() != b.column(name).to_pylist():
                    problems.append({"column": name, "rows_from": start})
            for name in floats:
                rel = rel_diff(a.column(name).to_numpy(), b.column(name).to_numpy())
                max_rel = max(max_rel, float(rel.max(initial=0)))
                for i in np.nonzero(rel > REL)[0][:5]:
                    problems.append({"column": name, "row": start + int(i),
                                     "a": float(a.column(name)[i].as_py()), "b": float(b.column(name)[i].as_py())})
            pa_, pb_ = a.column("particles"), b.column("particles")
            oa, ob = pa_.offsets.to_numpy(), pb_.offsets.to_numpy()
            la, lb = np.diff(oa), np.diff(ob)
            if not np.array_equal(la, lb):
                i = int(np.nonzero(la != lb)[0][0])
                problems.append({"particles_length_row": start + i, "a": int(la[i]), "b": int(lb[i])})
            else:
                x = pa_.values.to_numpy()[oa[0]:oa[-1]]
                y = pb_.values.to_numpy()[ob[0]:ob[-1]]
                n_particles += x.size // 19
                rel = rel_diff(x, y)
                max_rel = max(max_rel, float(rel.max(initial=0)))
                row_of = np.repeat(np.arange(len(la)), la)
                for k in np.nonzero(rel > REL)[0][:5]:
                    problems.append({"particles_row": start + int(row_of[k]), "value": int(k), "feature": int(k % 19),
                                     "a": float(x[k]), "b": float(y[k])})
            start += a.num_rows
            if len(problems) > 20:
                break
    print(json.dumps({"rows": fa.metadata.num_rows, "particles": n_particles, "max_rel": max_rel, "mismatches": problems[:20]}))
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
