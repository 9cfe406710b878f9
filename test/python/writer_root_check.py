"""Read a TTree with ROOT itself (PyROOT) and dump every leaf's values as JSON.

Usage: writer_root_check.py FILE TREE [BRANCH ...]

Needs a Python with the `ROOT` package (e.g. `pip install root` into a separate
venv); the ROOT writer tests run it only when HEPFLOW_ROOT_PYTHON points to one.
Output: {"entries": N, "version": "6.xx/yy", "branches": {leaf name: [[values of
entry 0], [values of entry 1], ...]}}; every entry is a list, scalars included.
ROOT's own warnings and errors go to stderr, where the tests look for them.
"""

import json
import sys
import warnings

warnings.simplefilter("ignore")  # ROOT's wheel warns that it is an alpha release

import ROOT  # noqa: E402


def main() -> int:
    path, tree_name, wanted = sys.argv[1], sys.argv[2], sys.argv[3:]
    f = ROOT.TFile.Open(path)
    if not f or f.IsZombie():
        print(f"writer_root_check.py: ROOT cannot open {path}", file=sys.stderr)
        return 1
    tree = f.Get(tree_name)
    if not tree:
        print(f"writer_root_check.py: no tree {tree_name} in {path}", file=sys.stderr)
        return 1
    leaves = [leaf for leaf in tree.GetListOfLeaves() if not wanted or leaf.GetName() in wanted]
    # TClonesArray count leaves (Jet_) and the TObject members say nothing about values.
    leaves = [leaf for leaf in leaves if not leaf.GetName().endswith("_")]
    out = {"entries": int(tree.GetEntries()), "version": ROOT.gROOT.GetVersion(), "branches": {leaf.GetName(): [] for leaf in leaves}}
    for i in range(int(tree.GetEntries())):
        if tree.GetEntry(i) <= 0:
            print(f"writer_root_check.py: cannot read entry {i} of {path}", file=sys.stderr)
            return 1
        for leaf in leaves:
            out["branches"][leaf.GetName()].append([leaf.GetValue(k) for k in range(leaf.GetLen())])
    json.dump(out, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
