// Selection, HLF and particle sequence of one Delphes event: the per-event loops of
// src/physics/{isolation,selection,hlf,sequence}.ts in C++, value for value the same.
// Every step follows the TypeScript's float64 arithmetic in the same order (the build
// turns off FMA contraction and fast math), so results match to the bit; only the
// transcendental functions (cos, sin, sinh) come from the C library instead of V8's
// fdlibm, which can move a float64 result by one ulp, far below the float32 rounding of
// the outputs.
#pragma once

#include <array>
#include <cstdint>
#include <vector>

namespace features {

struct Leptons {
  const float *pt, *eta, *phi;
  const int32_t* charge;
  int n;
};
struct Jets {
  const float *pt, *eta;
  const uint32_t* btag;
  int n;
};
struct MissingEt {
  const float *met, *phi;
  int n;
};
struct Tracks {
  const float *pt, *eta, *phi;
  const int32_t *charge, *pid;
  const float *x, *y, *z;
  int n;
};
struct Towers {
  const float *et, *eta, *phi, *e;
  int n;
};
struct Event {
  Leptons electrons, muons;
  Jets jets;
  MissingEt met;
  Tracks tracks;
  Towers photons, neutrals;
};

// How far an event got: the first four are the cut-flow stages it failed at.
enum Outcome {
  kNoTrack = 0,
  kNoPhoton = 1,
  kNoNeutralHadron = 2,
  kNoLepton = 3,
  kSelected = 4,
  kNonFiniteCandidate = 5,  // bad.kind (0 tracks, 1 photons, 2 neutral hadrons), bad.index
  kNoMissingEt = 6,
  kNonFiniteLepton = 7,  // bad.kind (3 electrons, 4 muons), bad.index
};

struct Lepton {
  bool isEle = false;
  int index = -1;
  double pt = 0, eta = 0, phi = 0;
  int charge = 0;
  double isoCh = 0, isoGamma = 0, isoNeu = 0;
  int ownTrack = -1;
};

constexpr int kHlf = 14;
constexpr int kFeatures = 19;
constexpr int kMaxTracks = 450, kMaxPhotons = 150, kMaxNeutrals = 200;
constexpr int kMaxParticles = 1 + kMaxTracks + kMaxPhotons + kMaxNeutrals;

// The η × φ grid of src/physics/isolation.ts.
constexpr double kEtaEdge = 6;
constexpr double kConeR = 0.3;
constexpr int kPhiCells = 20;
int etaCells();

// Candidates above threshold, grouped by grid cell, stable within a cell (ConeIndex).
struct ConeIndex {
  int n = 0;
  std::vector<double> eta, phi, pt;
  std::vector<int> src, cell, order;
  std::vector<int> start, fill;
  // -1, or the source index of the first candidate with a non-finite η or φ.
  int build(const float* pt, const float* eta, const float* phi, int total, double threshold);
  int neighbourCells(double eta, double phi, int* out) const;
  double sumInCone(double eta, double phi, int exclude) const;
};

class Extractor {
 public:
  struct Bad {
    int kind = -1, index = -1;
  };
  // Fills hlf (14), particles (nParticles × 19, lepton last) and lepton when selected.
  Outcome select(const Event& ev, float* hlf, float* particles, int* nParticles, Lepton* lepton, Bad* bad);

 private:
  int findOwnTrack(const Tracks& t, double eta, double phi, int charge) const;
  Outcome selectLepton(const Event& ev, Lepton* out, Bad* bad) const;
  void pairConeSums();
  int collect(const ConeIndex& index, int kind, int cap, int skipSrc, const Lepton& lep, int n);
  int sequence(const Event& ev, const Lepton& lep, float* out);

  ConeIndex idx_[3];
  // PairConeSums
  std::vector<double> sums_, mEta_, mPhi_, mPt_;
  std::vector<int> slot_, mKind_, mStart_;
  int base_[3] = {0, 0, 0};
  // SequenceBuilder
  std::vector<uint8_t> kind_;
  std::vector<int> pos_, pick_;
  std::vector<uint64_t> keys_;
  std::vector<double> dr2_;
};

}  // namespace features
