// Inference-only GRU forward (Keras' reset_after variant) over sequences of different
// lengths as the models see them: zero-padded in front to a common length, and behind
// Masking(0), so a step whose features are all zero leaves the state unchanged. The last
// state only, nothing saved per step; equal to fused_gru::forward on the padded batch with
// the zero-step mask. See gru_infer.cc for why it is laid out differently.
#pragma once
#include <cstdint>

#include "gru.h"

namespace fused_gru {

struct InferArgs {
  const float* x;          // the sequences one after another: [sum(lengths), F]
  const int32_t* lengths;  // [B] steps of each sequence
  // [F] each feature standardised as it is read, (x - mean) / std in double rounded to
  // float (as hepflow's particle scaler does), before the zero-step test; nullptr = as is.
  const double* mean;
  const double* std;
  const float* W;       // [F, 3U]
  const float* Ur;      // [U, 3U]
  const float* bias;    // [2, 3U] (input bias row, recurrent bias row); nullptr = no bias
  const float* h0;      // [B, U]
  float* hT;            // out [B, U]
};

// d.T is unused (the longest length is the padded length); c.resetAfter must be true (the caller checks: tfjs' variant needs r before its
// candidate product, which this kernel's one-pass step cannot provide).
void forwardInfer(const Dims& d, const Config& c, const InferArgs& a);

}  // namespace fused_gru
