#include "extractor.h"

#include <algorithm>
#include <cmath>
#include <cstring>

namespace features {
namespace {

constexpr double kPi = 3.141592653589793;  // Math.PI
constexpr double kTwoPi = 2 * kPi;
constexpr double kTrackPtMin = 0.5, kTowerEtMin = 1.0;
constexpr double kLeptonPtMin = 23, kLeptonRelIsoMax = 0.45;
constexpr double kOwnTrackDrMax = 0.05;
constexpr double kJetPtMin = 30, kJetAbsEtaMax = 2.6;
constexpr double kMassElectron = 0.000510999, kMassMuon = 0.105658, kMassPion = 0.13957, kMassKaon = 0.493677,
                 kMassProton = 0.938272;
const int kEtaCells = static_cast<int>(std::ceil((2 * kEtaEdge) / kConeR));
const int kCells = kEtaCells * kPhiCells;
const double kPhiCell = kTwoPi / kPhiCells;

inline double deltaPhi(double a, double b) {
  double d = a - b;
  while (d > kPi) d -= kTwoPi;
  while (d < -kPi) d += kTwoPi;
  return d;
}

// JavaScript's Math.round: nearest integer, halves towards +∞.
inline double jsRound(double x) {
  double r = std::floor(x);
  return x - r >= 0.5 ? r + 1 : r;
}

// floor(x / d), as JavaScript computes it, mostly without the division: x × (1 / d) is
// within 1e-9 of x / d for |x / d| < 1e6, so its floor is the same unless it lies that
// close to an integer, where the division decides.
inline double floorDiv(double x, double d, double inverse) {
  const double q = x * inverse;
  const double f = std::floor(q);
  if (q > -1e6 && q < 1e6 && q - f > 1e-9 && q - f < 1 - 1e-9) return f;
  return std::floor(x / d);
}

// Clamped in floating point first: a huge |η| must not overflow the conversion.
inline int clampCell(double c, int n) { return c < 0 ? 0 : c >= n ? n - 1 : static_cast<int>(c); }

inline int etaCell(double eta) { return clampCell(floorDiv(eta + kEtaEdge, kConeR, 1 / kConeR), kEtaCells); }

inline int phiCell(double phi) {
  // Inside ±3.14, φ / 2π rounds to 0 and the wrap leaves φ as it is (up to the sign of a
  // zero, which adding π removes).
  const double w = phi > -3.14 && phi < 3.14 ? phi : phi - kTwoPi * jsRound(phi / kTwoPi);
  return clampCell(floorDiv(w + kPi, kPhiCell, 1 / kPhiCell), kPhiCells);
}

inline double trackMass(int pid) {
  switch (pid < 0 ? -pid : pid) {
    case 11: return kMassElectron;
    case 13: return kMassMuon;
    case 321: return kMassKaon;
    case 2212: return kMassProton;
    default: return kMassPion;
  }
}

inline void p4(double pt, double eta, double phi, double m, float* out) {
  const double px = pt * std::cos(phi);
  const double py = pt * std::sin(phi);
  const double pz = pt * std::sinh(eta);
  out[0] = static_cast<float>(std::sqrt(px * px + py * py + pz * pz + m * m));
  out[1] = static_cast<float>(px);
  out[2] = static_cast<float>(py);
  out[3] = static_cast<float>(pz);
}

template <typename T>
void ensure(std::vector<T>& v, size_t n) {
  if (v.size() < n) v.resize(std::max(n, 2 * v.size()));
}

}  // namespace

int etaCells() { return kEtaCells; }

int ConeIndex::build(const float* ptIn, const float* etaIn, const float* phiIn, int total, double threshold) {
  ensure(cell, total);
  ensure(order, total);
  ensure(src, total);
  start.assign(kCells + 1, 0);
  // First the passing candidates, in source order, with their cells (src and cell
  // double as scratch here); then a stable counting sort of those alone.
  int count = 0;
  for (int i = 0; i < total; i++) {
    if (!(static_cast<double>(ptIn[i]) > threshold)) continue;
    if (!std::isfinite(etaIn[i]) || !std::isfinite(phiIn[i])) return i;
    const int c = etaCell(etaIn[i]) * kPhiCells + phiCell(phiIn[i]);
    cell[count] = c;
    order[count] = i;
    start[c + 1]++;
    count++;
  }
  for (int c = 0; c < kCells; c++) start[c + 1] += start[c];
  ensure(eta, count);
  ensure(phi, count);
  ensure(pt, count);
  fill.assign(start.begin(), start.begin() + kCells);
  for (int j = 0; j < count; j++) {
    const int i = order[j];
    const int k = fill[cell[j]]++;
    eta[k] = etaIn[i];
    phi[k] = phiIn[i];
    pt[k] = ptIn[i];
    src[k] = i;
  }
  n = count;
  return -1;
}

int ConeIndex::neighbourCells(double etaQ, double phiQ, int* out) const {
  const int ce = etaCell(etaQ);
  const int cp = phiCell(phiQ);
  int m = 0;
  for (int e = ce - 1; e <= ce + 1; e++) {
    if (e < 0 || e >= kEtaCells) continue;
    for (int d = -1; d <= 1; d++) out[m++] = e * kPhiCells + ((cp + d + kPhiCells) % kPhiCells);
  }
  return m;
}

double ConeIndex::sumInCone(double etaQ, double phiQ, int exclude) const {
  int cells[9];
  const int m = neighbourCells(etaQ, phiQ, cells);
  const double r2 = kConeR * kConeR;
  double sum = 0;
  for (int j = 0; j < m; j++) {
    const int c = cells[j];
    for (int k = start[c]; k < start[c + 1]; k++) {
      const double de = eta[k] - etaQ;
      const double dp = deltaPhi(phi[k], phiQ);
      if (de * de + dp * dp < r2 && src[k] != exclude) sum += pt[k];
    }
  }
  return sum;
}

int Extractor::findOwnTrack(const Tracks& t, double etaQ, double phiQ, int charge) const {
  const ConeIndex& ti = idx_[0];
  int best = -1;
  double bestR2 = kOwnTrackDrMax * kOwnTrackDrMax;
  int cells[9];
  const int m = ti.neighbourCells(etaQ, phiQ, cells);
  for (int j = 0; j < m; j++) {
    const int c = cells[j];
    for (int k = ti.start[c]; k < ti.start[c + 1]; k++) {
      const int s = ti.src[k];
      if (t.charge[s] != charge) continue;
      const double de = ti.eta[k] - etaQ;
      const double dp = deltaPhi(ti.phi[k], phiQ);
      const double r2 = de * de + dp * dp;
      if (r2 < bestR2 || (r2 == bestR2 && best >= 0 && s < best)) {
        bestR2 = r2;
        best = s;
      }
    }
  }
  return best;
}

Outcome Extractor::selectLepton(const Event& ev, Lepton* out, Bad* bad) const {
  bool found = false;
  double bestPt = -1;
  for (int flavour = 0; flavour < 2; flavour++) {
    const Leptons& l = flavour == 0 ? ev.electrons : ev.muons;
    for (int i = 0; i < l.n; i++) {
      const double pt = l.pt[i];
      if (!(pt > kLeptonPtMin)) continue;
      const double eta = l.eta[i], phi = l.phi[i];
      if (!std::isfinite(eta) || !std::isfinite(phi)) {
        *bad = Bad{3 + flavour, i};
        return kNonFiniteLepton;
      }
      if (pt <= bestPt) continue;
      const int charge = l.charge[i];
      const int own = findOwnTrack(ev.tracks, eta, phi, charge);
      const double inv = pt > 0 ? 1 / pt : 0;
      const double ch = idx_[0].sumInCone(eta, phi, own) * inv;
      const double gamma = idx_[1].sumInCone(eta, phi, -1) * inv;
      const double neu = idx_[2].sumInCone(eta, phi, -1) * inv;
      if (ch + gamma + neu >= kLeptonRelIsoMax) continue;
      found = true;
      bestPt = pt;
      *out = Lepton{flavour == 0, i, pt, eta, phi, charge, ch, gamma, neu, own};
    }
  }
  return found ? kSelected : kNoLepton;
}

// Pairs candidate i with the candidates [from, to): each one within ΔR < 0.3 adds its pT
// to i's sum of its kind, and i's pT to its own sum of i's kind. Branch-free: an
// out-of-cone candidate adds an exact 0. With every |φ| < 4 (kWrapOnce), one wrap step
// gives deltaPhi's Δφ exactly.
template <bool kWrapOnce>
inline void pairWith(int i, int from, int to, const double* eta, const double* phi, const double* pt,
                     const int* slot, const int* kindOf, double* sums, double* acc) {
  const double r2 = kConeR * kConeR;
  const double ei = eta[i], pi = phi[i], pti = pt[i];
  const int ki = kindOf[i];
  for (int j = from; j < to; j++) {
    const double de = eta[j] - ei;
    double dp;
    if (kWrapOnce) {
      dp = phi[j] - pi;
      dp = dp > kPi ? dp - kTwoPi : dp;
      dp = dp < -kPi ? dp + kTwoPi : dp;
    } else {
      dp = deltaPhi(phi[j], pi);
    }
    const bool in = de * de + dp * dp < r2;
    acc[kindOf[j]] += in ? pt[j] : 0.0;
    sums[slot[j] + ki] += in ? pti : 0.0;
  }
}

// Every candidate's three cone sums, each close pair tested once (PairConeSums): the
// three indices merged cell by cell; each candidate is paired with the rest of its cell
// and the cell at φ + 1, and with the three cells at η + 1 (the other neighbours pair
// with it from their side). Neighbouring cells of one η row are contiguous except
// across the φ wrap. The sums are exact in any order of additions (isolation.ts).
template <bool kWrapOnce>
void pairAll(const int* cellStart, int total, const double* eta, const double* phi, const double* pt,
             const int* slot, const int* kindOf, double* sums) {
  std::fill(sums, sums + 3 * total, 0.0);
  auto at = [&](int e, int p) { return cellStart[e * kPhiCells + p]; };
  for (int e = 0; e < kEtaCells; e++) {
    const bool above = e + 1 < kEtaCells;
    for (int p = 0; p < kPhiCells; p++) {
      const int c = e * kPhiCells + p;
      const int end = cellStart[c + 1];
      for (int i = cellStart[c]; i < end; i++) {
        double acc[3] = {0, 0, 0};
        const auto pair = [&](int from, int to) {
          pairWith<kWrapOnce>(i, from, to, eta, phi, pt, slot, kindOf, sums, acc);
        };
        if (p + 1 < kPhiCells) {
          pair(i + 1, cellStart[c + 2]);
        } else {
          pair(i + 1, end);
          pair(at(e, 0), at(e, 1));
        }
        if (above) {
          if (p == 0) {
            pair(at(e + 1, 0), at(e + 1, 2));
            pair(at(e + 1, kPhiCells - 1), cellStart[(e + 2) * kPhiCells]);
          } else if (p + 1 == kPhiCells) {
            pair(at(e + 1, p - 1), cellStart[(e + 2) * kPhiCells]);
            pair(at(e + 1, 0), at(e + 1, 1));
          } else {
            pair(at(e + 1, p - 1), at(e + 1, p + 2));
          }
        }
        double* own = sums + slot[i];
        own[0] += acc[0];
        own[1] += acc[1];
        own[2] += acc[2];
      }
    }
  }
}

void Extractor::pairConeSums() {
  const int total = idx_[0].n + idx_[1].n + idx_[2].n;
  ensure(mEta_, total);
  ensure(mPhi_, total);
  ensure(mPt_, total);
  ensure(slot_, total);
  ensure(mKind_, total);
  ensure(sums_, 3 * static_cast<size_t>(total));
  mStart_.resize(kCells + 1);
  base_[0] = 0;
  base_[1] = idx_[0].n;
  base_[2] = idx_[0].n + idx_[1].n;
  bool wrapOnce = true;
  int m = 0;
  for (int c = 0; c < kCells; c++) {
    mStart_[c] = m;
    for (int kind = 0; kind < 3; kind++) {
      const ConeIndex& index = idx_[kind];
      for (int k = index.start[c]; k < index.start[c + 1]; k++, m++) {
        mEta_[m] = index.eta[k];
        mPhi_[m] = index.phi[k];
        mPt_[m] = index.pt[k];
        slot_[m] = 3 * (base_[kind] + k);
        mKind_[m] = kind;
        wrapOnce = wrapOnce && index.phi[k] > -4 && index.phi[k] < 4;
      }
    }
  }
  mStart_[kCells] = m;
  if (wrapOnce)
    pairAll<true>(mStart_.data(), total, mEta_.data(), mPhi_.data(), mPt_.data(), slot_.data(), mKind_.data(), sums_.data());
  else
    pairAll<false>(mStart_.data(), total, mEta_.data(), mPhi_.data(), mPt_.data(), slot_.data(), mKind_.data(), sums_.data());
}

// Sort keys: a positive float32's bits order like the value; complemented, they order
// decreasingly; the low word breaks ties by increasing position.
inline uint64_t descendingKey(float v, int position) {
  uint32_t bits;
  std::memcpy(&bits, &v, sizeof bits);
  return (static_cast<uint64_t>(~bits) << 32) | static_cast<uint32_t>(position);
}

int Extractor::collect(const ConeIndex& index, int kind, int cap, int skipSrc, const Lepton& lep, int n) {
  int m = 0;
  for (int k = 0; k < index.n; k++)
    if (index.src[k] != skipSrc) pick_[m++] = k;
  if (m > cap) {
    // Decreasing pT (float32 values, all above the threshold), ties by position.
    for (int j = 0; j < m; j++) keys_[j] = descendingKey(static_cast<float>(index.pt[pick_[j]]), pick_[j]);
    std::sort(keys_.begin(), keys_.begin() + m);
    for (int j = 0; j < cap; j++) pick_[j] = static_cast<int>(keys_[j] & 0xffffffffu);
    m = cap;
  }
  for (int j = 0; j < m; j++) {
    const int k = pick_[j];
    const double de = index.eta[k] - lep.eta;
    const double dp = deltaPhi(index.phi[k], lep.phi);
    kind_[n] = static_cast<uint8_t>(kind);
    pos_[n] = k;
    dr2_[n] = de * de + dp * dp;
    n++;
  }
  return n;
}

int Extractor::sequence(const Event& ev, const Lepton& lep, float* out) {
  const int total = idx_[0].n + idx_[1].n + idx_[2].n;
  ensure(kind_, total);
  ensure(pos_, total);
  ensure(pick_, total);
  ensure(keys_, total);
  ensure(dr2_, total);
  int n = 0;
  n = collect(idx_[0], 0, kMaxTracks, lep.ownTrack, lep, n);
  n = collect(idx_[1], 1, kMaxPhotons, -1, lep, n);
  n = collect(idx_[2], 2, kMaxNeutrals, -1, lep, n);
  // Decreasing ΔR compared at float32 precision; ties keep collection order.
  for (int i = 0; i < n; i++) keys_[i] = descendingKey(static_cast<float>(dr2_[i]), i);
  std::sort(keys_.begin(), keys_.begin() + n);
  pairConeSums();
  std::memset(out, 0, sizeof(float) * kFeatures * (n + 1));
  const Tracks& t = ev.tracks;
  for (int r = 0; r < n; r++) {
    const int i = static_cast<int>(keys_[r] & 0xffffffffu);
    const int kind = kind_[i];
    const int k = pos_[i];
    const ConeIndex& index = idx_[kind];
    const double pt = index.pt[k], eta = index.eta[k], phi = index.phi[k];
    const int s = index.src[k];
    float* o = out + r * kFeatures;
    o[4] = static_cast<float>(pt);
    o[5] = static_cast<float>(eta);
    o[6] = static_cast<float>(phi);
    if (kind == 0) {
      const int pid = t.pid[s];
      p4(pt, eta, phi, trackMass(pid), o);
      o[7] = t.x[s];
      o[8] = t.y[s];
      o[9] = t.z[s];
      const int apid = pid < 0 ? -pid : pid;
      if (apid == 11) o[16] = 1;
      else if (apid == 13) o[17] = 1;
      else o[13] = 1;
      o[18] = static_cast<float>(t.charge[s]);
    } else {
      // Towers: massless, energy as measured by Delphes; vertex and charge zero.
      p4(pt, eta, phi, 0, o);
      o[0] = kind == 1 ? ev.photons.e[s] : ev.neutrals.e[s];
      o[kind == 1 ? 15 : 14] = 1;
    }
    const double inv = pt > 0 ? 1 / pt : 0;
    const double* at = sums_.data() + 3 * (base_[kind] + k);
    o[10] = static_cast<float>(at[0] * inv);
    o[11] = static_cast<float>(at[1] * inv);
    o[12] = static_cast<float>(at[2] * inv);
  }
  float* o = out + n * kFeatures;
  p4(lep.pt, lep.eta, lep.phi, lep.isEle ? kMassElectron : kMassMuon, o);
  o[4] = static_cast<float>(lep.pt);
  o[5] = static_cast<float>(lep.eta);
  o[6] = static_cast<float>(lep.phi);
  if (lep.ownTrack >= 0) {
    o[7] = t.x[lep.ownTrack];
    o[8] = t.y[lep.ownTrack];
    o[9] = t.z[lep.ownTrack];
  }
  o[10] = static_cast<float>(lep.isoCh);
  o[11] = static_cast<float>(lep.isoGamma);
  o[12] = static_cast<float>(lep.isoNeu);
  o[lep.isEle ? 16 : 17] = 1;
  o[18] = static_cast<float>(lep.charge);
  return n + 1;
}

// The candidates above `threshold`: their number, or -1 - i for the first one (source
// index i) with a non-finite η or φ, which build() would reject.
static int countCandidates(const float* pt, const float* eta, const float* phi, int total, double threshold) {
  int n = 0;
  for (int i = 0; i < total; i++) {
    if (!(static_cast<double>(pt[i]) > threshold)) continue;
    if (!std::isfinite(eta[i]) || !std::isfinite(phi[i])) return -1 - i;
    n++;
  }
  return n;
}

Outcome Extractor::select(const Event& ev, float* hlf, float* particles, int* nParticles, Lepton* lepton, Bad* bad) {
  const Tracks& t = ev.tracks;
  // Without a lepton above the pT cut the event fails at the lepton step whatever the
  // grids would hold: the cut flow and the input checks need only counts.
  bool anyLepton = false;
  for (const Leptons* l : {&ev.electrons, &ev.muons})
    for (int i = 0; i < l->n && !anyLepton; i++) anyLepton = l->pt[i] > kLeptonPtMin;
  if (!anyLepton) {
    const Towers* towers[2] = {&ev.photons, &ev.neutrals};
    for (int kind = 0; kind < 3; kind++) {
      const int n = kind == 0 ? countCandidates(t.pt, t.eta, t.phi, t.n, kTrackPtMin)
                              : countCandidates(towers[kind - 1]->et, towers[kind - 1]->eta, towers[kind - 1]->phi,
                                                towers[kind - 1]->n, kTowerEtMin);
      if (n < 0) {
        *bad = Bad{kind, -1 - n};
        return kNonFiniteCandidate;
      }
      if (n == 0) return static_cast<Outcome>(kind);
    }
    return kNoLepton;
  }
  int b = idx_[0].build(t.pt, t.eta, t.phi, t.n, kTrackPtMin);
  if (b >= 0) {
    *bad = Bad{0, b};
    return kNonFiniteCandidate;
  }
  if (idx_[0].n == 0) return kNoTrack;
  b = idx_[1].build(ev.photons.et, ev.photons.eta, ev.photons.phi, ev.photons.n, kTowerEtMin);
  if (b >= 0) {
    *bad = Bad{1, b};
    return kNonFiniteCandidate;
  }
  if (idx_[1].n == 0) return kNoPhoton;
  b = idx_[2].build(ev.neutrals.et, ev.neutrals.eta, ev.neutrals.phi, ev.neutrals.n, kTowerEtMin);
  if (b >= 0) {
    *bad = Bad{2, b};
    return kNonFiniteCandidate;
  }
  if (idx_[2].n == 0) return kNoNeutralHadron;
  Lepton lep;
  const Outcome l = selectLepton(ev, &lep, bad);
  if (l != kSelected) return l;
  // HLF (src/physics/hlf.ts)
  double ht = 0;
  int nJets = 0, nB = 0;
  for (int i = 0; i < ev.jets.n; i++) {
    const double pt = ev.jets.pt[i], eta = ev.jets.eta[i];
    if (pt > kJetPtMin && eta < kJetAbsEtaMax && eta > -kJetAbsEtaMax) {
      ht += pt;
      nJets++;
      if (ev.jets.btag[i] > 0) nB++;
    }
  }
  if (ev.met.n == 0) return kNoMissingEt;
  const double met = ev.met.met[0], metPhi = ev.met.phi[0];
  const double v = 2 * lep.pt * met * (1 - std::cos(lep.phi - metPhi));
  hlf[0] = static_cast<float>(ht);
  hlf[1] = static_cast<float>(met);
  hlf[2] = static_cast<float>(metPhi);
  hlf[3] = static_cast<float>(v > 0 ? std::sqrt(v) : 0);
  hlf[4] = static_cast<float>(nJets);
  hlf[5] = static_cast<float>(nB);
  hlf[6] = static_cast<float>(lep.pt);
  hlf[7] = static_cast<float>(lep.eta);
  hlf[8] = static_cast<float>(lep.phi);
  hlf[9] = static_cast<float>(lep.isoCh);
  hlf[10] = static_cast<float>(lep.isoGamma);
  hlf[11] = static_cast<float>(lep.isoNeu);
  hlf[12] = static_cast<float>(lep.charge);
  hlf[13] = lep.isEle ? 1 : 0;
  *lepton = lep;
  *nParticles = sequence(ev, lep, particles);
  return kSelected;
}

}  // namespace features
