// A dense classifier (ReLU hidden layers, softmax output) trained with categorical
// cross-entropy and Adam, as tfjs-layers defines them, in one call per step: hepflow's
// HLF model is so small (14 inputs, 50-20-10 hidden) that tfjs' per-op dispatch and
// per-call tensor allocation cost more than its arithmetic.
#pragma once

#include <cstddef>
#include <vector>

namespace fused_dense {

struct Adam {
  float learningRate, beta1, beta2, epsilon;
  // beta^t as tfjs accumulates it (a float32 product per step), t = this step.
  float accBeta1, accBeta2;
};

// tfjs' Adam update of n parameters p from their gradients g (moments m, v updated in place).
void adamUpdate(float* p, float* m, float* v, const float* g, std::size_t n, const Adam& a);

class Mlp {
 public:
  // sizes: inputs, hidden..., outputs (at least two entries, all positive).
  explicit Mlp(std::vector<int> sizes);

  int layers() const { return static_cast<int>(sizes_.size()) - 1; }
  const std::vector<int>& sizes() const { return sizes_; }
  // Elements of the flat parameter list in tfjs order: per layer kernel [in x out], bias [out].
  std::size_t paramCount() const;

  void setParams(const float* flat);
  void getParams(float* flat) const;
  // Adam's first and second moments, in the order and shapes of the parameters.
  void setMoments(const float* m, const float* v);
  void getMoments(float* m, float* v) const;

  // Softmax probabilities of `batch` rows of x [batch x inputs] into out [batch x outputs]
  // (inference: mlp_infer.cc).
  void forward(const float* x, int batch, float* out) const;
  // One Adam step on the mean cross-entropy of the batch (y: targets [batch x outputs]);
  // returns the loss before the step. dx (optional, [batch x inputs]) receives the loss
  // gradient w.r.t. x, for a model that trains layers below this classifier.
  double trainStep(const float* x, const float* y, int batch, const Adam& adam, float* dx = nullptr);

 private:
  struct Layer {
    int in, out, inP, outP;      // true and padded (multiple of 8) widths
    std::vector<float> W, WT, b;  // W [inP x outP], WT [outP x inP], b [outP]; padding stays 0
    std::vector<float> dW, db, mW, vW, mb, vb;
  };
  void ensureBatch(int batch);
  void forwardRows(const float* x, int rows, float* const* acts);
  template <int NV>
  void forwardBlock(const float* x, int rows, float* out, float* bufA, float* bufB) const;
  std::vector<int> sizes_;
  std::vector<Layer> layers_;
  int capacity_ = 0;
  std::vector<std::vector<float>> acts_;  // per layer boundary: [capacity x width padded]
  std::vector<float> delta_, deltaPrev_;
};

}  // namespace fused_dense
