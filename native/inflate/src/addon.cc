// zlib-format inflate through libdeflate (Debian's libdeflate-dev), for the ROOT reader's
// "ZL" blocks: whole-buffer decompression into a buffer of the size the block header
// declares, which is all ROOT needs and what libdeflate is fast at.
#include <libdeflate.h>
#include <napi.h>

#include <string>

namespace {

// One decompressor per thread: the reader runs in the main thread and in worker threads,
// and a libdeflate_decompressor is not safe to share between them.
libdeflate_decompressor* decompressor() {
  thread_local struct Holder {
    libdeflate_decompressor* d = libdeflate_alloc_decompressor();
    ~Holder() { libdeflate_free_decompressor(d); }
  } holder;
  return holder.d;
}

Napi::Value Fail(Napi::Env env, const std::string& what) {
  Napi::Error::New(env, what).ThrowAsJavaScriptException();
  return env.Undefined();
}

// zlibInflate(input: Uint8Array, output: Uint8Array): number of bytes written. Throws
// when the stream is corrupt or does not fit into `output`.
Napi::Value ZlibInflate(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() != 2 || !info[0].IsTypedArray() || !info[1].IsTypedArray())
    return Fail(env, "zlibInflate(input, output) takes two Uint8Arrays");
  auto in = info[0].As<Napi::TypedArray>();
  auto out = info[1].As<Napi::TypedArray>();
  if (in.TypedArrayType() != napi_uint8_array || out.TypedArrayType() != napi_uint8_array)
    return Fail(env, "zlibInflate(input, output) takes two Uint8Arrays");
  libdeflate_decompressor* d = decompressor();
  if (d == nullptr) return Fail(env, "libdeflate could not allocate a decompressor");
  const auto* src = static_cast<const uint8_t*>(in.ArrayBuffer().Data()) + in.ByteOffset();
  auto* dst = static_cast<uint8_t*>(out.ArrayBuffer().Data()) + out.ByteOffset();
  size_t produced = 0;
  switch (libdeflate_zlib_decompress(d, src, in.ByteLength(), dst, out.ByteLength(), &produced)) {
    case LIBDEFLATE_SUCCESS:
      return Napi::Number::New(env, static_cast<double>(produced));
    case LIBDEFLATE_INSUFFICIENT_SPACE:
      return Fail(env, "inflates past the " + std::to_string(out.ByteLength()) + " bytes declared");
    case LIBDEFLATE_BAD_DATA:
    default:
      return Fail(env, "invalid or corrupt zlib data");
  }
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("zlibInflate", Napi::Function::New(env, ZlibInflate));
  exports.Set("libdeflateVersion", Napi::String::New(env, LIBDEFLATE_VERSION_STRING));
  return exports;
}

}  // namespace

NODE_API_MODULE(inflate, Init)
