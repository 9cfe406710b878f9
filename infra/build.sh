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
#
# --if-changed: no build when the TypeScript sources, tsconfig.json and the lock file are
# those dist/ was built from (a hash kept in the build) and nothing was compiled into
# dist/ since: a full compile costs ~15 s of CPU, a minute or more on a busy 2-core
# machine, and `npm run demo`, `npm test` and `npm run bench` all start with one.
set -euo pipefail
if_changed=false
if [[ "${1:-}" == --if-changed ]]; then
  if_changed=true
  shift
fi
cd "${1:-$(dirname "$0")/..}"
keep=${HEPFLOW_KEEP_BUILDS:-3}
source_hash=$({
  cat tsconfig.json package-lock.json 2>/dev/null || true
  find . \( -name node_modules -o -name .build -o -name dist -o -name .tools -o -name .data -o -name .git \) -prune \
    -o -name '*.ts' -type f -print0 | sort -z | xargs -0 -r sha256sum
} | sha256sum | cut -c1-16)
if $if_changed && [[ -f dist/.source-hash && "$(cat dist/.source-hash)" == "$source_hash" ]] &&
  [[ -z "$(find -L dist/ -name '*.js' -newer dist/.source-hash -print -quit)" ]]; then
  echo "[build] TypeScript unchanged since the last build: dist/ kept" >&2
  exit 0
fi
echo "[build] compiling TypeScript" >&2
mkdir -p .build
stamp="$(date -u +%Y%m%dT%H%M%S%N)-$$"
out=".build/dist-$stamp"
if ! node_modules/.bin/tsc -p tsconfig.json --outDir "$out"; then
  rm -rf "$out"
  exit 1
fi
[[ -f "$out/cli/hepflow.js" ]] && chmod +x "$out/cli/hepflow.js"
printf '%s' "$source_hash" > "$out/.source-hash"
# A dist/ directory from before builds lived under .build/ is moved aside once (named
# to sort as the oldest build).
if [[ -d dist && ! -L dist ]]; then mv dist ".build/dist-0-before-$stamp"; fi
ln -s "$out" "dist.new-$$"
mv -T "dist.new-$$" dist
# Builds are named by time, so a reverse sort lists the newest first.
ls -1d .build/dist-* | sort -r | tail -n +$((keep + 1)) | while read -r old; do
  [[ "$old" == "$out" ]] || rm -rf "$old"
done
