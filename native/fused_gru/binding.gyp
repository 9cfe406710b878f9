{
  "targets": [
    {
      "target_name": "fused_gru",
      "sources": ["src/addon.cc", "src/gru.cc", "src/gru_infer.cc"],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")", "../common"],
      "defines": ["NAPI_VERSION=8", "NAPI_DISABLE_CPP_EXCEPTIONS"],
      "cflags!": ["-fno-exceptions"],
      "cflags_cc!": ["-fno-exceptions"],
      "cflags_cc": ["-O3", "-march=<!(node ../common/march.cjs)", "-std=c++17", "-fno-math-errno", "-fno-trapping-math"],
      "ldflags": ["-pthread"]
    }
  ]
}
