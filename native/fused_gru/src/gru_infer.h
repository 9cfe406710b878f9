// Inference-only GRU forward (Keras' reset_after variant): the last state only, nothing
// saved per step. Same semantics as fused_gru::forward with hs = gates = nullptr and
// resetAfter = true; see gru_infer.cc for why it is laid out differently.
#pragma once
#include <cstdint>

#include "gru.h"

namespace fused_gru {

struct InferArgs {
  const float* x;       // [B, T, F]
  const uint8_t* mask;  // [B, T], nonzero = step is used; nullptr = all steps used
  const float* W;       // [F, 3U]
  const float* Ur;      // [U, 3U]
  const float* bias;    // [2, 3U] (input bias row, recurrent bias row); nullptr = no bias
  const float* h0;      // [B, U]
  float* hT;            // out [B, U]
};

// c.resetAfter must be true (the caller checks: tfjs' variant needs r before its
// candidate product, which this kernel's one-pass step cannot provide).
void forwardInfer(const Dims& d, const Config& c, const InferArgs& a);

}  // namespace fused_gru
