{
  "targets": [
    {
      "target_name": "features",
      "sources": ["src/addon.cc", "src/extractor.cc"],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "defines": ["NAPI_VERSION=8", "NAPI_DISABLE_CPP_EXCEPTIONS"],
      "cflags!": ["-fno-exceptions"],
      "cflags_cc!": ["-fno-exceptions"],
      "cflags_cc": ["-O3", "-march=<!(node ../common/march.cjs)", "-std=c++17", "-ffp-contract=off", "-fno-fast-math"]
    }
  ]
}
