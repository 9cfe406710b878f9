// Layout: every width is padded to a multiple of 8 floats so that each product runs on
// whole 8-float vectors; padded weights, biases and activations stay exactly zero (their
// gradients are zero, so Adam leaves them at zero too). One product routine serves the
// forward pass (A·W), the weight gradient (Aᵀ·δ, the same loop with A read transposed)
// and the back-propagated error (δ·Wᵀ, with a transposed copy of W kept current).
#include "mlp.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <stdexcept>

namespace fused_dense {
namespace {

typedef float v8 __attribute__((vector_size(32)));

inline v8 load(const float* p) {
  v8 v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
inline void store(float* p, v8 v) { std::memcpy(p, &v, sizeof v); }
inline v8 splat(float a) { return v8{a, a, a, a, a, a, a, a}; }
inline int padded(int n) { return (n + 7) / 8 * 8; }

// C[r, j..j+8·NV) = bias + Σ_q A[r·rs + q·qs] · B[q·ldb + j], for R rows: R·NV accumulators
// stay in registers for the whole reduction.
template <int R, int NV>
inline void tile(int Q, const float* A, long rs, long qs, const float* B, long ldb, float* C, long ldc,
                 const float* bias) {
  v8 acc[R][NV];
  for (int v = 0; v < NV; ++v) {
    const v8 b0 = bias ? load(bias + 8 * v) : splat(0.0f);
    for (int r = 0; r < R; ++r) acc[r][v] = b0;
  }
  for (int q = 0; q < Q; ++q) {
    v8 bq[NV];
    for (int v = 0; v < NV; ++v) bq[v] = load(B + q * ldb + 8 * v);
    for (int r = 0; r < R; ++r) {
      const v8 a = splat(A[r * rs + q * qs]);
      for (int v = 0; v < NV; ++v) acc[r][v] += a * bq[v];
    }
  }
  for (int r = 0; r < R; ++r)
    for (int v = 0; v < NV; ++v) store(C + r * ldc + 8 * v, acc[r][v]);
}

template <int R>
inline void rowBlock(int Q, const float* A, long rs, long qs, const float* B, long ldb, int NP, float* C,
                     long ldc, const float* bias) {
  int j = 0;
  for (; j + 16 <= NP; j += 16) tile<R, 2>(Q, A, rs, qs, B + j, ldb, C + j, ldc, bias ? bias + j : nullptr);
  if (j < NP) tile<R, 1>(Q, A, rs, qs, B + j, ldb, C + j, ldc, bias ? bias + j : nullptr);
}

// C [rows x NP] = A · B (+ bias), A element (r, q) at A[r·rs + q·qs], B [Q x NP] with row stride ldb.
void product(int rows, int Q, const float* A, long rs, long qs, const float* B, long ldb, int NP, float* C,
             long ldc, const float* bias) {
  int r = 0;
  for (; r + 4 <= rows; r += 4) rowBlock<4>(Q, A + r * rs, rs, qs, B, ldb, NP, C + r * ldc, ldc, bias);
  for (; r < rows; ++r) rowBlock<1>(Q, A + r * rs, rs, qs, B, ldb, NP, C + r * ldc, ldc, bias);
}

// NaN passes through (as in tfjs), so weights that overflowed show as a NaN loss.
void relu(float* x, size_t n) {
  for (size_t i = 0; i < n; ++i) x[i] = x[i] < 0.0f ? 0.0f : x[i];
}

// Softmax over the first `n` columns of each row (in place); padding columns stay 0.
void softmaxRows(float* z, int rows, int ld, int n) {
  for (int i = 0; i < rows; ++i) {
    float* row = z + static_cast<long>(i) * ld;
    float mx = row[0];
    for (int j = 1; j < n; ++j) mx = std::max(mx, row[j]);
    float sum = 0.0f;
    for (int j = 0; j < n; ++j) sum += (row[j] = std::exp(row[j] - mx));
    for (int j = 0; j < n; ++j) row[j] /= sum;
  }
}

// tfjs-layers' epsilon: its categorical cross-entropy clips probabilities to [ε, 1 − ε].
constexpr float kLayersEpsilon = 1e-7f;
// The loss gradient keeps a row's output gradients on the stack.
constexpr int kMaxOutputs = 64;

}  // namespace

void adamUpdate(float* p, float* m, float* v, const float* g, size_t n, const Adam& a) {
  const float b1 = a.beta1, b2 = a.beta2, omb1 = 1.0f - a.beta1, omb2 = 1.0f - a.beta2;
  const float c1 = 1.0f - a.accBeta1, c2 = 1.0f - a.accBeta2, nlr = -a.learningRate, eps = a.epsilon;
  for (size_t i = 0; i < n; ++i) {
    const float gi = g[i];
    const float mi = m[i] * b1 + gi * omb1;
    const float vi = v[i] * b2 + gi * gi * omb2;
    m[i] = mi;
    v[i] = vi;
    p[i] = (mi / c1) / (std::sqrt(vi / c2) + eps) * nlr + p[i];
  }
}

Mlp::Mlp(std::vector<int> sizes) : sizes_(std::move(sizes)) {
  if (sizes_.size() < 2) throw std::invalid_argument("fused_dense: need at least inputs and outputs");
  if (sizes_.back() > kMaxOutputs) throw std::invalid_argument("fused_dense: at most 64 outputs");
  for (int s : sizes_)
    if (s <= 0) throw std::invalid_argument("fused_dense: layer sizes must be positive");
  for (size_t l = 0; l + 1 < sizes_.size(); ++l) {
    Layer L;
    L.in = sizes_[l];
    L.out = sizes_[l + 1];
    L.inP = padded(L.in);
    L.outP = padded(L.out);
    const size_t w = static_cast<size_t>(L.inP) * L.outP;
    for (auto* v : {&L.W, &L.WT, &L.dW, &L.mW, &L.vW}) v->assign(w, 0.0f);
    for (auto* v : {&L.b, &L.db, &L.mb, &L.vb}) v->assign(L.outP, 0.0f);
    layers_.push_back(std::move(L));
  }
  acts_.resize(sizes_.size());
}

size_t Mlp::paramCount() const {
  size_t n = 0;
  for (const Layer& L : layers_) n += static_cast<size_t>(L.in) * L.out + L.out;
  return n;
}

namespace {
// Copies between the flat tfjs list and the padded per-layer arrays.
template <class Fn>
void eachSlot(size_t* at, int in, int out, int outP, Fn fn) {
  for (int k = 0; k < in; ++k)
    for (int j = 0; j < out; ++j) fn((*at)++, static_cast<size_t>(k) * outP + j);
}
}  // namespace

void Mlp::setParams(const float* flat) {
  size_t at = 0;
  for (Layer& L : layers_) {
    eachSlot(&at, L.in, L.out, L.outP, [&](size_t f, size_t p) { L.W[p] = flat[f]; });
    for (int j = 0; j < L.out; ++j) L.b[j] = flat[at++];
    for (int k = 0; k < L.inP; ++k)
      for (int j = 0; j < L.outP; ++j) L.WT[static_cast<size_t>(j) * L.inP + k] = L.W[static_cast<size_t>(k) * L.outP + j];
  }
}

void Mlp::getParams(float* flat) const {
  size_t at = 0;
  for (const Layer& L : layers_) {
    eachSlot(&at, L.in, L.out, L.outP, [&](size_t f, size_t p) { flat[f] = L.W[p]; });
    for (int j = 0; j < L.out; ++j) flat[at++] = L.b[j];
  }
}

void Mlp::setMoments(const float* m, const float* v) {
  size_t at = 0;
  for (Layer& L : layers_) {
    eachSlot(&at, L.in, L.out, L.outP, [&](size_t f, size_t p) {
      L.mW[p] = m[f];
      L.vW[p] = v[f];
    });
    for (int j = 0; j < L.out; ++j, ++at) {
      L.mb[j] = m[at];
      L.vb[j] = v[at];
    }
  }
}

void Mlp::getMoments(float* m, float* v) const {
  size_t at = 0;
  for (const Layer& L : layers_) {
    eachSlot(&at, L.in, L.out, L.outP, [&](size_t f, size_t p) {
      m[f] = L.mW[p];
      v[f] = L.vW[p];
    });
    for (int j = 0; j < L.out; ++j, ++at) {
      m[at] = L.mb[j];
      v[at] = L.vb[j];
    }
  }
}

void Mlp::ensureBatch(int batch) {
  if (batch <= capacity_) return;
  capacity_ = batch;
  acts_[0].assign(static_cast<size_t>(batch) * layers_[0].inP, 0.0f);
  size_t widest = 0;
  for (size_t l = 0; l < layers_.size(); ++l) {
    acts_[l + 1].assign(static_cast<size_t>(batch) * layers_[l].outP, 0.0f);
    widest = std::max<size_t>(widest, std::max(layers_[l].inP, layers_[l].outP));
  }
  delta_.assign(static_cast<size_t>(batch) * widest, 0.0f);
  deltaPrev_.assign(static_cast<size_t>(batch) * widest, 0.0f);
}

// Runs `rows` rows of x through every layer; acts[l] receives layer l's input (acts[0] the
// padded copy of x), acts[L] the probabilities.
void Mlp::forwardRows(const float* x, int rows, float* const* acts) {
  const int in = sizes_[0], inP = layers_[0].inP;
  for (int i = 0; i < rows; ++i) std::memcpy(acts[0] + static_cast<size_t>(i) * inP, x + static_cast<size_t>(i) * in, in * sizeof(float));
  for (size_t l = 0; l < layers_.size(); ++l) {
    const Layer& L = layers_[l];
    product(rows, L.inP, acts[l], L.inP, 1, L.W.data(), L.outP, L.outP, acts[l + 1], L.outP, L.b.data());
    if (l + 1 < layers_.size()) {
      relu(acts[l + 1], static_cast<size_t>(rows) * L.outP);
    } else {
      softmaxRows(acts[l + 1], rows, L.outP, L.out);
    }
  }
}

double Mlp::trainStep(const float* x, const float* y, int batch, const Adam& adam, float* dx) {
  ensureBatch(batch);
  std::vector<float*> acts(acts_.size());
  for (size_t l = 0; l < acts_.size(); ++l) acts[l] = acts_[l].data();
  forwardRows(x, batch, acts.data());

  // δ of the logits for the mean of tfjs-layers' categorical cross-entropy:
  // loss = −Σ y·log(clip(q)), q = p / Σp (p the softmax), the gradient 0 where clipped.
  const Layer& last = layers_.back();
  const int n = last.out, ld = last.outP;
  const float invB = 1.0f / static_cast<float>(batch);
  double loss = 0.0;
  std::fill(delta_.begin(), delta_.begin() + static_cast<size_t>(batch) * ld, 0.0f);
  for (int i = 0; i < batch; ++i) {
    const float* p = acts.back() + static_cast<size_t>(i) * ld;
    const float* t = y + static_cast<size_t>(i) * n;
    float* d = delta_.data() + static_cast<size_t>(i) * ld;
    float s = 0.0f;
    for (int j = 0; j < n; ++j) s += p[j];
    float gq[kMaxOutputs];
    float gqDotQ = 0.0f;
    double rowLoss = 0.0;
    for (int j = 0; j < n; ++j) {
      const float q = p[j] / s;
      const float c = std::min(std::max(q, kLayersEpsilon), 1.0f - kLayersEpsilon);
      rowLoss -= static_cast<double>(t[j]) * std::log(c);
      gq[j] = (q >= kLayersEpsilon && q <= 1.0f - kLayersEpsilon) ? -t[j] / q : 0.0f;
      gqDotQ += gq[j] * q;
    }
    loss += rowLoss;
    float gpDotP = 0.0f;
    float gp[kMaxOutputs];
    for (int j = 0; j < n; ++j) {
      gp[j] = (gq[j] - gqDotQ) / s;
      gpDotP += gp[j] * p[j];
    }
    for (int j = 0; j < n; ++j) d[j] = p[j] * (gp[j] - gpDotP) * invB;
  }

  for (int l = static_cast<int>(layers_.size()) - 1; l >= 0; --l) {
    Layer& L = layers_[l];
    // dW = actsᵀ · δ, db = Σ rows of δ.
    product(L.inP, batch, acts[l], 1, L.inP, delta_.data(), L.outP, L.outP, L.dW.data(), L.outP, nullptr);
    std::fill(L.db.begin(), L.db.end(), 0.0f);
    for (int i = 0; i < batch; ++i) {
      const float* d = delta_.data() + static_cast<size_t>(i) * L.outP;
      for (int j = 0; j < L.outP; ++j) L.db[j] += d[j];
    }
    if (l > 0 || dx != nullptr) {
      // δ of the layer below: (δ · Wᵀ) ⊙ relu'(its pre-activation), from the weights before this step.
      product(batch, L.outP, delta_.data(), L.outP, 1, L.WT.data(), L.inP, L.inP, deltaPrev_.data(), L.inP, nullptr);
      if (l == 0) {
        for (int i = 0; i < batch; ++i)
          std::memcpy(dx + static_cast<size_t>(i) * L.in, deltaPrev_.data() + static_cast<size_t>(i) * L.inP, L.in * sizeof(float));
        break;
      }
      const float* a = acts[l];
      const size_t cnt = static_cast<size_t>(batch) * L.inP;
      for (size_t k = 0; k < cnt; ++k) deltaPrev_[k] = a[k] > 0.0f ? deltaPrev_[k] : 0.0f;
      std::swap(delta_, deltaPrev_);
    }
  }
  for (Layer& L : layers_) {
    adamUpdate(L.W.data(), L.mW.data(), L.vW.data(), L.dW.data(), L.W.size(), adam);
    adamUpdate(L.b.data(), L.mb.data(), L.vb.data(), L.db.data(), L.b.size(), adam);
    for (int k = 0; k < L.inP; ++k)
      for (int j = 0; j < L.outP; ++j) L.WT[static_cast<size_t>(j) * L.inP + k] = L.W[static_cast<size_t>(k) * L.outP + j];
  }
  return loss / batch;
}

}  // namespace fused_dense
