"""uproot side of bench/root-write.ts: write the same Delphes columns with uproot.

Usage: writer_bench_uproot.py POOL OUT EVENTS LEVEL [zlib|deflate]

POOL is the binary event pool written by bench/root-write.ts: a little-endian u32
header length, a JSON header {"events": P, "arrays": [{"name", "dtype", "offset",
"length"}]}, then the arrays. Counts are named "<Branch>_size"; members
"<Branch>.<Member>". The pool is written EVENTS / P times (one TTree.extend per
pass, so each pass makes one basket per branch) as uproot's flat jagged layout
(counter n<Branch>, branches <Branch>_<Member>), zlib at LEVEL, compressed with Python's
zlib or with libdeflate (the `deflate` package; uproot's fastest zlib).

Prints JSON: {"seconds", "cpuSeconds", "maxRssMB", "fileBytes", "events"}.
"""

import json
import os
import resource
import struct
import sys
import time

import awkward as ak
import numpy as np
import uproot


def main() -> int:
    pool_path, out_path, events, level = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    uproot.ZLIB.library = sys.argv[5] if len(sys.argv) > 5 else "zlib"
    with open(pool_path, "rb") as f:
        raw = f.read()
    (hlen,) = struct.unpack("<I", raw[:4])
    header = json.loads(raw[4 : 4 + hlen].decode())
    body = 4 + hlen
    arrays = {}
    for a in header["arrays"]:
        arrays[a["name"]] = np.frombuffer(raw, dtype=np.dtype(a["dtype"]).newbyteorder("<"), count=a["length"], offset=body + a["offset"])
    pool = header["events"]
    if events % pool != 0:
        raise ValueError(f"events ({events}) must be a multiple of the pool size ({pool})")
    chunk = {}
    for name, counts in arrays.items():
        if not name.endswith("_size"):
            continue
        branch = name[: -len("_size")]
        fields = {n.split(".", 1)[1]: arrays[n] for n in arrays if n.startswith(branch + ".")}
        chunk[branch] = ak.zip({k: ak.unflatten(v, counts) for k, v in fields.items()})

    cpu0 = time.process_time()
    t0 = time.perf_counter()
    with uproot.recreate(out_path, compression=uproot.ZLIB(level)) as f:
        f["Delphes"] = chunk
        for _ in range(events // pool - 1):
            f["Delphes"].extend(chunk)
    seconds = time.perf_counter() - t0
    cpu = time.process_time() - cpu0
    json.dump(
        {
            "seconds": seconds,
            "cpuSeconds": cpu,
            "maxRssMB": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            "fileBytes": os.path.getsize(out_path),
            "events": events,
        },
        sys.stdout,
    )
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except Exception as exc:
        print(f"writer_bench_uproot.py: {type(exc).__name__}: {exc}", file=sys.stderr)
        sys.exit(1)
