"""Reads a hepflow feature Parquet file with pyarrow and with DuckDB and prints, as
JSON, the schema each sees and every value, so the TypeScript test can compare them
with what it wrote. Usage: features_parquet_check.py FILE"""
import json
import sys

import duckdb
import pyarrow.parquet as pq


def main(path: str) -> None:
    table = pq.read_table(path)
    arrow_schema = {f.name: str(f.type) + ("" if f.nullable else " not null") for f in table.schema}
    arrow_rows = table.to_pylist()

    con = duckdb.connect()
    rel = con.sql(f"SELECT * FROM read_parquet('{path}')")
    duck_schema = dict(zip(rel.columns, [str(t) for t in rel.types]))
    duck_rows = [dict(zip(rel.columns, r)) for r in rel.fetchall()]

    meta = pq.ParquetFile(path).metadata
    print(json.dumps({
        "arrow_schema": arrow_schema,
        "duckdb_schema": duck_schema,
        "arrow_rows": arrow_rows,
        "duckdb_rows": duck_rows,
        "row_groups": [meta.row_group(i).num_rows for i in range(meta.num_row_groups)],
        "kv": {k.decode(): v.decode() for k, v in (meta.metadata or {}).items() if k != b"ARROW:schema"},
    }))


if __name__ == "__main__":
    main(sys.argv[1])
