{
  "targets": [
    {
      "target_name": "fused_seq",
      "sources": ["src/addon.cc", "src/seq.cc", "../fused_gru/src/gru.cc", "../fused_dense/src/mlp.cc"],
      "include_dirs": [
        "<!(node -p \"require('node-addon-api').include_dir\")",
        "../fused_gru/src",
        "../fused_dense/src"
      ],
      "defines": ["NAPI_VERSION=8", "NAPI_DISABLE_CPP_EXCEPTIONS"],
      "cflags!": ["-fno-exceptions"],
      "cflags_cc!": ["-fno-exceptions"],
      "cflags_cc": ["-O3", "-march=<!(node ../common/march.cjs)", "-std=c++17", "-fno-math-errno", "-fno-trapping-math"],
      "ldflags": ["-pthread"]
    }
  ]
}
