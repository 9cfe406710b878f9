// Fused GRU over a whole sequence: forward recurrence and backpropagation through time,
// each in one call. Plain pointers and sizes only (no N-API here) so that another
// implementation (e.g. CUDA) can offer the same two entry points.
//
// Semantics follow tf.layers.gru / Keras GRU with gate order (z, r, h):
//   reset_after = false (tfjs):  hh = tanh(x Wh + bh + (r * h) Uh)
//   reset_after = true  (Keras): hh = tanh(x Wh + bih + r * (h Uh + bhh))
//   h' = z * h + (1 - z) * hh; a masked step leaves h (and its gradient) unchanged.
#pragma once
#include <cstdint>

namespace fused_gru {

struct Dims {
  int B;  // batch rows
  int T;  // timesteps
  int F;  // input features
  int U;  // units
};

struct Config {
  bool resetAfter;   // Keras' variant, bias [2, 3U] (input bias row, recurrent bias row)
  bool hardSigmoid;  // tfjs' hardSigmoid clip(0.2 x + 0.5, 0, 1) instead of the logistic
  int threads;       // worker threads across batch rows (>= 1)
};

struct ForwardArgs {
  const float* x;       // [B, T, F]
  const uint8_t* mask;  // [B, T], nonzero = step is used; nullptr = all steps used
  const float* W;       // [F, 3U]
  const float* Ur;      // [U, 3U]
  const float* bias;    // [3U] or [2, 3U] (resetAfter); nullptr = no bias
  const float* h0;      // [B, U]
  float* hT;            // out [B, U]: state after the last step
  float* hs;            // out [B, T, U] states for the backward pass, or nullptr
  float* gates;         // out [B, T, 4U] (z, r, hh, r*h or h Uh + bhh), or nullptr
};

struct BackwardArgs {
  const float* x;
  const uint8_t* mask;
  const float* W;
  const float* Ur;
  const float* h0;
  const float* hs;      // from forward
  const float* gates;   // from forward
  const float* dhT;     // [B, U] gradient of the loss w.r.t. the final state
  float* dx;            // out [B, T, F], or nullptr when x needs no gradient (a model input)
  float* dW;            // out [F, 3U]
  float* dU;            // out [U, 3U]
  float* dbias;         // out [3U] or [2, 3U]; nullptr = no bias
  float* dh0;           // out [B, U], or nullptr (a zero initial state)
};

void forward(const Dims& d, const Config& c, const ForwardArgs& a);
void backward(const Dims& d, const Config& c, const BackwardArgs& a);

}  // namespace fused_gru
