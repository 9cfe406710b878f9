#include "seq.h"

#include <algorithm>
#include <cstring>
#include <stdexcept>

namespace fused_seq {
namespace {

std::vector<int> headSizes(int inputs, const std::vector<int>& head) {
  std::vector<int> sizes{inputs};
  sizes.insert(sizes.end(), head.begin(), head.end());
  return sizes;
}

template <class T>
void grow(std::vector<T>& v, std::size_t n) {
  if (v.size() < n) v.resize(n);
}

}  // namespace

SeqModel::SeqModel(int F, int U, int H, const std::vector<int>& head, int threads)
    : F_(F), U_(U), H_(H), threads_(std::max(1, threads)), mlp_(headSizes(U + H, head)) {
  if (F <= 0 || U <= 0 || H < 0 || head.empty())
    throw std::invalid_argument("fused_seq: need F, U > 0, H >= 0 and at least one classifier layer");
  for (auto* a : {&gru_, &m_, &v_, &grad_}) a->assign(gruCount(), 0.0f);
}

void SeqModel::setParams(const float* flat) {
  std::memcpy(gru_.data(), flat, gruCount() * sizeof(float));
  mlp_.setParams(flat + gruCount());
}

void SeqModel::getParams(float* flat) const {
  std::memcpy(flat, gru_.data(), gruCount() * sizeof(float));
  mlp_.getParams(flat + gruCount());
}

void SeqModel::setMoments(const float* m, const float* v) {
  std::memcpy(m_.data(), m, gruCount() * sizeof(float));
  std::memcpy(v_.data(), v, gruCount() * sizeof(float));
  mlp_.setMoments(m + gruCount(), v + gruCount());
}

void SeqModel::getMoments(float* m, float* v) const {
  std::memcpy(m, m_.data(), gruCount() * sizeof(float));
  std::memcpy(v, v_.data(), gruCount() * sizeof(float));
  mlp_.getMoments(m + gruCount(), v + gruCount());
}

double SeqModel::trainStep(const float* x, const float* hlf, const float* y, const float* keep, int B, int T,
                           const fused_dense::Adam& adam) {
  const std::size_t BT = static_cast<std::size_t>(B) * T, BU = static_cast<std::size_t>(B) * U_;
  const int I = headInputs();
  grow(mask_, BT);
  grow(h0_, BU);
  grow(hT_, BU);
  grow(dhT_, BU);
  grow(hs_, BT * U_);
  grow(gates_, BT * 4 * U_);
  grow(headIn_, static_cast<std::size_t>(B) * I);
  grow(dHead_, static_cast<std::size_t>(B) * I);
  // Masking(0): a step is used when any of its features is nonzero.
  for (std::size_t s = 0; s < BT; ++s) {
    const float* f = x + s * F_;
    uint8_t any = 0;
    for (int k = 0; k < F_; ++k) any |= f[k] != 0.0f;
    mask_[s] = any;
  }

  const float* W = gru_.data();
  const float* Ur = W + static_cast<std::size_t>(F_) * 3 * U_;
  const float* bias = Ur + static_cast<std::size_t>(U_) * 3 * U_;
  const fused_gru::Dims d{B, T, F_, U_};
  const fused_gru::Config c{true, false, threads_};
  fused_gru::ForwardArgs fa{x, mask_.data(), W, Ur, bias, h0_.data(), hT_.data(), hs_.data(), gates_.data()};
  fused_gru::forward(d, c, fa);

  for (int b = 0; b < B; ++b) {
    float* in = headIn_.data() + static_cast<std::size_t>(b) * I;
    const float* k = keep + static_cast<std::size_t>(b) * I;
    std::memcpy(in, hT_.data() + static_cast<std::size_t>(b) * U_, U_ * sizeof(float));
    if (H_ > 0) std::memcpy(in + U_, hlf + static_cast<std::size_t>(b) * H_, H_ * sizeof(float));
    for (int j = 0; j < I; ++j) in[j] *= k[j];
  }
  const double loss = mlp_.trainStep(headIn_.data(), y, B, adam, dHead_.data());
  for (int b = 0; b < B; ++b)
    for (int j = 0; j < U_; ++j) {
      const std::size_t q = static_cast<std::size_t>(b) * I + j;
      dhT_[static_cast<std::size_t>(b) * U_ + j] = dHead_[q] * keep[q];
    }

  float* dW = grad_.data();
  float* dU = dW + static_cast<std::size_t>(F_) * 3 * U_;
  float* db = dU + static_cast<std::size_t>(U_) * 3 * U_;
  fused_gru::BackwardArgs ba{x,  mask_.data(), W,  Ur, h0_.data(), hs_.data(), gates_.data(), dhT_.data(),
                             nullptr, dW,  dU, db, nullptr};
  fused_gru::backward(d, c, ba);
  fused_dense::adamUpdate(gru_.data(), m_.data(), v_.data(), grad_.data(), gruCount(), adam);
  return loss;
}

}  // namespace fused_seq
