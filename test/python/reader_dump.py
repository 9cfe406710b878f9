"""Dump ROOT branches with uproot as JSON, for cross-checking hepflow's own reader.

Usage: reader_dump.py FILE:TREE [FILE:TREE ...]

For every branch that uproot reads as plain numbers (flat, fixed-size or jagged) or as
strings, writes the flattened values and, for jagged branches, the per-entry counts:

  {"FILE:TREE": {"entries": N, "branches": {NAME: {"values": [...], "counts": [...] | null}},
            "skipped": {NAME: "interpretation"}}}

Non-finite floats are written as the strings "nan", "inf", "-inf" (JSON has no NaN).
"""

import json
import math
import sys

import awkward as ak
import numpy as np
import uproot
from uproot.interpretation.jagged import AsJagged
from uproot.interpretation.numerical import AsDtype
from uproot.interpretation.strings import AsStrings


def plain(values):
    out = []
    for v in values:
        if isinstance(v, float) and not math.isfinite(v):
            out.append("nan" if math.isnan(v) else ("inf" if v > 0 else "-inf"))
        elif isinstance(v, (bool, np.bool_)):
            out.append(int(v))
        else:
            out.append(v)
    return out


def dump_tree(path, tree_name):
    tree = uproot.open(path)[tree_name]
    branches = {}
    skipped = {}
    seen = set()
    for branch in tree.itervalues(recursive=True):
        # A name used twice (the Delphes test file has two 'Particle' branches) cannot be
        # compared by name; leave it out rather than pick one silently.
        if branch.name in seen:
            branches.pop(branch.name, None)
            skipped[branch.name] = "duplicate branch name"
            continue
        seen.add(branch.name)
        try:
            interp = branch.interpretation
        except Exception as error:  # uproot cannot interpret it at all
            skipped[branch.name] = f"no interpretation: {error}"
            continue
        try:
            if type(interp) is AsDtype:  # subclasses (TRef strides, Double32) are not plain numbers
                arr = branch.array(library="np")
                branches[branch.name] = {"values": plain(arr.reshape(-1).tolist()), "counts": None}
            elif isinstance(interp, AsJagged) and type(interp.content) is AsDtype:
                arr = branch.array(library="ak")
                counts = ak.num(arr, axis=1).to_list()
                flat = ak.flatten(arr, axis=None).to_list()
                branches[branch.name] = {"values": plain(flat), "counts": counts}
            elif isinstance(interp, AsStrings):
                branches[branch.name] = {"values": branch.array(library="np").tolist(), "counts": None}
            else:
                skipped[branch.name] = str(interp)
        except ValueError as error:  # e.g. TObject::fBits with referenced objects
            skipped[branch.name] = f"uproot cannot read it: {str(error).splitlines()[0]}"
    return {"entries": tree.num_entries, "branches": branches, "skipped": skipped}


def main(specs):
    out = {}
    for spec in specs:
        path, _, tree_name = spec.rpartition(":")
        out[spec] = dump_tree(path, tree_name)
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    main(sys.argv[1:])
