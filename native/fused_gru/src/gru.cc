// Fused GRU forward/backward on the CPU. See gru.h for the semantics.
//
// Why it is shaped this way:
// - Batch rows are independent in the recurrence, so each thread owns a fixed set of rows
//   for the whole sequence: no synchronisation per timestep, only a final reduction of the
//   per-thread weight gradients.
// - At each timestep the thread gathers its *active* (unmasked) rows into contiguous
//   buffers, so padded steps cost nothing but a mask test, whatever the padding layout.
// - Inside a step the work is small matrix products (rows x U by U x 3U); a register-
//   blocked micro-kernel written with GCC vector extensions keeps them compute-bound.
//   Gates are padded to a multiple of 8 columns internally so every vector is full.
// - Weight gradients are accumulated per step from data still in cache rather than
//   stored for a big product at the end, which keeps memory at the forward's saved states.
#include "gru.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <thread>
#include <vector>

namespace fused_gru {
namespace {

typedef float v8 __attribute__((vector_size(32), aligned(4), may_alias));

inline int pad8(int n) { return (n + 7) & ~7; }

// C[MR x 8*NV] (+)= A(MR x K) * B(K x 8*NV); A(i, k) = A[i * ars + k * acs]. Without
// accumulate, C starts from the row vector `bias` (zero when null).
template <int MR, int NV>
inline void tile(int K, const float* A, int ars, int acs, const float* B, int ldb, float* C,
                 int ldc, bool accumulate, const float* bias) {
  v8 s[MR][NV];
  for (int i = 0; i < MR; ++i)
    for (int v = 0; v < NV; ++v)
      s[i][v] = accumulate ? *reinterpret_cast<const v8*>(C + i * ldc + 8 * v)
                : bias     ? *reinterpret_cast<const v8*>(bias + 8 * v)
                           : v8{};
  for (int k = 0; k < K; ++k) {
    const float* bk = B + static_cast<size_t>(k) * ldb;
    v8 b[NV];
    for (int v = 0; v < NV; ++v) b[v] = *reinterpret_cast<const v8*>(bk + 8 * v);
    for (int i = 0; i < MR; ++i) {
      const float a = A[i * ars + k * acs];
      for (int v = 0; v < NV; ++v) s[i][v] += b[v] * a;
    }
  }
  for (int i = 0; i < MR; ++i)
    for (int v = 0; v < NV; ++v) *reinterpret_cast<v8*>(C + i * ldc + 8 * v) = s[i][v];
}

template <int MR>
inline void rowBlock(int N, int K, const float* A, int ars, int acs, const float* B, int ldb,
                     float* C, int ldc, bool accumulate, const float* bias) {
  int j = 0;
  for (; j + 24 <= N; j += 24)
    tile<MR, 3>(K, A, ars, acs, B + j, ldb, C + j, ldc, accumulate, bias ? bias + j : nullptr);
  switch ((N - j) / 8) {
    case 2: tile<MR, 2>(K, A, ars, acs, B + j, ldb, C + j, ldc, accumulate, bias ? bias + j : nullptr); break;
    case 1: tile<MR, 1>(K, A, ars, acs, B + j, ldb, C + j, ldc, accumulate, bias ? bias + j : nullptr); break;
    default: break;
  }
}

// Blocks of 8 rows keep 24 accumulators in registers, which only AVX-512VL's 32 vector
// registers hold without spilling; they halve the loads of B per multiply-add.
#ifdef __AVX512VL__
constexpr bool kWideRows = true;
#else
constexpr bool kWideRows = false;
#endif

// C[M x N] (+)= A(M x K) * B[K x N], N a multiple of 8, A(i, k) = A[i * ars + k * acs]
// (ars = lda, acs = 1 for a row-major A; ars = 1, acs = lda for a transposed one).
void gemm(int M, int N, int K, const float* A, int ars, int acs, const float* B, int ldb,
          float* C, int ldc, bool accumulate, const float* bias = nullptr) {
  int i = 0;
  for (; kWideRows && i + 8 <= M; i += 8)
    rowBlock<8>(N, K, A + i * ars, ars, acs, B, ldb, C + i * ldc, ldc, accumulate, bias);
  for (; i + 4 <= M; i += 4)
    rowBlock<4>(N, K, A + i * ars, ars, acs, B, ldb, C + i * ldc, ldc, accumulate, bias);
  switch (M - i) {
    case 3: rowBlock<3>(N, K, A + i * ars, ars, acs, B, ldb, C + i * ldc, ldc, accumulate, bias); break;
    case 2: rowBlock<2>(N, K, A + i * ars, ars, acs, B, ldb, C + i * ldc, ldc, accumulate, bias); break;
    case 1: rowBlock<1>(N, K, A + i * ars, ars, acs, B, ldb, C + i * ldc, ldc, accumulate, bias); break;
    default: break;
  }
}

// exp with Cephes' range reduction and polynomial (about 1 ulp); written branch-free so
// that the loops calling it vectorise.
inline float fastExp(float x) {
  x = std::min(std::max(x, -87.0f), 88.0f);
  const float n = std::floor(x * 1.44269504088896341f + 0.5f);
  const float r = x - n * 0.693359375f + n * 2.12194440e-4f;
  const float p = (((((1.9875691500e-4f * r + 1.3981999507e-3f) * r + 8.3334519073e-3f) * r +
                     4.1665795894e-2f) * r + 1.6666665459e-1f) * r + 5.0000001201e-1f) * r * r +
                  r + 1.0f;
  const int32_t bits = (static_cast<int32_t>(n) + 127) << 23;
  float scale;
  std::memcpy(&scale, &bits, sizeof scale);
  return p * scale;
}

// tanh from exp loses relative precision near 0, so small arguments use the Taylor series.
inline float fastTanh(float x) {
  const float ax = std::fabs(x);
  const float big = 1.0f - 2.0f / (fastExp(2.0f * ax) + 1.0f);
  const float x2 = x * x;
  const float small =
      x * (1.0f + x2 * (-1.0f / 3 + x2 * (2.0f / 15 + x2 * (-17.0f / 315 + x2 * (62.0f / 2835)))));
  return ax < 0.125f ? small : std::copysign(big, x);
}

template <bool Hard>
inline float gateAct(float x) {
  if (Hard) return std::min(std::max(0.2f * x + 0.5f, 0.0f), 1.0f);
  return 1.0f / (1.0f + fastExp(-x));
}

// Derivative from the activation's output; for hardSigmoid the saturated ends get 0 (tfjs
// passes the gradient at exactly 0.2x+0.5 = 0 or 1 too: a measure-zero difference).
template <bool Hard>
inline float gateDeriv(float y) {
  if (Hard) return (y > 0.0f && y < 1.0f) ? 0.2f : 0.0f;
  return y * (1.0f - y);
}

// Weights copied into the padded internal layout: gate g occupies columns [g*up, g*up+U).
struct Packed {
  int U, up, G3, F, Fp;
  std::vector<float> Wi, Ui, bi, br;  // [Fp x G3], [U x G3], [G3], [G3]
  std::vector<float> WiT, UiT;        // [G3 x Fp], [G3 x up] (backward only)

  Packed(const Dims& d, const float* W, const float* Ur, const float* bias, bool resetAfter,
         bool transposed)
      : U(d.U), up(pad8(d.U)), G3(3 * pad8(d.U)), F(d.F), Fp(pad8(d.F)),
        Wi(static_cast<size_t>(Fp) * G3), Ui(static_cast<size_t>(U) * G3), bi(G3), br(G3) {
    for (int f = 0; f < F; ++f)
      for (int g = 0; g < 3; ++g)
        for (int j = 0; j < U; ++j) Wi[f * G3 + g * up + j] = W[(f * 3 + g) * U + j];
    for (int k = 0; k < U; ++k)
      for (int g = 0; g < 3; ++g)
        for (int j = 0; j < U; ++j) Ui[k * G3 + g * up + j] = Ur[(k * 3 + g) * U + j];
    if (bias != nullptr)
      for (int g = 0; g < 3; ++g)
        for (int j = 0; j < U; ++j) {
          bi[g * up + j] = bias[g * U + j];
          if (resetAfter) br[g * up + j] = bias[3 * U + g * U + j];
        }
    if (transposed) {
      WiT.assign(static_cast<size_t>(G3) * Fp, 0.0f);
      UiT.assign(static_cast<size_t>(G3) * up, 0.0f);
      for (int f = 0; f < Fp; ++f)
        for (int c = 0; c < G3; ++c) WiT[c * Fp + f] = Wi[f * G3 + c];
      for (int k = 0; k < U; ++k)
        for (int c = 0; c < G3; ++c) UiT[c * up + k] = Ui[k * G3 + c];
    }
  }
};

template <class Fn>
void runThreads(int B, int threads, Fn fn) {
  const int nt = std::max(1, std::min(threads, B));
  std::vector<std::vector<int>> rows(nt);
  // Interleaved rows balance the work when sequence lengths drift along the batch.
  for (int b = 0; b < B; ++b) rows[b % nt].push_back(b);
  if (nt == 1) {
    fn(0, rows[0]);
    return;
  }
  std::vector<std::thread> pool;
  for (int w = 1; w < nt; ++w) pool.emplace_back(fn, w, std::cref(rows[w]));
  fn(0, rows[0]);
  for (auto& th : pool) th.join();
}

// A hint per cache line of [p, p + n floats): each batch row is its own stream through the
// saved states, too many streams for the hardware prefetcher to follow.
template <bool Write>
inline void prefetch(const float* p, size_t n) {
  const char* c = reinterpret_cast<const char*>(p);
  for (size_t o = 0; o < n * sizeof(float); o += 64) __builtin_prefetch(c + o, Write ? 1 : 0, 3);
}

inline bool active(const uint8_t* mask, int T, int b, int t) {
  return mask == nullptr || mask[static_cast<size_t>(b) * T + t] != 0;
}

}  // namespace

// The activation choice is a template parameter so the per-unit loops have no branches
// and vectorise.
template <bool Hard>
void forwardImpl(const Dims& d, const Config& c, const ForwardArgs& a) {
  const Packed p(d, a.W, a.Ur, a.bias, c.resetAfter, false);
  const int U = d.U, T = d.T, F = d.F, up = p.up, G3 = p.G3, Fp = p.Fp;

  runThreads(d.B, c.threads, [&](int, const std::vector<int>& rows) {
    const int nR = static_cast<int>(rows.size());
    std::vector<float> Hst(static_cast<size_t>(nR) * up, 0.0f), Xb(static_cast<size_t>(nR) * Fp, 0.0f),
        Hb(static_cast<size_t>(nR) * up, 0.0f), G(static_cast<size_t>(nR) * G3, 0.0f),
        P(static_cast<size_t>(nR) * G3, 0.0f), RH(static_cast<size_t>(nR) * up, 0.0f);
    std::vector<int> act(nR);
    for (int i = 0; i < nR; ++i)
      std::memcpy(&Hst[i * up], a.h0 + static_cast<size_t>(rows[i]) * U, U * sizeof(float));

    for (int t = 0; t < T; ++t) {
      int n = 0;
      for (int i = 0; i < nR; ++i) {
        const int b = rows[i];
        if (active(a.mask, T, b, t)) {
          act[n++] = i;
        } else if (a.hs != nullptr) {
          std::memcpy(a.hs + (static_cast<size_t>(b) * T + t) * U, &Hst[i * up], U * sizeof(float));
        }
      }
      if (n == 0) continue;
      for (int k = 0; k < n; ++k) {
        const int i = act[k], b = rows[i];
        if (t + 1 < T) {
          const size_t next = static_cast<size_t>(b) * T + t + 1;
          prefetch<false>(a.x + next * F, F);
          if (a.gates != nullptr) {
            prefetch<true>(a.gates + next * 4 * U, 4 * U);
            prefetch<true>(a.hs + next * U, U);
          }
        }
        std::memcpy(&Xb[k * Fp], a.x + (static_cast<size_t>(b) * T + t) * F, F * sizeof(float));
        std::memcpy(&Hb[k * up], &Hst[i * up], U * sizeof(float));
      }
      gemm(n, G3, F, Xb.data(), Fp, 1, p.Wi.data(), G3, G.data(), G3, false, p.bi.data());

      if (!c.resetAfter) {
        gemm(n, 2 * up, U, Hb.data(), up, 1, p.Ui.data(), G3, G.data(), G3, true);
        for (int k = 0; k < n; ++k) {
          float* g = &G[k * G3];
          const float* h = &Hb[k * up];
          float* rh = &RH[k * up];
          for (int j = 0; j < U; ++j) {
            g[j] = gateAct<Hard>(g[j]);
            g[up + j] = gateAct<Hard>(g[up + j]);
            rh[j] = g[up + j] * h[j];
          }
        }
        gemm(n, up, U, RH.data(), up, 1, p.Ui.data() + 2 * up, G3, G.data() + 2 * up, G3, true);
        for (int k = 0; k < n; ++k) {
          const int i = act[k];
          const size_t bt = static_cast<size_t>(rows[i]) * T + t;
          float* g = &G[k * G3];
          const float* h = &Hb[k * up];
          float* hn = &Hst[i * up];
          for (int j = 0; j < U; ++j) {
            const float z = g[j], hh = fastTanh(g[2 * up + j]);
            g[2 * up + j] = hh;
            hn[j] = z * h[j] + (1.0f - z) * hh;
          }
          if (a.gates != nullptr) {
            float* sv = a.gates + bt * 4 * U;
            std::memcpy(sv, g, U * sizeof(float));
            std::memcpy(sv + U, g + up, U * sizeof(float));
            std::memcpy(sv + 2 * U, g + 2 * up, U * sizeof(float));
            std::memcpy(sv + 3 * U, &RH[k * up], U * sizeof(float));
            std::memcpy(a.hs + bt * U, hn, U * sizeof(float));
          }
        }
      } else {
        gemm(n, G3, U, Hb.data(), up, 1, p.Ui.data(), G3, P.data(), G3, false, p.br.data());
        for (int k = 0; k < n; ++k) {
          const int i = act[k];
          const size_t bt = static_cast<size_t>(rows[i]) * T + t;
          float* g = &G[k * G3];
          const float* q = &P[k * G3];
          const float* h = &Hb[k * up];
          float* hn = &Hst[i * up];
          for (int j = 0; j < U; ++j) {
            const float z = gateAct<Hard>(g[j] + q[j]);
            const float r = gateAct<Hard>(g[up + j] + q[up + j]);
            const float hh = fastTanh(g[2 * up + j] + r * q[2 * up + j]);
            g[j] = z;
            g[up + j] = r;
            g[2 * up + j] = hh;
            hn[j] = z * h[j] + (1.0f - z) * hh;
          }
          if (a.gates != nullptr) {
            float* sv = a.gates + bt * 4 * U;
            std::memcpy(sv, g, U * sizeof(float));
            std::memcpy(sv + U, g + up, U * sizeof(float));
            std::memcpy(sv + 2 * U, g + 2 * up, U * sizeof(float));
            std::memcpy(sv + 3 * U, q + 2 * up, U * sizeof(float));
            std::memcpy(a.hs + bt * U, hn, U * sizeof(float));
          }
        }
      }
    }
    for (int i = 0; i < nR; ++i)
      std::memcpy(a.hT + static_cast<size_t>(rows[i]) * U, &Hst[i * up], U * sizeof(float));
  });
}

template <bool Hard>
void backwardImpl(const Dims& d, const Config& c, const BackwardArgs& a) {
  const Packed p(d, a.W, a.Ur, nullptr, c.resetAfter, true);
  const int U = d.U, T = d.T, F = d.F, up = p.up, G3 = p.G3, Fp = p.Fp;
  const int nt = std::max(1, std::min(c.threads, d.B));
  // Per-thread weight-gradient accumulators, reduced after the join.
  std::vector<std::vector<float>> dWs(nt), dUs(nt), dbis(nt), dbrs(nt);

  runThreads(d.B, c.threads, [&](int w, const std::vector<int>& rows) {
    const int nR = static_cast<int>(rows.size());
    std::vector<float>& dWi = dWs[w];
    std::vector<float>& dUi = dUs[w];
    std::vector<float>& dbi = dbis[w];
    std::vector<float>& dbr = dbrs[w];
    dWi.assign(static_cast<size_t>(Fp) * G3, 0.0f);
    dUi.assign(static_cast<size_t>(U) * G3, 0.0f);
    dbi.assign(G3, 0.0f);
    dbr.assign(G3, 0.0f);
    const size_t R = static_cast<size_t>(nR);
    std::vector<float> dHst(R * up, 0.0f), Hp(R * up, 0.0f), Xb(R * Fp, 0.0f), Da(R * G3, 0.0f),
        Dr(R * G3, 0.0f), RHb(R * up, 0.0f), dRH(R * up, 0.0f), dHP(R * up, 0.0f),
        dXb(R * Fp, 0.0f);
    std::vector<int> act(nR);
    for (int i = 0; i < nR; ++i) {
      const size_t b = rows[i];
      std::memcpy(&dHst[i * up], a.dhT + b * U, U * sizeof(float));
      if (a.dx != nullptr) std::memset(a.dx + b * T * F, 0, static_cast<size_t>(T) * F * sizeof(float));
    }

    for (int t = T - 1; t >= 0; --t) {
      int n = 0;
      for (int i = 0; i < nR; ++i)
        if (active(a.mask, T, rows[i], t)) act[n++] = i;
      if (n == 0) continue;

      for (int k = 0; k < n; ++k) {
        const int i = act[k];
        const size_t b = rows[i], bt = b * T + t;
        if (t > 0) {
          prefetch<false>(a.gates + (bt - 1) * 4 * U, 4 * U);
          prefetch<false>(a.x + (bt - 1) * F, F);
          if (t > 1) prefetch<false>(a.hs + (bt - 2) * U, U);
        }
        const float* hprev = t > 0 ? a.hs + (bt - 1) * U : a.h0 + b * U;
        std::memcpy(&Hp[k * up], hprev, U * sizeof(float));
        std::memcpy(&Xb[k * Fp], a.x + bt * F, F * sizeof(float));
        const float* sv = a.gates + bt * 4 * U;
        const float* dh = &dHst[i * up];
        const float* h = &Hp[k * up];
        float* da = &Da[k * G3];
        float* dr = &Dr[k * G3];
        float* dhp = &dHP[k * up];
        float* rhb = &RHb[k * up];
        for (int j = 0; j < U; ++j) {
          const float z = sv[j], hh = sv[2 * U + j];
          const float dah = dh[j] * (1.0f - z) * (1.0f - hh * hh);
          da[j] = dh[j] * (h[j] - hh) * gateDeriv<Hard>(z);
          da[2 * up + j] = dah;
          dhp[j] = dh[j] * z;
        }
        if (!c.resetAfter) {
          std::memcpy(rhb, sv + 3 * U, U * sizeof(float));
        } else {
          for (int j = 0; j < U; ++j) {
            const float r = sv[U + j], q = sv[3 * U + j], dah = da[2 * up + j];
            const float dar = dah * q * gateDeriv<Hard>(r);
            da[up + j] = dar;
            dr[j] = da[j];
            dr[up + j] = dar;
            dr[2 * up + j] = dah * r;
          }
        }
      }

      if (!c.resetAfter) {
        gemm(n, up, up, Da.data() + 2 * up, G3, 1, p.UiT.data() + 2 * up * up, up, dRH.data(), up,
             false);
        for (int k = 0; k < n; ++k) {
          const float* sv = a.gates + (static_cast<size_t>(rows[act[k]]) * T + t) * 4 * U;
          const float* h = &Hp[k * up];
          const float* drh = &dRH[k * up];
          float* da = &Da[k * G3];
          float* dhp = &dHP[k * up];
          for (int j = 0; j < U; ++j) {
            const float r = sv[U + j];
            da[up + j] = drh[j] * h[j] * gateDeriv<Hard>(r);
            dhp[j] += drh[j] * r;
          }
        }
        gemm(n, up, 2 * up, Da.data(), G3, 1, p.UiT.data(), up, dHP.data(), up, true);
        gemm(U, 2 * up, n, Hp.data(), 1, up, Da.data(), G3, dUi.data(), G3, true);
        gemm(U, up, n, RHb.data(), 1, up, Da.data() + 2 * up, G3, dUi.data() + 2 * up, G3, true);
      } else {
        gemm(n, up, G3, Dr.data(), G3, 1, p.UiT.data(), up, dHP.data(), up, true);
        gemm(U, G3, n, Hp.data(), 1, up, Dr.data(), G3, dUi.data(), G3, true);
        for (int k = 0; k < n; ++k)
          for (int cc = 0; cc < G3; ++cc) dbr[cc] += Dr[k * G3 + cc];
      }
      for (int k = 0; k < n; ++k)
        for (int cc = 0; cc < G3; ++cc) dbi[cc] += Da[k * G3 + cc];
      gemm(F, G3, n, Xb.data(), 1, Fp, Da.data(), G3, dWi.data(), G3, true);
      if (a.dx != nullptr) {
        gemm(n, Fp, G3, Da.data(), G3, 1, p.WiT.data(), Fp, dXb.data(), Fp, false);
        for (int k = 0; k < n; ++k)
          std::memcpy(a.dx + (static_cast<size_t>(rows[act[k]]) * T + t) * F, &dXb[k * Fp], F * sizeof(float));
      }
      for (int k = 0; k < n; ++k) std::memcpy(&dHst[act[k] * up], &dHP[k * up], U * sizeof(float));
    }
    if (a.dh0 != nullptr)
      for (int i = 0; i < nR; ++i)
        std::memcpy(a.dh0 + static_cast<size_t>(rows[i]) * U, &dHst[i * up], U * sizeof(float));
  });

  for (int w = 1; w < nt; ++w) {
    for (size_t q = 0; q < dWs[0].size(); ++q) dWs[0][q] += dWs[w][q];
    for (size_t q = 0; q < dUs[0].size(); ++q) dUs[0][q] += dUs[w][q];
    for (int q = 0; q < G3; ++q) {
      dbis[0][q] += dbis[w][q];
      dbrs[0][q] += dbrs[w][q];
    }
  }
  for (int f = 0; f < F; ++f)
    for (int g = 0; g < 3; ++g)
      for (int j = 0; j < U; ++j) a.dW[(f * 3 + g) * U + j] = dWs[0][f * G3 + g * up + j];
  for (int k = 0; k < U; ++k)
    for (int g = 0; g < 3; ++g)
      for (int j = 0; j < U; ++j) a.dU[(k * 3 + g) * U + j] = dUs[0][k * G3 + g * up + j];
  if (a.dbias != nullptr)
    for (int g = 0; g < 3; ++g)
      for (int j = 0; j < U; ++j) {
        a.dbias[g * U + j] = dbis[0][g * up + j];
        if (c.resetAfter) a.dbias[3 * U + g * U + j] = dbrs[0][g * up + j];
      }
}

void forward(const Dims& d, const Config& c, const ForwardArgs& a) {
  if (c.hardSigmoid) forwardImpl<true>(d, c, a); else forwardImpl<false>(d, c, a);
}

void backward(const Dims& d, const Config& c, const BackwardArgs& a) {
  if (c.hardSigmoid) backwardImpl<true>(d, c, a); else backwardImpl<false>(d, c, a);
}

}  // namespace fused_gru
