#!/usr/bin/env bash
# Lays out what the image runs, from a built checkout, in DEST (the image's /app):
#   dist/ (compiled code, without tests and benchmarks), package.json (the code finds its
#   root by it), node_modules/ without dev dependencies, the native addons' .node files,
#   bin/hepflow-entrypoint, build-info/ (the -march and the CPU features it needs).
# The Containerfile runs it in its build stage; test/deploy-image.test.ts runs it here and
# starts the entry points from DEST exactly as the image does.
# usage: deploy/image/stage.sh DEST   (from the checkout; HEPFLOW_MARCH as the addons were built)
# HEPFLOW_STAGE_LINK=1: hard-link node_modules instead of copying (same filesystem; the
# test stages in seconds, and pruning the copy only unlinks).
set -euo pipefail
dest=${1:?usage: deploy/image/stage.sh DEST}
cd "$(dirname "$0")/../.."
log() { printf '[stage] %s\n' "$*" >&2; }
[[ -f dist/workers/cpu-worker.js ]] || { log "no compiled code in dist/: run 'npm run build' first"; exit 1; }
[[ -d node_modules ]] || { log "no node_modules: run 'npm ci' first"; exit 1; }
march=$(node native/common/march.cjs)

rm -rf "$dest"
mkdir -p "$dest/bin" "$dest/build-info"
cp package.json package-lock.json "$dest/"
# dist is a link to the current build (infra/build.sh): copy what it points at.
cp -rL dist "$dest/dist"
rm -rf "$dest/dist/test" "$dest/dist/bench" "$dest/dist/scripts"
for addon in native/*/build/Release/*.node; do
  [[ -f $addon ]] || continue
  mkdir -p "$dest/$(dirname "$addon")"
  cp "$addon" "$dest/$addon"
done
if [[ ${HEPFLOW_STAGE_LINK:-} == 1 ]]; then cp -al node_modules "$dest/"; else cp -a node_modules "$dest/"; fi
# No install scripts, as the checkout's .npmrc says: they download binaries (canvas).
(cd "$dest" && npm prune --omit=dev --offline --ignore-scripts --no-audit --no-fund --loglevel=error >/dev/null)
install -m 0755 deploy/image/entrypoint.sh "$dest/bin/hepflow-entrypoint"

# The CPU features that the compiler may use at this -march, as /proc/cpuinfo names them,
# for the entry point's check. `native` is the build machine's: its features are recorded too.
printf '%s\n' "$march" > "$dest/build-info/march"
c++ -march="$march" -dM -E -x c++ /dev/null |
  sed -n 's/^#define __\(SSE3\|SSSE3\|SSE4_1\|SSE4_2\|POPCNT\|AVX\|AVX2\|FMA\|BMI\|BMI2\|F16C\|AVX512F\|AVX512BW\|AVX512DQ\|AVX512VL\|AVX512CD\)__ 1$/\1/p' |
  tr 'A-Z' 'a-z' | sed 's/^sse3$/pni/; s/^bmi$/bmi1/' | sort > "$dest/build-info/cpu-flags"
log "staged into $dest (-march=$march; needs: $(tr '\n' ' ' < "$dest/build-info/cpu-flags"))"
