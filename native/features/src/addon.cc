// N-API binding of the feature extractor: an `Extractor` object keeps its scratch buffers
// from event to event; JavaScript passes one event's typed arrays per call and reads the
// HLF, the particle sequence and the lepton from arrays it handed over at construction.
#include <napi.h>

#include <string>

#include "extractor.h"

namespace {

using features::Event;
using features::Extractor;
using features::kFeatures;
using features::kHlf;
using features::kMaxParticles;

// Where results go in the `out` Float32Array: the HLF first, the particles from here.
constexpr size_t kParticlesAt = 16;
// Slots of the `info` Float64Array.
enum Info { kIsEle, kIndex, kPt, kEta, kPhi, kCharge, kIsoCh, kIsoGamma, kIsoNeu, kOwnTrack, kN, kBadKind, kBadIndex, kInfo };

const char* const kArgNames[] = {
    "tracks.pt",   "tracks.eta",   "tracks.phi",   "tracks.charge",    "tracks.pid",         "tracks.x",
    "tracks.y",    "tracks.z",     "photons.et",   "photons.eta",      "photons.phi",        "photons.e",
    "neutral.et",  "neutral.eta",  "neutral.phi",  "neutral.e",        "electrons.pt",       "electrons.eta",
    "electrons.phi", "electrons.charge", "muons.pt", "muons.eta",      "muons.phi",          "muons.charge",
    "jets.pt",     "jets.eta",     "jets.btag",    "missingEt.met",    "missingEt.phi"};
constexpr int kArgs = sizeof(kArgNames) / sizeof(kArgNames[0]);

// Reads argument i as a typed array of `type`; its length goes to *n (or must equal *n when
// *n >= 0). nullptr after throwing.
template <typename T>
const T* arg(const Napi::CallbackInfo& info, int i, napi_typedarray_type type, int* n) {
  napi_typedarray_type got;
  size_t length;
  void* data;
  napi_value buffer;
  size_t offset;
  if (napi_get_typedarray_info(info.Env(), info[i], &got, &length, &data, &buffer, &offset) != napi_ok ||
      got != type) {
    Napi::TypeError::New(info.Env(), std::string("features: ") + kArgNames[i] + " has the wrong array type")
        .ThrowAsJavaScriptException();
    return nullptr;
  }
  if (*n < 0) {
    *n = static_cast<int>(length);
  } else if (static_cast<size_t>(*n) != length) {
    Napi::TypeError::New(info.Env(), std::string("features: ") + kArgNames[i] + " has " + std::to_string(length) +
                                         " entries, its collection " + std::to_string(*n))
        .ThrowAsJavaScriptException();
    return nullptr;
  }
  // An empty typed array may have no data pointer; nothing reads it.
  static const T empty{};
  return data != nullptr ? static_cast<const T*>(data) : &empty;
}

class ExtractorWrap : public Napi::ObjectWrap<ExtractorWrap> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "Extractor", {InstanceMethod("select", &ExtractorWrap::Select)});
  }

  // new Extractor(out: Float32Array(16 + 801 × 19), info: Float64Array(13))
  explicit ExtractorWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<ExtractorWrap>(info) {
    const size_t outLen = kParticlesAt + static_cast<size_t>(kMaxParticles) * kFeatures;
    if (info.Length() != 2 || !info[0].IsTypedArray() ||
        info[0].As<Napi::TypedArray>().TypedArrayType() != napi_float32_array ||
        info[0].As<Napi::Float32Array>().ElementLength() != outLen || !info[1].IsTypedArray() ||
        info[1].As<Napi::TypedArray>().TypedArrayType() != napi_float64_array ||
        info[1].As<Napi::Float64Array>().ElementLength() != kInfo) {
      Napi::TypeError::New(info.Env(), "features: new Extractor(out: Float32Array(" + std::to_string(outLen) +
                                           "), info: Float64Array(" + std::to_string(kInfo) + "))")
          .ThrowAsJavaScriptException();
      return;
    }
    // The references keep both arrays (and so their data pointers) alive with this object.
    outRef_ = Napi::Persistent(info[0].As<Napi::Object>());
    infoRef_ = Napi::Persistent(info[1].As<Napi::Object>());
    out_ = info[0].As<Napi::Float32Array>().Data();
    info_ = info[1].As<Napi::Float64Array>().Data();
  }

 private:
  // select(29 arrays, kArgNames order): the outcome (features::Outcome).
  Napi::Value Select(const Napi::CallbackInfo& info) {
    if (info.Length() != kArgs) {
      Napi::TypeError::New(info.Env(), "features: select takes " + std::to_string(kArgs) + " arrays")
          .ThrowAsJavaScriptException();
      return info.Env().Undefined();
    }
    Event ev{};
    int nt = -1, np = -1, nh = -1, ne = -1, nm = -1, nj = -1, nmet = -1;
    bool ok = (ev.tracks.pt = arg<float>(info, 0, napi_float32_array, &nt)) &&
              (ev.tracks.eta = arg<float>(info, 1, napi_float32_array, &nt)) &&
              (ev.tracks.phi = arg<float>(info, 2, napi_float32_array, &nt)) &&
              (ev.tracks.charge = arg<int32_t>(info, 3, napi_int32_array, &nt)) &&
              (ev.tracks.pid = arg<int32_t>(info, 4, napi_int32_array, &nt)) &&
              (ev.tracks.x = arg<float>(info, 5, napi_float32_array, &nt)) &&
              (ev.tracks.y = arg<float>(info, 6, napi_float32_array, &nt)) &&
              (ev.tracks.z = arg<float>(info, 7, napi_float32_array, &nt)) &&
              (ev.photons.et = arg<float>(info, 8, napi_float32_array, &np)) &&
              (ev.photons.eta = arg<float>(info, 9, napi_float32_array, &np)) &&
              (ev.photons.phi = arg<float>(info, 10, napi_float32_array, &np)) &&
              (ev.photons.e = arg<float>(info, 11, napi_float32_array, &np)) &&
              (ev.neutrals.et = arg<float>(info, 12, napi_float32_array, &nh)) &&
              (ev.neutrals.eta = arg<float>(info, 13, napi_float32_array, &nh)) &&
              (ev.neutrals.phi = arg<float>(info, 14, napi_float32_array, &nh)) &&
              (ev.neutrals.e = arg<float>(info, 15, napi_float32_array, &nh)) &&
              (ev.electrons.pt = arg<float>(info, 16, napi_float32_array, &ne)) &&
              (ev.electrons.eta = arg<float>(info, 17, napi_float32_array, &ne)) &&
              (ev.electrons.phi = arg<float>(info, 18, napi_float32_array, &ne)) &&
              (ev.electrons.charge = arg<int32_t>(info, 19, napi_int32_array, &ne)) &&
              (ev.muons.pt = arg<float>(info, 20, napi_float32_array, &nm)) &&
              (ev.muons.eta = arg<float>(info, 21, napi_float32_array, &nm)) &&
              (ev.muons.phi = arg<float>(info, 22, napi_float32_array, &nm)) &&
              (ev.muons.charge = arg<int32_t>(info, 23, napi_int32_array, &nm)) &&
              (ev.jets.pt = arg<float>(info, 24, napi_float32_array, &nj)) &&
              (ev.jets.eta = arg<float>(info, 25, napi_float32_array, &nj)) &&
              (ev.jets.btag = arg<uint32_t>(info, 26, napi_uint32_array, &nj)) &&
              (ev.met.met = arg<float>(info, 27, napi_float32_array, &nmet)) &&
              (ev.met.phi = arg<float>(info, 28, napi_float32_array, &nmet));
    if (!ok) return info.Env().Undefined();
    ev.tracks.n = nt;
    ev.photons.n = np;
    ev.neutrals.n = nh;
    ev.electrons.n = ne;
    ev.muons.n = nm;
    ev.jets.n = nj;
    ev.met.n = nmet;
    features::Lepton lep;
    Extractor::Bad bad;
    int n = 0;
    const features::Outcome r = extractor_.select(ev, out_, out_ + kParticlesAt, &n, &lep, &bad);
    if (r == features::kSelected) {
      double* f = info_;
      f[kIsEle] = lep.isEle ? 1 : 0;
      f[kIndex] = lep.index;
      f[kPt] = lep.pt;
      f[kEta] = lep.eta;
      f[kPhi] = lep.phi;
      f[kCharge] = lep.charge;
      f[kIsoCh] = lep.isoCh;
      f[kIsoGamma] = lep.isoGamma;
      f[kIsoNeu] = lep.isoNeu;
      f[kOwnTrack] = lep.ownTrack;
      f[kN] = n;
    } else if (r == features::kNonFiniteCandidate || r == features::kNonFiniteLepton) {
      info_[kBadKind] = bad.kind;
      info_[kBadIndex] = bad.index;
    }
    return Napi::Number::New(info.Env(), r);
  }

  Extractor extractor_;
  Napi::ObjectReference outRef_, infoRef_;
  float* out_ = nullptr;
  double* info_ = nullptr;
};

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("Extractor", ExtractorWrap::Define(env));
  return exports;
}

}  // namespace

NODE_API_MODULE(features, Init)
