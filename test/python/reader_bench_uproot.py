"""uproot's side of bench/root-read.ts: time reading the given branches of one tree.

Usage: reader_bench_uproot.py FILE TREE REPEATS CHUNK BRANCH [BRANCH ...]

Prints JSON {"arrays": [seconds...], "iterate": [seconds...], "values": N}:
  arrays  - uproot.open(...)[TREE].arrays(BRANCHES): the whole file at once, as awkward
            arrays (numpy buffers plus offsets), uproot's fastest path;
  iterate - uproot.iterate(..., step_size=CHUNK): bounded memory, like hepflow's chunks.
Each time includes opening the file; the interpreter start and imports are excluded.
"""

import json
import sys
import time

import awkward as ak
import uproot


def count_values(arrays, branches):
    return sum(len(ak.flatten(arrays[b], axis=None)) for b in branches)


def main():
    path, tree, repeats, chunk, *branches = sys.argv[1:]
    repeats, chunk = int(repeats), int(chunk)
    out = {"arrays": [], "iterate": [], "values": 0}
    for _ in range(repeats):
        start = time.perf_counter()
        with uproot.open(path) as f:
            arrays = f[tree].arrays(branches)
        out["arrays"].append(time.perf_counter() - start)
        out["values"] = count_values(arrays, branches)
        del arrays
    for _ in range(repeats):
        start = time.perf_counter()
        for part in uproot.iterate(f"{path}:{tree}", branches, step_size=chunk):
            del part
        out["iterate"].append(time.perf_counter() - start)
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    if len(sys.argv) < 6:
        sys.exit(__doc__)
    main()
