// N-API binding: validates the typed arrays handed over from JavaScript and runs the
// fused kernels synchronously (the tfjs gradient hooks are synchronous). The JS side owns
// every buffer, so nothing here allocates per call beyond small per-thread scratch.
#include <napi.h>

#include <string>
#include <thread>

#include "gru.h"
#include "gru_infer.h"

namespace {

using fused_gru::Config;
using fused_gru::Dims;

bool readConfig(const Napi::Object& o, Dims* d, Config* c) {
  const char* keys[] = {"B", "T", "F", "U", "threads"};
  for (const char* k : keys)
    if (!o.Get(k).IsNumber()) {
      Napi::TypeError::New(o.Env(), std::string("fused_gru: config.") + k + " must be a number")
          .ThrowAsJavaScriptException();
      return false;
    }
  d->B = o.Get("B").As<Napi::Number>().Int32Value();
  d->T = o.Get("T").As<Napi::Number>().Int32Value();
  d->F = o.Get("F").As<Napi::Number>().Int32Value();
  d->U = o.Get("U").As<Napi::Number>().Int32Value();
  c->threads = o.Get("threads").As<Napi::Number>().Int32Value();
  c->resetAfter = o.Get("resetAfter").ToBoolean().Value();
  c->hardSigmoid = o.Get("hardSigmoid").ToBoolean().Value();
  if (d->B <= 0 || d->T <= 0 || d->F <= 0 || d->U <= 0 || c->threads <= 0) {
    Napi::RangeError::New(o.Env(), "fused_gru: B, T, F, U and threads must be positive")
        .ThrowAsJavaScriptException();
    return false;
  }
  return true;
}

// Returns the data of a Float32Array of exactly `len` elements; null/undefined gives
// nullptr when `optional`. Throws (and returns nullptr) otherwise.
template <class T, napi_typedarray_type kType>
T* view(const Napi::Value& v, size_t len, const char* name, bool optional, bool* ok) {
  if (optional && (v.IsNull() || v.IsUndefined())) return nullptr;
  if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != kType) {
    Napi::TypeError::New(v.Env(), std::string("fused_gru: ") + name + " has the wrong array type")
        .ThrowAsJavaScriptException();
    *ok = false;
    return nullptr;
  }
  auto arr = v.As<Napi::TypedArrayOf<T>>();
  if (arr.ElementLength() != len) {
    Napi::RangeError::New(v.Env(), std::string("fused_gru: ") + name + " has " +
                                       std::to_string(arr.ElementLength()) + " elements, expected " +
                                       std::to_string(len))
        .ThrowAsJavaScriptException();
    *ok = false;
    return nullptr;
  }
  return arr.Data();
}

float* f32(const Napi::Value& v, size_t len, const char* name, bool optional, bool* ok) {
  return *ok ? view<float, napi_float32_array>(v, len, name, optional, ok) : nullptr;
}

// forward(config, x, mask, W, U, bias, h0, hT, hs, gates)
Napi::Value Forward(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() != 10 || !info[0].IsObject()) {
    Napi::TypeError::New(env, "fused_gru.forward expects 10 arguments").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  Dims d;
  Config c;
  if (!readConfig(info[0].As<Napi::Object>(), &d, &c)) return env.Undefined();
  const size_t B = d.B, T = d.T, F = d.F, U = d.U;
  bool ok = true;
  fused_gru::ForwardArgs a;
  a.x = f32(info[1], B * T * F, "x", false, &ok);
  a.mask = ok ? view<uint8_t, napi_uint8_array>(info[2], B * T, "mask", true, &ok) : nullptr;
  a.W = f32(info[3], F * 3 * U, "kernel", false, &ok);
  a.Ur = f32(info[4], U * 3 * U, "recurrentKernel", false, &ok);
  a.bias = f32(info[5], (c.resetAfter ? 6 : 3) * U, "bias", true, &ok);
  a.h0 = f32(info[6], B * U, "h0", false, &ok);
  a.hT = f32(info[7], B * U, "hT", false, &ok);
  a.hs = f32(info[8], B * T * U, "hs", true, &ok);
  a.gates = f32(info[9], B * T * 4 * U, "gates", true, &ok);
  if (!ok) return env.Undefined();
  if ((a.hs == nullptr) != (a.gates == nullptr)) {
    Napi::TypeError::New(env, "fused_gru.forward: hs and gates must be given together")
        .ThrowAsJavaScriptException();
    return env.Undefined();
  }
  fused_gru::forward(d, c, a);
  return env.Undefined();
}

// forwardInfer(config, x, lengths, mean, std, W, U, bias, h0, hT): the last state of each
// sequence (reset_after); x holds the sequences one after another, config.T is not used.
Napi::Value ForwardInfer(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() != 10 || !info[0].IsObject()) {
    Napi::TypeError::New(env, "fused_gru.forwardInfer expects 10 arguments").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  Dims d;
  Config c;
  if (!readConfig(info[0].As<Napi::Object>(), &d, &c)) return env.Undefined();
  if (!c.resetAfter) {
    Napi::TypeError::New(env, "fused_gru.forwardInfer: only the reset_after variant").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  const size_t B = d.B, F = d.F, U = d.U;
  bool ok = true;
  fused_gru::InferArgs a;
  a.lengths = view<int32_t, napi_int32_array>(info[2], B, "lengths", false, &ok);
  size_t total = 0;
  for (size_t b = 0; ok && b < B; ++b) {
    if (a.lengths[b] < 0) {
      Napi::RangeError::New(env, "fused_gru.forwardInfer: a negative length").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    total += a.lengths[b];
  }
  a.x = f32(info[1], total * F, "x", false, &ok);
  a.mean = ok ? view<double, napi_float64_array>(info[3], F, "mean", true, &ok) : nullptr;
  a.std = ok ? view<double, napi_float64_array>(info[4], F, "std", true, &ok) : nullptr;
  a.W = f32(info[5], F * 3 * U, "kernel", false, &ok);
  a.Ur = f32(info[6], U * 3 * U, "recurrentKernel", false, &ok);
  a.bias = f32(info[7], 6 * U, "bias", true, &ok);
  a.h0 = f32(info[8], B * U, "h0", false, &ok);
  a.hT = f32(info[9], B * U, "hT", false, &ok);
  if (!ok) return env.Undefined();
  if ((a.mean == nullptr) != (a.std == nullptr)) {
    Napi::TypeError::New(env, "fused_gru.forwardInfer: mean and std must be given together")
        .ThrowAsJavaScriptException();
    return env.Undefined();
  }
  fused_gru::forwardInfer(d, c, a);
  return env.Undefined();
}

// backward(config, x, mask, W, U, h0, hs, gates, dhT, dx, dW, dU, dbias, dh0)
Napi::Value Backward(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() != 14 || !info[0].IsObject()) {
    Napi::TypeError::New(env, "fused_gru.backward expects 14 arguments").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  Dims d;
  Config c;
  if (!readConfig(info[0].As<Napi::Object>(), &d, &c)) return env.Undefined();
  const size_t B = d.B, T = d.T, F = d.F, U = d.U;
  bool ok = true;
  fused_gru::BackwardArgs a;
  a.x = f32(info[1], B * T * F, "x", false, &ok);
  a.mask = ok ? view<uint8_t, napi_uint8_array>(info[2], B * T, "mask", true, &ok) : nullptr;
  a.W = f32(info[3], F * 3 * U, "kernel", false, &ok);
  a.Ur = f32(info[4], U * 3 * U, "recurrentKernel", false, &ok);
  a.h0 = f32(info[5], B * U, "h0", false, &ok);
  a.hs = f32(info[6], B * T * U, "hs", false, &ok);
  a.gates = f32(info[7], B * T * 4 * U, "gates", false, &ok);
  a.dhT = f32(info[8], B * U, "dhT", false, &ok);
  a.dx = f32(info[9], B * T * F, "dx", false, &ok);
  a.dW = f32(info[10], F * 3 * U, "dKernel", false, &ok);
  a.dU = f32(info[11], U * 3 * U, "dRecurrentKernel", false, &ok);
  a.dbias = f32(info[12], (c.resetAfter ? 6 : 3) * U, "dBias", true, &ok);
  a.dh0 = f32(info[13], B * U, "dh0", false, &ok);
  if (!ok) return env.Undefined();
  fused_gru::backward(d, c, a);
  return env.Undefined();
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("forward", Napi::Function::New(env, Forward));
  exports.Set("backward", Napi::Function::New(env, Backward));
  exports.Set("forwardInfer", Napi::Function::New(env, ForwardInfer));
  exports.Set("hardwareThreads",
              Napi::Number::New(env, static_cast<double>(std::thread::hardware_concurrency())));
  return exports;
}

}  // namespace

NODE_API_MODULE(fused_gru, Init)
