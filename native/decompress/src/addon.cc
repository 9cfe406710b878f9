// Whole-buffer decompression for the ROOT reader's "ZL" (zlib) and "ZS" (Zstandard)
// blocks, through Debian's libdeflate and libzstd: ROOT declares every block's size, so
// JavaScript hands over the output buffer and native code fills it.
#include <libdeflate.h>
#include <napi.h>
#include <zstd.h>

#include <string>

namespace {

// One decompression context per thread and codec: the reader runs in the main thread and
// in worker threads, and neither library's context may be shared between them.
libdeflate_decompressor* Deflater() {
  thread_local struct Holder {
    libdeflate_decompressor* d = libdeflate_alloc_decompressor();
    ~Holder() { libdeflate_free_decompressor(d); }
  } holder;
  return holder.d;
}

ZSTD_DCtx* ZstdContext() {
  thread_local struct Holder {
    ZSTD_DCtx* d = ZSTD_createDCtx();
    ~Holder() { ZSTD_freeDCtx(d); }
  } holder;
  return holder.d;
}

Napi::Value Fail(Napi::Env env, const std::string& what) {
  Napi::Error::New(env, what).ThrowAsJavaScriptException();
  return env.Undefined();
}

struct Buffers {
  const uint8_t* in;
  size_t inLength;
  uint8_t* out;
  size_t outLength;
};

// The two Uint8Array arguments (input, output), or false after throwing.
bool Arguments(const Napi::CallbackInfo& info, const char* name, Buffers* b) {
  bool ok = info.Length() == 2 && info[0].IsTypedArray() && info[1].IsTypedArray() &&
            info[0].As<Napi::TypedArray>().TypedArrayType() == napi_uint8_array &&
            info[1].As<Napi::TypedArray>().TypedArrayType() == napi_uint8_array;
  if (!ok) {
    Fail(info.Env(), std::string(name) + "(input, output) takes two Uint8Arrays");
    return false;
  }
  auto in = info[0].As<Napi::TypedArray>();
  auto out = info[1].As<Napi::TypedArray>();
  b->in = static_cast<const uint8_t*>(in.ArrayBuffer().Data()) + in.ByteOffset();
  b->inLength = in.ByteLength();
  b->out = static_cast<uint8_t*>(out.ArrayBuffer().Data()) + out.ByteOffset();
  b->outLength = out.ByteLength();
  return true;
}

// zlibInflate(input, output): bytes written. Throws when the stream is corrupt or does
// not fit into `output`.
Napi::Value ZlibInflate(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Buffers b;
  if (!Arguments(info, "zlibInflate", &b)) return env.Undefined();
  libdeflate_decompressor* d = Deflater();
  if (d == nullptr) return Fail(env, "libdeflate could not allocate a decompressor");
  size_t produced = 0;
  switch (libdeflate_zlib_decompress(d, b.in, b.inLength, b.out, b.outLength, &produced)) {
    case LIBDEFLATE_SUCCESS:
      return Napi::Number::New(env, static_cast<double>(produced));
    case LIBDEFLATE_INSUFFICIENT_SPACE:
      return Fail(env, "inflates past the " + std::to_string(b.outLength) + " bytes declared");
    default:
      return Fail(env, "invalid or corrupt zlib data");
  }
}

// zstdDecompress(input, output): bytes written. Throws when the frame is corrupt or does
// not fit into `output`.
Napi::Value ZstdDecompress(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Buffers b;
  if (!Arguments(info, "zstdDecompress", &b)) return env.Undefined();
  ZSTD_DCtx* d = ZstdContext();
  if (d == nullptr) return Fail(env, "libzstd could not allocate a context");
  size_t produced = ZSTD_decompressDCtx(d, b.out, b.outLength, b.in, b.inLength);
  if (ZSTD_isError(produced)) return Fail(env, ZSTD_getErrorName(produced));
  return Napi::Number::New(env, static_cast<double>(produced));
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("zlibInflate", Napi::Function::New(env, ZlibInflate));
  exports.Set("zstdDecompress", Napi::Function::New(env, ZstdDecompress));
  exports.Set("versions", Napi::String::New(env, std::string("libdeflate ") + LIBDEFLATE_VERSION_STRING +
                                                     ", libzstd " + ZSTD_versionString()));
  return exports;
}

}  // namespace

NODE_API_MODULE(decompress, Init)
