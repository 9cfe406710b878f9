"""Dump a TTree written by hepflow's ROOT writer with uproot, as JSON on stdout.

Usage: writer_dump.py FILE TREE [--meta-only]

Output: {"entries": N, "branches": {name: values}, "meta": {name: {...}},
         "file": {...}, "streamers": {class: [member names]}}
Values are per-entry scalars or lists (jagged). Non-finite floats are encoded as
strings so the JSON stays standard. `meta` carries TBranch/TLeaf fields the tests
compare with a real Delphes file. Errors go to stderr with exit status 1.
"""

import json
import math
import sys

import uproot


def clean(v):
    if isinstance(v, float):
        return v if math.isfinite(v) else repr(v)
    if isinstance(v, list):
        return [clean(x) for x in v]
    return v


def main() -> int:
    if len(sys.argv) not in (3, 4) or (len(sys.argv) == 4 and sys.argv[3] != "--meta-only"):
        print("usage: writer_dump.py FILE TREE [--meta-only]", file=sys.stderr)
        return 1
    path, tree_name = sys.argv[1], sys.argv[2]
    meta_only = len(sys.argv) == 4
    with uproot.open(path) as f:
        tree = f[tree_name]
        out = {"entries": int(tree.num_entries), "branches": {}, "meta": {}}
        for b in tree.itervalues(recursive=True):
            leaf = b.member("fLeaves")[0]
            meta = {
                "class": b.classname,
                "title": b.title,
                "leafClass": leaf.classname,
                "leafTitle": leaf.member("fTitle"),
                "basketCount": int(b.num_baskets),
                "subBranches": [c.name for c in b.branches],
            }
            if b.classname.startswith("TBranchElement"):
                for k in ("fClassName", "fParentName", "fClonesName", "fID", "fType", "fStreamerType", "fMaximum", "fClassVersion", "fCheckSum"):
                    v = b.member(k)
                    meta[k] = str(v) if not isinstance(v, int) else int(v)
            out["meta"][b.name] = meta
            if meta_only or b.interpretation is None or isinstance(b.interpretation, uproot.interpretation.identify.UnknownInterpretation):
                continue
            try:
                arr = b.array(library="ak")
            except Exception as exc:  # some real-file branches (e.g. Particle.fBits) are not readable by uproot
                meta["readError"] = f"{type(exc).__name__}: {exc}"
                continue
            out["branches"][b.name] = clean(arr.to_list())
        out["file"] = {
            "fVersion": int(f.file.fVersion),
            "fEND": int(f.file.fEND),
            "fSeekInfo": int(f.file.fSeekInfo),
            "keys": f.keys(),
        }
        out["streamers"] = {
            name: {str(ver): [e.member("fName") for e in si.elements] for ver, si in versions.items()}
            for name, versions in f.file.streamers.items()
        }
        out["checksums"] = {
            name: {str(ver): int(si.member("fCheckSum")) for ver, si in versions.items()}
            for name, versions in f.file.streamers.items()
        }
    json.dump(out, sys.stdout)
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except Exception as exc:  # report any reader failure to the calling test
        print(f"writer_dump.py: {type(exc).__name__}: {exc}", file=sys.stderr)
        sys.exit(1)
