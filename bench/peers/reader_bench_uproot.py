"""uproot's side of bench/root-read.ts: time reading the given branches of one tree.

Usage: reader_bench_uproot.py FILE TREE REPEATS CHUNK BRANCH [BRANCH ...]

uproot inflates zlib baskets with libdeflate (the `deflate` package, infra/requirements.txt),
its fastest inflate, and with one thread (no decompression executor), like hepflow's reader.
Prints JSON {"arrays": [[wall, cpu]...], "iterate": [[wall, cpu]...], "values": N,
"zlib": library, "uproot": version}:
  arrays  - uproot.open(...)[TREE].arrays(BRANCHES): the whole file at once, as awkward
            arrays (numpy buffers plus offsets), uproot's fastest path;
  iterate - uproot.iterate(..., step_size=CHUNK): bounded memory, like hepflow's chunks.
Each time includes opening the file; the interpreter start and imports are excluded.
CPU is the process's user + system time (time.process_time).
"""

import json
import sys
import time

import awkward as ak
import deflate  # noqa: F401  (uproot looks it up itself)
import uproot

uproot.ZLIB.library = "deflate"


def count_values(arrays, branches):
    return sum(len(ak.flatten(arrays[b], axis=None)) for b in branches)


def timed(run):
    w0, c0 = time.perf_counter(), time.process_time()
    out = run()
    return [time.perf_counter() - w0, time.process_time() - c0], out


def main():
    path, tree, repeats, chunk, *branches = sys.argv[1:]
    repeats, chunk = int(repeats), int(chunk)
    out = {"arrays": [], "iterate": [], "values": 0, "zlib": uproot.ZLIB.library, "uproot": uproot.__version__}

    def arrays():
        with uproot.open(path) as f:
            return f[tree].arrays(branches)

    def iterate():
        n = 0
        for part in uproot.iterate(f"{path}:{tree}", branches, step_size=chunk):
            n += len(part)
        return n

    for _ in range(repeats):
        t, a = timed(arrays)
        out["arrays"].append(t)
        out["values"] = count_values(a, branches)
        del a
    for _ in range(repeats):
        t, _n = timed(iterate)
        out["iterate"].append(t)
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    if len(sys.argv) < 6:
        sys.exit(__doc__)
    main()
