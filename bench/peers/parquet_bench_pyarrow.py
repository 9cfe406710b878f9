"""pyarrow's side of bench/parquet.ts: write and read hepflow's feature schema.

Usage: parquet_bench_pyarrow.py SOURCE OUT ROUNDS ROW_GROUP

SOURCE is a feature Parquet file hepflow wrote from the benchmark's rows. Its columns are
loaded (untimed) into what a Python pipeline holds before writing: numpy arrays, the
particles as flat float32 values plus int32 offsets. Timed per round, on one thread:
  write - the Arrow table built from those arrays (ListArray.from_arrays) and
          pq.write_table with snappy and ROW_GROUP rows per row group, like hepflow;
  read  - pq.read_table(use_threads=False) of the whole file into Arrow buffers, then the
          checksum (sum of every row's last particle value) computed from them.
Prints JSON {"write": [[wall, cpu]...], "read": [[wall, cpu]...], "bytes", "checksum",
"pyarrow": version}; CPU is the process's user + system time (time.process_time).
"""

import json
import os
import sys
import time

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq


def timed(run):
    w0, c0 = time.perf_counter(), time.process_time()
    out = run()
    return [time.perf_counter() - w0, time.process_time() - c0], out


def main():
    source, out, rounds, row_group = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    pa.set_cpu_count(1)
    pa.set_io_thread_count(1)
    src = pq.read_table(source)
    schema = src.schema
    particles = src.column("particles").combine_chunks()
    offsets = particles.offsets.to_numpy().astype(np.int32)
    values = particles.values.to_numpy().astype(np.float32)
    others = {
        f.name: src.column(f.name).to_numpy() if pa.types.is_primitive(f.type) else src.column(f.name).to_pylist()
        for f in schema
        if f.name != "particles"
    }
    del src, particles

    def write():
        cols = []
        for f in schema:
            if f.name == "particles":
                cols.append(pa.ListArray.from_arrays(pa.array(offsets), pa.array(values)).cast(f.type))
            else:
                cols.append(pa.array(others[f.name], type=f.type))
        pq.write_table(pa.Table.from_arrays(cols, schema=schema), out, row_group_size=row_group, compression="snappy")

    def read():
        t = pq.read_table(out, use_threads=False)
        p = t.column("particles").combine_chunks()
        return float(p.values.to_numpy()[p.offsets.to_numpy()[1:] - 1].astype(np.float64).sum())

    result = {"write": [], "read": [], "pyarrow": pa.__version__}
    for _ in range(rounds):
        t, _ = timed(write)
        result["write"].append(t)
        t, checksum = timed(read)
        result["read"].append(t)
        result["checksum"] = checksum
    result["bytes"] = os.path.getsize(out)
    json.dump(result, sys.stdout)


if __name__ == "__main__":
    if len(sys.argv) != 5:
        sys.exit(__doc__)
    main()
