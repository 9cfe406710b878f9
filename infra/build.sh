#!/usr/bin/env bash
# Compiles the TypeScript into a fresh directory under .build/ and points the `dist`
# symlink at it with one atomic rename. usage: infra/build.sh [project-dir]
#
# Why not compile into dist/ in place: a CLI, worker or test run started from dist/ keeps
# loading modules after it starts (worker threads, the workflow bundle, lazy imports), so
# deleting or rewriting dist/ under it breaks it. Node resolves `dist` to the build's real
# directory when it loads a module, so a running process keeps reading the build it
# started with, whole and consistent, while new commands get the new one. A fresh
# directory per build also means files deleted from the sources never linger in dist/.
# The newest HEPFLOW_KEEP_BUILDS builds (default 3) stay for processes still using them.
set -euo pipefail
cd "${1:-$(dirname "$0")/..}"
keep=${HEPFLOW_KEEP_BUILDS:-3}
mkdir -p .build
stamp="$(date -u +%Y%m%dT%H%M%S%N)-$$"
out=".build/dist-$stamp"
if ! node_modules/.bin/tsc -p tsconfig.json --outDir "$out"; then
  rm -rf "$out"
  exit 1
fi
[[ -f "$out/cli/hepflow.js" ]] && chmod +x "$out/cli/hepflow.js"
# A dist/ directory from before builds lived under .build/ is moved aside once (named
# to sort as the oldest build).
if [[ -d dist && ! -L dist ]]; then mv dist ".build/dist-0-before-$stamp"; fi
ln -s "$out" "dist.new-$$"
mv -T "dist.new-$$" dist
# Builds are named by time, so a reverse sort lists the newest first.
ls -1d .build/dist-* | sort -r | tail -n +$((keep + 1)) | while read -r old; do
  [[ "$old" == "$out" ]] || rm -rf "$old"
done
