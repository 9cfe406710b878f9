"""Reads a generated Delphes ROOT file with uproot and prints, as JSON, per-branch
value counts and sums plus the first entry of a few branches, for
test/generator-file.test.ts to compare against the in-memory events."""
import json
import sys

import awkward as ak
import uproot

BRANCHES = [
    "Electron.PT", "Electron.Charge", "MuonTight.PT", "Jet.PT", "Jet.Mass", "Jet.BTag",
    "MissingET.MET", "MissingET.Phi", "EFlowTrack.PT", "EFlowTrack.PID", "EFlowTrack.Z",
    "EFlowPhoton.ET", "EFlowPhoton.E", "EFlowNeutralHadron.E",
]

tree = uproot.open(sys.argv[1])["Delphes"]
arrays = tree.arrays(BRANCHES)
out = {"entries": tree.num_entries, "branches": {}}
for name in BRANCHES:
    col = arrays[name]
    flat = ak.flatten(col)
    out["branches"][name] = {
        "count": int(len(flat)),
        "sum": float(ak.sum(ak.values_astype(flat, "float64"))),
        "first": [float(v) for v in col[0]],
    }
print(json.dumps(out))
