#!/usr/bin/env bash
# Builds the worker images from the committed tree (`npm run image`):
#   hepflow/worker:<version>-cpu and hepflow/worker:<version>-gpu
# with the first of docker (BuildKit), podman or buildah found, or says none is and exits 3.
# usage: npm run image [-- cpu|gpu|all]   (default all)
#   HEPFLOW_MARCH    the -march of the native addons (default x86-64-v3; see Containerfile)
#   HEPFLOW_IMAGE    the image name (default hepflow/worker); tags are <version>-<target>
#   HEPFLOW_IMAGE_TOOL  docker, podman or buildah, to choose among several
# The build context is `git archive HEAD`: only committed files, the same bytes on every
# machine, and SOURCE_DATE_EPOCH is the commit's time, so that two builds of one commit
# give the same image (with BuildKit's rewrite-timestamp, or buildah's --timestamp).
set -euo pipefail
cd "$(dirname "$0")/../.."
log() { printf '[image] %s\n' "$*" >&2; }
targets=${1:-all}
case "$targets" in
  all) targets="cpu gpu" ;;
  cpu | gpu) ;;
  *) log "target '$targets': expected cpu, gpu or all"; exit 64 ;;
esac
march=${HEPFLOW_MARCH:-x86-64-v3}
HEPFLOW_MARCH=$march node native/common/march.cjs >/dev/null

tool=${HEPFLOW_IMAGE_TOOL:-}
if [[ -z $tool ]]; then
  for t in docker podman buildah; do
    command -v "$t" >/dev/null || continue
    # A docker client without a daemon cannot build.
    if [[ $t == docker ]] && ! docker info >/dev/null 2>&1; then log "docker is installed but no daemon answers; trying the others"; continue; fi
    tool=$t
    break
  done
fi
if [[ -z $tool ]]; then
  log "no container build tool here (docker with a daemon, podman or buildah): nothing built."
  log "Build on a machine with one, or test the entry points as processes: node --test dist/test/deploy-image.test.js"
  exit 3
fi
case "$tool" in docker | podman | buildah) ;; *) log "HEPFLOW_IMAGE_TOOL='$tool': expected docker, podman or buildah"; exit 64 ;; esac

[[ -z "$(git status --porcelain --untracked-files=no)" ]] || log "uncommitted changes are not in the image (it builds HEAD)"
version=$(node -p 'require("./package.json").version')
epoch=$(git log -1 --format=%ct)
name=${HEPFLOW_IMAGE:-hepflow/worker}
ctx=$(mktemp -d)
trap 'rm -rf "$ctx"' EXIT
git archive --format=tar HEAD | tar -x -C "$ctx"

for target in $targets; do
  tag="$name:$version-$target"
  log "building $tag with $tool (-march=$march, SOURCE_DATE_EPOCH=$epoch)"
  args=(--file "$ctx/deploy/image/Containerfile" --target "$target" --tag "$tag"
    --build-arg "SOURCE_DATE_EPOCH=$epoch" --build-arg "HEPFLOW_MARCH=$march")
  case "$tool" in
    docker) SOURCE_DATE_EPOCH=$epoch docker buildx build "${args[@]}" --output "type=docker,rewrite-timestamp=true" "$ctx" ;;
    podman) podman build "${args[@]}" --timestamp "$epoch" "$ctx" ;;
    buildah) buildah build "${args[@]}" --timestamp "$epoch" "$ctx" ;;
  esac
done
