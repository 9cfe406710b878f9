"""Independent reference for hepflow's event selection and 14 high-level features,
with uproot + awkward/numpy, vectorised over events. Written from the reference text
(shared/reference/cern-pipeline.md) and the decisions documented in docs/features.md,
not from the TypeScript code.

Usage: features_reference.py FILE.root [--step ENTRIES] [--no-values]
Prints JSON {entries, hlf, cutflow, seconds: {read, compute}} (hlf rows in HLF order).
"""
import argparse
import json
import time

import awkward as ak
import numpy as np
import uproot

ISO_R = 0.3
OWN_TRACK_R = 0.05
TRACK_PT_MIN = 0.5
TOWER_ET_MIN = 1.0
LEPTON_PT_MIN = 23.0
LEPTON_ISO_MAX = 0.45
JET_PT_MIN = 30.0
JET_ETA_MAX = 2.6

BRANCHES = {
    "Electron": ["PT", "Eta", "Phi", "Charge"],
    "MuonTight": ["PT", "Eta", "Phi", "Charge"],
    "Jet": ["PT", "Eta", "BTag"],
    "MissingET": ["MET", "Phi"],
    "EFlowTrack": ["PT", "Eta", "Phi", "Charge"],
    "EFlowPhoton": ["ET", "Eta", "Phi"],
    "EFlowNeutralHadron": ["ET", "Eta", "Phi"],
}


NAMES = [f"{c}/{c}.{leaf}" for c, leaves in BRANCHES.items() for leaf in leaves]


def convert(arrays):
    # float64 everywhere: thresholds are compared in double precision, as in C++/PyROOT.
    return {
        c: {leaf: ak.values_astype(arrays[f"{c}/{c}.{leaf}"], np.float64) for leaf in leaves}
        for c, leaves in BRANCHES.items()
    }


def dphi(a, b):
    d = a - b
    return (d + np.pi) % (2 * np.pi) - np.pi


def cone_sum(lep, cand, value, r=ISO_R):
    """Sum of cand[value] within ΔR < r of each lepton: result [event][lepton]."""
    pairs = ak.cartesian({"l": lep, "c": cand}, axis=1, nested=True)
    dr2 = (pairs.l.eta - pairs.c.eta) ** 2 + dphi(pairs.l.phi, pairs.c.phi) ** 2
    return ak.sum(ak.where(dr2 < r * r, pairs.c[value], 0.0), axis=2)


def compute(a):
    rec = lambda c, **f: ak.zip({k: a[c][v] for k, v in f.items()})
    tracks = rec("EFlowTrack", pt="PT", eta="Eta", phi="Phi", q="Charge")
    photons = rec("EFlowPhoton", pt="ET", eta="Eta", phi="Phi")
    neutrals = rec("EFlowNeutralHadron", pt="ET", eta="Eta", phi="Phi")
    tracks = tracks[tracks.pt > TRACK_PT_MIN]
    photons = photons[photons.pt > TOWER_ET_MIN]
    neutrals = neutrals[neutrals.pt > TOWER_ET_MIN]

    n = len(tracks)
    has_t = ak.num(tracks) > 0
    has_p = has_t & (ak.num(photons) > 0)
    has_n = has_p & (ak.num(neutrals) > 0)

    ele = rec("Electron", pt="PT", eta="Eta", phi="Phi", q="Charge")
    mu = rec("MuonTight", pt="PT", eta="Eta", phi="Phi", q="Charge")
    ele = ak.with_field(ele, ak.ones_like(ele.pt), "is_ele")
    mu = ak.with_field(mu, ak.zeros_like(mu.pt), "is_ele")
    lep = ak.concatenate([ele, mu], axis=1)  # electrons first: they win exact pT ties

    # Own track: nearest same-charge candidate track within ΔR < 0.05.
    pairs = ak.cartesian({"l": lep, "t": tracks}, axis=1, nested=True)
    dr2 = (pairs.l.eta - pairs.t.eta) ** 2 + dphi(pairs.l.phi, pairs.t.phi) ** 2
    match = (dr2 < OWN_TRACK_R ** 2) & (pairs.l.q == pairs.t.q)
    best = ak.argmin(ak.where(match, dr2, np.inf), axis=2, keepdims=True)
    own_pt = ak.fill_none(ak.firsts(ak.where(match, pairs.t.pt, 0.0)[best], axis=2), 0.0)

    ch = (cone_sum(lep, tracks, "pt") - own_pt) / lep.pt
    gamma = cone_sum(lep, photons, "pt") / lep.pt
    neu = cone_sum(lep, neutrals, "pt") / lep.pt
    ok = (lep.pt > LEPTON_PT_MIN) & (ch + gamma + neu < LEPTON_ISO_MAX)
    pick = ak.argmax(ak.where(ok, lep.pt, -1.0), axis=1, keepdims=True)
    has_lep = has_n & ak.fill_none(ak.any(ok, axis=1), False)

    sel = np.asarray(has_lep)
    L = ak.firsts(lep[pick])[sel]
    iso = lambda x: ak.to_numpy(ak.firsts(x[pick])[sel])
    jets = ak.zip({"pt": a["Jet"]["PT"], "eta": a["Jet"]["Eta"], "b": a["Jet"]["BTag"]})[sel]
    good = jets[(jets.pt > JET_PT_MIN) & (abs(jets.eta) < JET_ETA_MAX)]
    met = ak.to_numpy(ak.firsts(a["MissingET"]["MET"][sel]))
    met_phi = ak.to_numpy(ak.firsts(a["MissingET"]["Phi"][sel]))
    lpt, leta, lphi = ak.to_numpy(L.pt), ak.to_numpy(L.eta), ak.to_numpy(L.phi)
    mt = np.sqrt(np.maximum(2 * lpt * met * (1 - np.cos(lphi - met_phi)), 0))
    hlf = np.stack([
        ak.to_numpy(ak.sum(good.pt, axis=1)), met, met_phi, mt,
        ak.to_numpy(ak.num(good)), ak.to_numpy(ak.sum(good.b > 0, axis=1)),
        lpt, leta, lphi, iso(ch), iso(gamma), iso(neu),
        ak.to_numpy(L.q), ak.to_numpy(L.is_ele),
    ], axis=1)
    cutflow = {
        "read": n, "withTrack": int(ak.sum(has_t)), "withPhoton": int(ak.sum(has_p)),
        "withNeutralHadron": int(ak.sum(has_n)), "withIsolatedLepton": int(np.sum(sel)),
    }
    return np.nonzero(sel)[0], hlf, cutflow


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("file")
    ap.add_argument("--step", type=int, default=None, help="entries per chunk (default: the whole file at once)")
    ap.add_argument("--no-values", action="store_true", help="print counts and timings only")
    args = ap.parse_args()
    tree = uproot.open(args.file)["Delphes"]
    step = args.step or max(1, tree.num_entries)
    chunks = tree.iterate(NAMES, step_size=step, library="ak", how=dict)
    t_read = t_compute = 0.0
    offset = 0
    all_entries, all_hlf, total = [], [], {}
    while True:
        t0 = time.perf_counter()
        try:
            raw = next(chunks)
        except StopIteration:
            break
        t1 = time.perf_counter()
        entries, hlf, cutflow = compute(convert(raw))
        t2 = time.perf_counter()
        t_read += t1 - t0
        t_compute += t2 - t1
        all_entries.append(entries + offset)
        all_hlf.append(hlf)
        offset += cutflow["read"]
        for k, v in cutflow.items():
            total[k] = total.get(k, 0) + v
    out = {"cutflow": total, "seconds": {"read": t_read, "compute": t_compute}}
    if not args.no_values:
        out["entries"] = np.concatenate(all_entries).tolist()
        out["hlf"] = np.concatenate(all_hlf).tolist()
    print(json.dumps(out))


if __name__ == "__main__":
    main()
