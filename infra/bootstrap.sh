#!/usr/bin/env bash
# Brings a fresh checkout to a runnable state: node modules, the project-local Python
# tools (Temporal CLI, S3 server, reference readers), native addons, and the compiled
# TypeScript. Idempotent and quick when nothing changed (stamp files keyed by content).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
tools="$root/.tools"
mkdir -p "$tools"

log() { printf '[bootstrap] %s\n' "$*" >&2; }
stamp_ok() { [[ -f "$tools/$1.stamp" && "$(cat "$tools/$1.stamp")" == "$2" ]]; }
stamp_set() { printf '%s' "$2" > "$tools/$1.stamp"; }
hash_of() { cat "$@" | sha256sum | cut -c1-16; }

h=$(hash_of package.json package-lock.json)
if ! stamp_ok npm "$h" || [[ ! -d node_modules ]]; then
  log "installing node modules"
  # Not `npm ci`: its lock check wants entries for every platform's optional binaries
  # (@swc/core-*, @duckdb/node-bindings-*), which the registry mirror here cannot
  # resolve; `npm install` still installs the locked versions.
  npm install --no-audit --no-fund --loglevel=error
  stamp_set npm "$h"
fi

py=${HEPFLOW_PYTHON:-python3}
venv="$tools/venv"
h=$(hash_of infra/requirements.txt)
if ! stamp_ok venv "$h" || [[ ! -x "$venv/bin/python" ]]; then
  log "installing Python tools into .tools/venv (infra/requirements.txt)"
  [[ -x "$venv/bin/python" ]] || "$py" -m venv "$venv"
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade pip
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r infra/requirements.txt
  stamp_set venv "$h"
fi

# node-gyp would download Node's headers (no internet here); use the installed ones when present.
node_prefix=$(dirname "$(dirname "$(command -v node)")")
gyp_args=()
[[ -f "$node_prefix/include/node/node_api.h" ]] && gyp_args+=("--nodedir=$node_prefix")
# libdeflate's and libzstd's headers for native/decompress (the ROOT reader's native zlib
# and ZSTD decoding): Debian's packages, installed where we are root with apt; elsewhere
# that addon fails to build and the reader uses node's zlib and fzstd.
if { [[ ! -f /usr/include/libdeflate.h ]] || [[ ! -f /usr/include/zstd.h ]]; } && [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null; then
  log "installing libdeflate-dev and libzstd-dev (apt)"
  apt_install() { DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends libdeflate-dev libzstd-dev >/dev/null; }
  apt_install || { apt-get update -qq >/dev/null && apt_install; } || log "could not install libdeflate-dev/libzstd-dev; the reader will decompress with node's zlib and fzstd"
fi
for addon in native/*/binding.gyp; do
  [[ -f "$addon" ]] || continue
  dir=$(dirname "$addon")
  # An addon may compile another's sources (fused_seq builds on fused_gru and fused_dense) and
  # native/common's shared headers: a change to any rebuilds them all.
  h=$(hash_of "$dir"/binding.gyp native/*/src/* native/common/*)
  name=$(basename "$dir")
  if ! stamp_ok "addon-$name" "$h" || [[ ! -d "$dir/build/Release" ]]; then
    log "building native addon $name"
    if (cd "$dir" && "$root/node_modules/.bin/node-gyp" rebuild "${gyp_args[@]}" --loglevel=error >/dev/null); then
      stamp_set "addon-$name" "$h"
    else
      log "native addon $name failed to build; the portable path will be used"
    fi
  fi
done

# A Debian package, when its command is missing and we are root with apt; elsewhere the
# tests that need it skip and say why: apt_package COMMAND PACKAGE WHAT-SKIPS.
apt_package() {
  command -v "$1" >/dev/null && return 0
  if [[ $(id -u) -ne 0 ]] || ! command -v apt-get >/dev/null; then
    log "$2 is missing and cannot be installed here (not root with apt); $3 will skip"
    return 0
  fi
  log "installing $2 (apt)"
  local install=(env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$2")
  "${install[@]}" >/dev/null || { apt-get update -qq >/dev/null && "${install[@]}" >/dev/null; } ||
    log "could not install $2; $3 will skip"
}
# Chromium, for the HTML report's browser test and `npm run screenshots` (Debian's package,
# driven by playwright-core; HEPFLOW_CHROMIUM names another binary).
if [[ -z "${HEPFLOW_CHROMIUM:-}" ]]; then apt_package chromium chromium "the browser test"; fi
# nginx, the TLS-terminating gRPC proxy in front of Temporal in the connection tests.
apt_package nginx nginx "the Temporal TLS/mTLS/API-key tests"
# wrk, the HTTP load generator the serving benchmark drives hepflow serve with from its own process.
apt_package wrk wrk "the serving benchmark's HTTP load rows"

# Slurm and munge, for `npm run test:slurm` only (HEPFLOW_SLURM=1): the test runs its own
# slurmctld, slurmd and munged as root on this machine; elsewhere it skips and says why.
if [[ ${HEPFLOW_SLURM:-} == 1 ]] && ! command -v slurmctld >/dev/null && [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null; then
  log "installing slurm-wlm and munge (apt)"
  apt_install() { DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends slurm-wlm munge >/dev/null; }
  apt_install || { apt-get update -qq >/dev/null && apt_install; } || log "could not install slurm-wlm; the Slurm test will skip"
fi

# iproute2 and nftables, for the multi-host test's network-namespace hosts and partitions
# (test/cluster/): installed when missing where we are root with apt; elsewhere that test
# skips and says why.
if { ! command -v ip >/dev/null || ! command -v nft >/dev/null; } && [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null; then
  log "installing iproute2 and nftables (apt)"
  apt_install() { DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends iproute2 nftables >/dev/null; }
  apt_install || { apt-get update -qq >/dev/null && apt_install; } || log "could not install iproute2/nftables; the multi-host test will skip"
fi

# Debian's XRootD server (xrootd + cmsd), for the root:// storage tests: installed when
# missing where we are root with apt; elsewhere those tests skip and say why.
if ! command -v xrootd >/dev/null && [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null; then
  log "installing xrootd-server (apt)"
  apt_xrootd() { DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends xrootd-server >/dev/null; }
  apt_xrootd || { apt-get update -qq >/dev/null && apt_xrootd; } || log "could not install xrootd-server; the root:// tests will skip"
fi

# The Kafka broker (for the streaming inference service and its tests): skipped, with the
# reason, where Java 17 or Maven is missing.
bash infra/kafka/install.sh || [[ $? -eq 2 ]]

# kustomize, kubeconform and the Kubernetes and KEDA schemas that the manifest test
# (test/deploy-manifests.test.ts) validates deploy/k8s with: skipped, with the reason,
# where Go is missing.
bash infra/deploy-tools.sh || [[ $? -eq 2 ]]

# Into a fresh directory, swapped in atomically: never under a running CLI or worker;
# skipped when no source changed since the build dist/ points at.
bash infra/build.sh --if-changed
