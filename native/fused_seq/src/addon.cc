// N-API binding of the fused sequence classifier: a `SeqModel` object owns the weights,
// Adam's moments and the per-step scratch; JavaScript hands over typed arrays per batch.
#include <napi.h>

#include <memory>
#include <string>

#include "seq.h"

namespace {

using fused_seq::SeqModel;

bool fail(Napi::Env env, const std::string& what) {
  Napi::TypeError::New(env, "fused_seq: " + what).ThrowAsJavaScriptException();
  return false;
}

// The data of a Float32Array of at least `len` elements, or nullptr after throwing.
float* floats(const Napi::Value& v, size_t len, const char* name) {
  if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_float32_array) {
    fail(v.Env(), std::string(name) + " must be a Float32Array");
    return nullptr;
  }
  auto arr = v.As<Napi::Float32Array>();
  if (arr.ElementLength() < len) {
    fail(v.Env(), std::string(name) + " has " + std::to_string(arr.ElementLength()) + " elements, needs " +
                      std::to_string(len));
    return nullptr;
  }
  return arr.Data();
}

bool positive(const Napi::Value& v, const char* name, int* out) {
  if (!v.IsNumber() || v.As<Napi::Number>().Int32Value() <= 0) return fail(v.Env(), std::string(name) + " must be a positive number");
  *out = v.As<Napi::Number>().Int32Value();
  return true;
}

class SeqWrap : public Napi::ObjectWrap<SeqWrap> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "SeqModel",
                       {InstanceMethod("setParams", &SeqWrap::SetParams), InstanceMethod("getParams", &SeqWrap::GetParams),
                        InstanceMethod("setMoments", &SeqWrap::SetMoments),
                        InstanceMethod("getMoments", &SeqWrap::GetMoments),
                        InstanceMethod("trainStep", &SeqWrap::TrainStep),
                        InstanceAccessor("paramCount", &SeqWrap::ParamCount, nullptr)});
  }

  // new SeqModel(F, U, H, head widths, threads)
  explicit SeqWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<SeqWrap>(info) {
    Napi::Env env = info.Env();
    int F = 0, U = 0, threads = 0;
    if (info.Length() != 5 || !positive(info[0], "F", &F) || !positive(info[1], "U", &U)) {
      if (!env.IsExceptionPending()) fail(env, "new SeqModel(F, U, H, head, threads) expects 5 arguments");
      return;
    }
    if (!info[2].IsNumber() || info[2].As<Napi::Number>().Int32Value() < 0) {
      fail(env, "H must be a number >= 0");
      return;
    }
    const int H = info[2].As<Napi::Number>().Int32Value();
    if (!info[3].IsArray()) {
      fail(env, "head must be an array of layer widths");
      return;
    }
    auto arr = info[3].As<Napi::Array>();
    std::vector<int> head;
    for (uint32_t i = 0; i < arr.Length(); ++i) {
      int w = 0;
      if (!positive(arr.Get(i), "a head width", &w)) return;
      head.push_back(w);
    }
    if (!positive(info[4], "threads", &threads)) return;
    try {
      model_ = std::make_unique<SeqModel>(F, U, H, head, threads);
    } catch (const std::exception& e) {
      fail(env, e.what());
    }
  }

 private:
  Napi::Value ParamCount(const Napi::CallbackInfo& info) {
    return Napi::Number::New(info.Env(), static_cast<double>(model_->paramCount()));
  }
  Napi::Value SetParams(const Napi::CallbackInfo& info) {
    if (const float* p = floats(info[0], model_->paramCount(), "params")) model_->setParams(p);
    return info.Env().Undefined();
  }
  Napi::Value GetParams(const Napi::CallbackInfo& info) {
    if (float* p = floats(info[0], model_->paramCount(), "params")) model_->getParams(p);
    return info.Env().Undefined();
  }
  Napi::Value SetMoments(const Napi::CallbackInfo& info) {
    const float* m = floats(info[0], model_->paramCount(), "m");
    const float* v = m ? floats(info[1], model_->paramCount(), "v") : nullptr;
    if (v) model_->setMoments(m, v);
    return info.Env().Undefined();
  }
  Napi::Value GetMoments(const Napi::CallbackInfo& info) {
    float* m = floats(info[0], model_->paramCount(), "m");
    float* v = m ? floats(info[1], model_->paramCount(), "v") : nullptr;
    if (v) model_->getMoments(m, v);
    return info.Env().Undefined();
  }
  // trainStep(x, hlf, y, keep, B, T, [learningRate, beta1, beta2, epsilon, accBeta1, accBeta2]) → loss
  Napi::Value TrainStep(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    int B = 0, T = 0;
    if (info.Length() != 7 || !positive(info[4], "B", &B) || !positive(info[5], "T", &T)) {
      if (!env.IsExceptionPending()) fail(env, "trainStep expects 7 arguments");
      return env.Undefined();
    }
    const size_t b = B;
    const float* x = floats(info[0], b * T * model_->F(), "x");
    const float* hlf = x && model_->H() > 0 ? floats(info[1], b * model_->H(), "hlf") : nullptr;
    if (x == nullptr || (model_->H() > 0 && hlf == nullptr)) return env.Undefined();
    const float* y = floats(info[2], b * model_->outputs(), "y");
    const float* keep = y ? floats(info[3], b * model_->headInputs(), "keep") : nullptr;
    const float* a = keep ? floats(info[6], 6, "adam") : nullptr;
    if (a == nullptr) return env.Undefined();
    const fused_dense::Adam adam{a[0], a[1], a[2], a[3], a[4], a[5]};
    return Napi::Number::New(env, model_->trainStep(x, hlf, y, keep, B, T, adam));
  }

  std::unique_ptr<SeqModel> model_;
};

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("SeqModel", SeqWrap::Define(env));
  return exports;
}

}  // namespace

NODE_API_MODULE(fused_seq, Init)
