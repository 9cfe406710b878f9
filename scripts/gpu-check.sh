#!/usr/bin/env bash
# One-shot check of the GPU pool on a machine with an NVIDIA GPU (driver installed; CUDA
# and cuDNN come from PyPI): installs, shows that TensorFlow sees the GPU from both the
# GPU worker's backend and Keras, runs the GPU tests, and measures training side by side
# with Keras on the same GPU. A few minutes after the downloads (3.4 GB of wheels).
#
# Usage: bash scripts/gpu-check.sh [bench options: --quick, --models hlf,...; --cpu without a GPU]
#        from a clone; logs and the benchmark record in $OUT, else .data/gpu-check
# Needs: Node 20+, Python 3.10-3.13 with venv, and the npm and PyPI registries; on a machine
#        without them, download the wheels elsewhere (pip download -r infra/requirements-gpu.txt
#        -d DIR, same Python version) and set PIP_NO_INDEX=1 PIP_FIND_LINKS=DIR.
# Fails (non-zero) when the driver lists a GPU that TensorFlow does not use.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${OUT:-.data/gpu-check}
mkdir -p "$out"
step() { printf '\n[gpu-check] %s\n' "$*" >&2; }
# Each step's output goes to the terminal and to its log in $out.
logged() { local name=$1; shift; "$@" 2>&1 | tee "$out/$name.log"; }

step "the GPU, as the driver sees it"
logged nvidia-smi nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv ||
  echo "[gpu-check] nvidia-smi failed: no NVIDIA driver here; TensorFlow will run on the CPU" >&2

step "install: the project (infra/bootstrap.sh), then tfjs-node-gpu on TensorFlow's CUDA wheels"
t0=$SECONDS
logged bootstrap bash infra/bootstrap.sh
HEPFLOW_TF=gpu logged setup-native-tf bash infra/setup-native-tf.sh
echo "install took $((SECONDS - t0)) s; .tools/venv-gpu is $(du -sh .tools/venv-gpu | cut -f1)" | tee "$out/install.txt"

step "Keras' TensorFlow (.tools/venv-gpu): GPUs it sees"
TF_CPP_MIN_LOG_LEVEL=2 logged keras-devices .tools/venv-gpu/bin/python -c \
  'import tensorflow as tf; print(tf.__version__, tf.config.list_physical_devices("GPU"))'

step "the GPU worker's start-up line (no Temporal here: it exits after the line)"
port=$(node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')
TEMPORAL_ADDRESS=127.0.0.1:$port HEPFLOW_STACK=none node dist/workers/gpu-worker.js 2>/dev/null |
  grep -m1 'compute backend' | tee "$out/worker-backend.txt" || true

step "tests of the GPU backend (on a GPU: TensorFlow must use it)"
logged tests node --test --test-concurrency=1 dist/test/ml-backend-gpu.test.js

step "training throughput: GPU worker vs Keras on the same GPU"
rm -f .data/bench/training-gpu.record.json # a stale record must not pass for this run's
logged bench node dist/bench/training-gpu.js "$@"
[[ -f .data/bench/training-gpu.record.json ]] && cp .data/bench/training-gpu.record.json "$out/"
step "done: $out (record: training-gpu.record.json; merge with node dist/bench/run.js training-gpu)"
