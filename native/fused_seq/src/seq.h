// A whole sequence classifier's training step in one call: Masking(0) → GRU (Keras'
// reset_after form, sigmoid gates) → [concatenated with the HLF inputs] → dropout → a dense
// classifier (fused_dense::Mlp), categorical cross-entropy and Adam, as tfjs-layers defines
// them. It is the models' per-step tfjs work around the fused GRU (masking over the whole
// input, the input gradient nobody uses, the head's small ops, Adam per variable) that one
// call removes; the GRU recurrence itself is fused_gru's.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "gru.h"
#include "mlp.h"

namespace fused_seq {

class SeqModel {
 public:
  // F particle features, U GRU units, H extra (HLF) inputs joined after the GRU state,
  // head: the dense classifier's widths after its input (hidden..., outputs).
  SeqModel(int F, int U, int H, const std::vector<int>& head, int threads);

  int F() const { return F_; }
  int H() const { return H_; }
  int headInputs() const { return U_ + H_; }
  int outputs() const { return mlp_.sizes().back(); }
  // Flat parameter list in tfjs order: GRU kernel [F x 3U], recurrent kernel [U x 3U],
  // bias [2 x 3U], then the classifier's (fused_dense::Mlp's order).
  std::size_t paramCount() const { return gruCount() + mlp_.paramCount(); }

  void setParams(const float* flat);
  void getParams(float* flat) const;
  void setMoments(const float* m, const float* v);
  void getMoments(float* m, float* v) const;

  // x [B x T x F] (a step whose features are all 0 is masked), hlf [B x H] (ignored when
  // H = 0), y [B x outputs], keep [B x (U + H)]: dropout's multiplier on the classifier's
  // input (0 or 1/(1-rate); all 1 without dropout). Returns the loss before the step.
  double trainStep(const float* x, const float* hlf, const float* y, const float* keep, int B, int T,
                   const fused_dense::Adam& adam);

 private:
  std::size_t gruCount() const { return static_cast<std::size_t>(F_ + U_ + 2) * 3 * U_; }
  int F_, U_, H_, threads_;
  std::vector<float> gru_, m_, v_, grad_;  // GRU parameters, moments, gradients (flat tfjs order)
  fused_dense::Mlp mlp_;
  // Per-step scratch, grown to the largest batch seen.
  std::vector<uint8_t> mask_;
  std::vector<float> h0_, hT_, hs_, gates_, headIn_, dHead_, dhT_;
};

}  // namespace fused_seq
