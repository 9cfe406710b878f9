// Inference forward of the dense classifier. Training (mlp.cc) works on rows padded to
// 8-float widths, which for hepflow's narrow layers (14-50-20-10-3) wastes a third of the
// products and leaves the softmax scalar; prediction keeps up to 64 batch rows in the
// vector lanes instead (activations transposed, [unit][row]), so every width is used as
// it is, ReLU and softmax run on whole vectors, and four units' accumulators share each
// loaded vector of the previous layer.
#include <algorithm>
#include <vector>

#include "mlp.h"
#include "simd16.h"

namespace fused_dense {
namespace {

using namespace simd;

constexpr int kMaxNv = 4;  // rows per block: 64
constexpr int kUnits = 4;  // units per tile: 4 x kMaxNv accumulators

// Out[j..j+J)[rows] = bias + Σ_k W[k][j..] · A[k][rows] for one tile of J units, ReLU
// (NaN passes, as in tfjs) unless `logits`. A and Out are [units][L].
template <int J, int NV>
inline void unitTile(int K, const float* W, int ldw, const float* bias, const float* A, int L, float* Out,
                     bool logits) {
  v16 acc[J][NV];
  for (int u = 0; u < J; ++u)
    for (int v = 0; v < NV; ++v) acc[u][v] = splat(bias[u]);
  for (int k = 0; k < K; ++k) {
    v16 a[NV];
    for (int v = 0; v < NV; ++v) {
      a[v] = load(A + k * L + kLanes * v);
      keepInRegister(a[v]);
    }
    for (int u = 0; u < J; ++u) {
      const v16 w = splat(W[k * ldw + u]);
      for (int v = 0; v < NV; ++v) acc[u][v] += w * a[v];
    }
  }
  for (int u = 0; u < J; ++u)
    for (int v = 0; v < NV; ++v)
      store(Out + u * L + kLanes * v, logits ? acc[u][v] : (acc[u][v] < splat(0.0f) ? splat(0.0f) : acc[u][v]));
}

}  // namespace

template <int NV>
void Mlp::forwardBlock(const float* x, int rows, float* out, float* bufA, float* bufB) const {
  constexpr int L = kLanes * NV;
  const int in = sizes_[0];
  std::fill(bufA, bufA + static_cast<size_t>(in) * L, 0.0f);
  for (int i = 0; i < rows; ++i)
    for (int k = 0; k < in; ++k) bufA[k * L + i] = x[static_cast<size_t>(i) * in + k];
  float* A = bufA;
  float* B = bufB;
  for (size_t l = 0; l < layers_.size(); ++l) {
    const Layer& ly = layers_[l];
    const bool logits = l + 1 == layers_.size();
    int j = 0;
    for (; j + kUnits <= ly.out; j += kUnits)
      unitTile<kUnits, NV>(ly.in, ly.W.data() + j, ly.outP, ly.b.data() + j, A, L, B + j * L, logits);
    for (; j < ly.out; ++j) unitTile<1, NV>(ly.in, ly.W.data() + j, ly.outP, ly.b.data() + j, A, L, B + j * L, logits);
    std::swap(A, B);
  }
  // Softmax across the output units, lane by lane.
  const int n = layers_.back().out;
  for (int v = 0; v < NV; ++v) {
    const int at = kLanes * v;
    v16 mx = load(A + at);
    for (int j = 1; j < n; ++j) mx = vmax(mx, load(A + j * L + at));
    v16 sum = splat(0.0f);
    for (int j = 0; j < n; ++j) {
      const v16 e = vexp(load(A + j * L + at) - mx);
      store(A + j * L + at, e);
      sum += e;
    }
    for (int j = 0; j < n; ++j) store(A + j * L + at, load(A + j * L + at) / sum);
  }
  for (int i = 0; i < rows; ++i)
    for (int j = 0; j < n; ++j) out[static_cast<size_t>(i) * n + j] = A[j * L + i];
}

void Mlp::forward(const float* x, int batch, float* out) const {
  const int widest = *std::max_element(sizes_.begin(), sizes_.end());
  std::vector<float> a(static_cast<size_t>(widest) * kLanes * kMaxNv), b(a.size());
  const int block = kLanes * kMaxNv;
  for (int r0 = 0; r0 < batch; r0 += block) {
    const int rows = std::min(block, batch - r0);
    const float* xs = x + static_cast<size_t>(r0) * sizes_[0];
    float* os = out + static_cast<size_t>(r0) * sizes_.back();
    switch ((rows + kLanes - 1) / kLanes) {
      case 1: forwardBlock<1>(xs, rows, os, a.data(), b.data()); break;
      case 2: forwardBlock<2>(xs, rows, os, a.data(), b.data()); break;
      case 3: forwardBlock<3>(xs, rows, os, a.data(), b.data()); break;
      default: forwardBlock<kMaxNv>(xs, rows, os, a.data(), b.data()); break;
    }
  }
}

}  // namespace fused_dense
