// Inference-only GRU forward (Keras' reset_after variant). See gru_infer.h.
//
// Why it is shaped this way (the training forward in gru.cc keeps every step's gates for
// backprop, so it must write them out; prediction needs none of that):
// - Batch rows are the SIMD lanes: a block of up to 16*kMaxNv rows keeps its state
//   transposed, h[unit][row], so one vector holds one unit of 16 rows. A unit's four
//   pre-activations (z and r over [x, h], the candidate's x part and h part apart, as
//   reset_after needs) are accumulated in registers, and the gate nonlinearities and the
//   state update run on those registers right away: a step is one pass over the weights
//   with no intermediate gate arrays, no per-gate padding of the units to the vector
//   width, and the activations vectorised across rows.
// - Rows are ordered by length before they are blocked, so a block starts at its longest
//   sequence's first step and short sequences skip most of the padding; the padding that
//   is left, and real steps whose features are all zero, keep the state by a blend.
// - The sequences come unpadded (one array, rows one after another): the caller builds no
//   [B, T, F] batch of mostly zeros and no mask, and the kernel reads only real steps.
//   It also standardises the features as it reads them: in JavaScript that pass over the
//   batch cost a fifth of a prediction.
// - Each thread owns whole blocks: the recurrence needs no synchronisation.
#include "gru_infer.h"

#include "simd16.h"

#include <algorithm>
#include <cstring>
#include <numeric>
#include <thread>
#include <vector>

namespace fused_gru {
namespace {

constexpr int kMaxNv = 6;  // 4 accumulator sets x 6 vectors = 24 of the 32 vector registers

using namespace simd;

// tanh(x) = 2 sigmoid(2x) - 1: near 0 this loses relative precision (the training kernel
// switches to a series there), but its absolute error stays about 1e-7, the size of the
// products' rounding, and the state update only ever uses it additively.
inline v16 vtanh(v16 x) { return 2.0f * vrecip(1.0f + vexp(-2.0f * x)) - 1.0f; }

template <bool Hard>
inline v16 vgate(v16 x) {
  if (Hard) {
    return vmin(vmax(0.2f * x + 0.5f, splat(0.0f)), splat(1.0f));
  }
  return vrecip(1.0f + vexp(-x));
}

// Weights per unit, in the order one step reads them: for unit j, (F + U) triples
// (z, r, candidate) of the input then the recurrent kernel; and four biases: z and r with
// both rows summed, the candidate's input and recurrent bias apart.
struct PackedInfer {
  int K3;
  std::vector<float> w;     // [U][(F + U) * 3]
  std::vector<float> bias;  // [U][4]

  PackedInfer(const Dims& d, const float* W, const float* Ur, const float* b)
      : K3(3 * (d.F + d.U)), w(static_cast<size_t>(d.U) * K3), bias(static_cast<size_t>(d.U) * 4, 0.0f) {
    const int U = d.U, F = d.F, U3 = 3 * d.U;
    for (int j = 0; j < U; ++j) {
      float* pw = &w[static_cast<size_t>(j) * K3];
      for (int k = 0; k < F; ++k)
        for (int g = 0; g < 3; ++g) pw[3 * k + g] = W[k * U3 + g * U + j];
      for (int k = 0; k < U; ++k)
        for (int g = 0; g < 3; ++g) pw[3 * (F + k) + g] = Ur[k * U3 + g * U + j];
      if (b != nullptr) {
        float* pb = &bias[static_cast<size_t>(j) * 4];
        pb[0] = b[j] + b[U3 + j];
        pb[1] = b[U + j] + b[U3 + U + j];
        pb[2] = b[2 * U + j];
        pb[3] = b[U3 + 2 * U + j];
      }
    }
  }
};

// One step of one unit j for NV vectors of rows: X is [F][L], H is [U][L] (the state
// before the step), hj its row j, M the rows' step mask as floats (1 used, 0 keep the
// state); writes the new row j to hn.
template <int NV, bool Hard>
inline void unitStep(int F, int U, int L, const float* pw, const float* pb, const float* X,
                     const float* H, const float* hj, const float* M, float* hn) {
  v16 az[NV], ar[NV], ax[NV], ah[NV];
  for (int v = 0; v < NV; ++v) {
    az[v] = splat(pb[0]);
    ar[v] = splat(pb[1]);
    ax[v] = splat(pb[2]);
    ah[v] = splat(pb[3]);
  }
  for (int k = 0; k < F; ++k, pw += 3) {
    const v16 wz = splat(pw[0]), wr = splat(pw[1]), wh = splat(pw[2]);
    const float* xk = X + static_cast<size_t>(k) * L;
    for (int v = 0; v < NV; ++v) {
      v16 xv = load(xk + kLanes * v);
      keepInRegister(xv);
      az[v] += wz * xv;
      ar[v] += wr * xv;
      ax[v] += wh * xv;
    }
  }
  for (int k = 0; k < U; ++k, pw += 3) {
    const v16 uz = splat(pw[0]), ur = splat(pw[1]), uh = splat(pw[2]);
    const float* hk = H + static_cast<size_t>(k) * L;
    for (int v = 0; v < NV; ++v) {
      v16 hv = load(hk + kLanes * v);
      keepInRegister(hv);
      az[v] += uz * hv;
      ar[v] += ur * hv;
      ah[v] += uh * hv;
    }
  }
  // Stage by stage across the vectors, so that their independent chains interleave.
  v16 z[NV], r[NV];
  for (int v = 0; v < NV; ++v) z[v] = vgate<Hard>(az[v]);
  for (int v = 0; v < NV; ++v) r[v] = vgate<Hard>(ar[v]);
  for (int v = 0; v < NV; ++v) ax[v] = vtanh(ax[v] + r[v] * ah[v]);
  for (int v = 0; v < NV; ++v) {
    const v16 h = load(hj + kLanes * v);
    const v16 next = z[v] * h + (1.0f - z[v]) * ax[v];
    store(hn + kLanes * v, load(M + kLanes * v) != splat(0.0f) ? next : h);
  }
}

// A block's whole recurrence: rows[0..n) of the batch, longest first, NV = ceil(n / 16)
// vectors; a row of length len joins at step steps - len (front padding).
template <int NV, bool Hard>
void runBlock(const Dims& d, const InferArgs& a, const PackedInfer& p, const int* rows, int n,
              const int64_t* offset, float* buf) {
  const int F = d.F, U = d.U, L = kLanes * NV;
  const int steps = a.lengths[rows[0]];
  float* X = buf;
  float* H = X + static_cast<size_t>(F) * L;
  float* Hn = H + static_cast<size_t>(U) * L;
  float* M = Hn + static_cast<size_t>(U) * L;
  // Lanes past n stay zero throughout: their mask is 0, so their state never moves.
  std::memset(buf, 0, sizeof(float) * static_cast<size_t>(F + 2 * U + 1) * L);
  for (int i = 0; i < n; ++i)
    for (int j = 0; j < U; ++j) H[j * L + i] = a.h0[static_cast<size_t>(rows[i]) * U + j];
  for (int t = 0; t < steps; ++t) {
    bool any = false;
    for (int i = 0; i < n; ++i) {
      const int b = rows[i], s = t - (steps - a.lengths[b]);
      bool used = false;
      if (s >= 0) {
        const float* xs = a.x + (offset[b] + s) * F;
        for (int f = 0; f < F; ++f) {
          const float v = a.mean == nullptr ? xs[f] : static_cast<float>((xs[f] - a.mean[f]) / a.std[f]);
          X[f * L + i] = v;
          used |= v != 0.0f;
        }
      } else {
        for (int f = 0; f < F; ++f) X[f * L + i] = 0.0f;
      }
      M[i] = used ? 1.0f : 0.0f;
      any |= used;
    }
    if (!any) continue;
    for (int j = 0; j < U; ++j)
      unitStep<NV, Hard>(F, U, L, &p.w[static_cast<size_t>(j) * p.K3], &p.bias[static_cast<size_t>(j) * 4],
                         X, H, H + static_cast<size_t>(j) * L, M, Hn + static_cast<size_t>(j) * L);
    std::swap(H, Hn);
  }
  for (int i = 0; i < n; ++i)
    for (int j = 0; j < U; ++j) a.hT[static_cast<size_t>(rows[i]) * U + j] = H[j * L + i];
}

template <bool Hard>
void inferImpl(const Dims& d, const Config& c, const InferArgs& a) {
  const PackedInfer p(d, a.W, a.Ur, a.bias);
  const int B = d.B;
  std::vector<int64_t> offset(B);
  for (int64_t b = 0, at = 0; b < B; at += a.lengths[b], ++b) offset[b] = at;
  std::vector<int> order(B);
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](int x, int y) { return a.lengths[x] > a.lengths[y]; });

  const int rowsPerBlock = kLanes * kMaxNv;
  const int blocks = (B + rowsPerBlock - 1) / rowsPerBlock;
  const int nt = std::max(1, std::min(c.threads, blocks));
  auto work = [&](int w) {
    std::vector<float> buf(static_cast<size_t>(d.F + 2 * d.U + 1) * rowsPerBlock);
    for (int blk = w; blk < blocks; blk += nt) {
      const int* rows = &order[static_cast<size_t>(blk) * rowsPerBlock];
      const int n = std::min(rowsPerBlock, B - blk * rowsPerBlock);
      switch ((n + kLanes - 1) / kLanes) {
        case 1: runBlock<1, Hard>(d, a, p, rows, n, offset.data(), buf.data()); break;
        case 2: runBlock<2, Hard>(d, a, p, rows, n, offset.data(), buf.data()); break;
        case 3: runBlock<3, Hard>(d, a, p, rows, n, offset.data(), buf.data()); break;
        case 4: runBlock<4, Hard>(d, a, p, rows, n, offset.data(), buf.data()); break;
        case 5: runBlock<5, Hard>(d, a, p, rows, n, offset.data(), buf.data()); break;
        default: runBlock<kMaxNv, Hard>(d, a, p, rows, n, offset.data(), buf.data()); break;
      }
    }
  };
  std::vector<std::thread> pool;
  for (int w = 1; w < nt; ++w) pool.emplace_back(work, w);
  work(0);
  for (auto& th : pool) th.join();
}

}  // namespace

void forwardInfer(const Dims& d, const Config& c, const InferArgs& a) {
  if (c.hardSigmoid)
    inferImpl<true>(d, c, a);
  else
    inferImpl<false>(d, c, a);
}

}  // namespace fused_gru
