// N-API binding of the fused dense classifier: an `Mlp` object owns the padded weights and
// Adam moments; JavaScript hands over typed arrays for the rows and reads results in place.
#include <napi.h>

#include <memory>
#include <string>

#include "mlp.h"

namespace {

using fused_dense::Adam;
using fused_dense::Mlp;

bool fail(Napi::Env env, const std::string& what) {
  Napi::TypeError::New(env, "fused_dense: " + what).ThrowAsJavaScriptException();
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

class MlpWrap : public Napi::ObjectWrap<MlpWrap> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "Mlp",
                       {InstanceMethod("setParams", &MlpWrap::SetParams), InstanceMethod("getParams", &MlpWrap::GetParams),
                        InstanceMethod("setMoments", &MlpWrap::SetMoments),
                        InstanceMethod("getMoments", &MlpWrap::GetMoments), InstanceMethod("forward", &MlpWrap::Forward),
                        InstanceMethod("trainStep", &MlpWrap::TrainStep)});
  }

  explicit MlpWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<MlpWrap>(info) {
    if (info.Length() < 1 || !info[0].IsArray()) {
      fail(info.Env(), "new Mlp(sizes): sizes must be an array of layer widths");
      return;
    }
    auto arr = info[0].As<Napi::Array>();
    std::vector<int> sizes;
    for (uint32_t i = 0; i < arr.Length(); ++i) {
      Napi::Value v = arr.Get(i);
      if (!v.IsNumber()) {
        fail(info.Env(), "layer widths must be numbers");
        return;
      }
      sizes.push_back(v.As<Napi::Number>().Int32Value());
    }
    try {
      mlp_ = std::make_unique<Mlp>(std::move(sizes));
    } catch (const std::exception& e) {
      fail(info.Env(), e.what());
    }
  }

 private:
  size_t inputs() const { return static_cast<size_t>(mlp_->sizes().front()); }
  size_t outputs() const { return static_cast<size_t>(mlp_->sizes().back()); }

  bool batchArg(const Napi::Value& v, int* batch) {
    if (!v.IsNumber() || v.As<Napi::Number>().Int32Value() <= 0) return fail(v.Env(), "batch must be a positive number");
    *batch = v.As<Napi::Number>().Int32Value();
    return true;
  }

  Napi::Value SetParams(const Napi::CallbackInfo& info) {
    if (const float* p = floats(info[0], mlp_->paramCount(), "params")) mlp_->setParams(p);
    return info.Env().Undefined();
  }
  Napi::Value GetParams(const Napi::CallbackInfo& info) {
    if (float* p = floats(info[0], mlp_->paramCount(), "params")) mlp_->getParams(p);
    return info.Env().Undefined();
  }
  Napi::Value SetMoments(const Napi::CallbackInfo& info) {
    const float* m = floats(info[0], mlp_->paramCount(), "m");
    const float* v = m ? floats(info[1], mlp_->paramCount(), "v") : nullptr;
    if (v) mlp_->setMoments(m, v);
    return info.Env().Undefined();
  }
  Napi::Value GetMoments(const Napi::CallbackInfo& info) {
    float* m = floats(info[0], mlp_->paramCount(), "m");
    float* v = m ? floats(info[1], mlp_->paramCount(), "v") : nullptr;
    if (v) mlp_->getMoments(m, v);
    return info.Env().Undefined();
  }
  // forward(x, batch, out)
  Napi::Value Forward(const Napi::CallbackInfo& info) {
    int batch = 0;
    if (!batchArg(info[1], &batch)) return info.Env().Undefined();
    const float* x = floats(info[0], batch * inputs(), "x");
    float* out = x ? floats(info[2], batch * outputs(), "out") : nullptr;
    if (out) mlp_->forward(x, batch, out);
    return info.Env().Undefined();
  }
  // trainStep(x, y, batch, [learningRate, beta1, beta2, epsilon, accBeta1, accBeta2]) → loss
  Napi::Value TrainStep(const Napi::CallbackInfo& info) {
    int batch = 0;
    if (!batchArg(info[2], &batch)) return info.Env().Undefined();
    const float* x = floats(info[0], batch * inputs(), "x");
    const float* y = x ? floats(info[1], batch * outputs(), "y") : nullptr;
    const float* a = y ? floats(info[3], 6, "adam") : nullptr;
    if (!a) return info.Env().Undefined();
    const Adam adam{a[0], a[1], a[2], a[3], a[4], a[5]};
    return Napi::Number::New(info.Env(), mlp_->trainStep(x, y, batch, adam));
  }

  std::unique_ptr<Mlp> mlp_;
};

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("Mlp", MlpWrap::Define(env));
  return exports;
}

}  // namespace

NODE_API_MODULE(fused_dense, Init)
