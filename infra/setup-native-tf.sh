#!/usr/bin/env bash
# Opt-in: gives the ML code the native TensorFlow backend (@tensorflow/tfjs-node, or
# @tensorflow/tfjs-node-gpu on a GPU machine) without the prebuilt download that its
# install script fetches from a host we cannot reach. It links the addon against the
# TensorFlow C library that a PyPI wheel already ships (libtensorflow_cc.so.2 exports the
# TF_*/TFE_* C API), and builds the addon from source (~20 s). The default install never
# needs this.
#
# Usage: bash infra/setup-native-tf.sh   (then --backend tensorflow, or auto picks it up)
#          tfjs-node on the tensorflow-cpu wheel of the project venv (.tools/venv)
#        HEPFLOW_TF=gpu bash infra/setup-native-tf.sh   (--backend tensorflow-gpu / auto)
#          tfjs-node-gpu on the `tensorflow` wheel with the CUDA 12 and cuDNN wheels it
#          pins (infra/requirements-gpu.txt), in a venv of its own, .tools/venv-gpu:
#          3.4 GB of wheels, 6.3 GB on disk. Without a usable GPU TensorFlow runs on the CPU.
#          HEPFLOW_TF_VENV and HEPFLOW_TF_REQUIREMENTS choose another venv and list (the image).
# Undo:  npm uninstall --no-save @tensorflow/tfjs-node (or -node-gpu); rm -rf .tools/venv-gpu
# Note:  installed with --no-save, so the next `npm ci`/`npm install` removes it again, and
#        so does installing the other variant: re-run the script.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
log() { printf '[setup-native-tf] %s\n' "$*" >&2; }

case "${HEPFLOW_TF:-cpu}" in
  cpu) venv="$root/.tools/venv" wheel=tensorflow-cpu npm_pkg=@tensorflow/tfjs-node ;;
  gpu) venv="${HEPFLOW_TF_VENV:-$root/.tools/venv-gpu}" wheel=tensorflow npm_pkg=@tensorflow/tfjs-node-gpu ;;
  *) log "HEPFLOW_TF='$HEPFLOW_TF': expected cpu (the default) or gpu"; exit 1 ;;
esac
py="$venv/bin/python"
if [[ $wheel == tensorflow ]]; then
  # A venv of its own: tensorflow and tensorflow-cpu install the same package directory.
  # HEPFLOW_TF_REQUIREMENTS: the image's hash-locked list (deploy/image/requirements-gpu.lock).
  req=${HEPFLOW_TF_REQUIREMENTS:-infra/requirements-gpu.txt}
  want=$(sha256sum "$req" | cut -c1-16)
  if [[ ! -x "$py" || "$(cat "$venv.stamp" 2>/dev/null)" != "$want" ]]; then
    log "installing $req into ${venv#"$root/"} (3.4 GB of wheels, a few minutes)"
    [[ -x "$py" ]] || "${HEPFLOW_PYTHON:-python3}" -m venv "$venv"
    "$py" -m pip install --quiet --disable-pip-version-check -r "$req"
    printf '%s' "$want" > "$venv.stamp"
  fi
fi
[[ -x "$py" ]] || { log "no project venv at $py: run 'npm run setup' first"; exit 1; }
# find_spec locates the package without importing TensorFlow (which takes seconds).
tfdir=$("$py" -c 'import importlib.util, os, sys
s = importlib.util.find_spec("tensorflow")
sys.exit("tensorflow is not installed in the venv") if s is None else print(os.path.dirname(s.origin))')
for f in libtensorflow_cc.so.2 libtensorflow_framework.so.2 include; do
  [[ -e "$tfdir/$f" ]] || { log "the $wheel wheel at $tfdir lacks $f; expected TensorFlow 2.x"; exit 1; }
done
tfver=$("$py" -c 'import importlib.metadata as m, sys; print(m.version(sys.argv[1]))' "$wheel" 2>/dev/null || echo unknown)
log "TensorFlow C library from $tfdir ($wheel $tfver)"

pkg="$root/node_modules/$npm_pkg"
if [[ "$(node -p 'try{require(process.argv[1]+"/package.json").version}catch{""}' "$pkg" 2>/dev/null)" != "4.22.0" ]]; then
  log "installing $npm_pkg@4.22.0 (scripts disabled, not saved to package.json)"
  lock=(); [[ -e "$root/.tools/npm.lock" ]] && lock=(flock "$root/.tools/npm.lock")
  "${lock[@]}" npm install --no-save --ignore-scripts --no-audit --no-fund --loglevel=error "$npm_pkg@4.22.0"
fi

# The addon's binding.gyp links -ltensorflow from deps/lib and its install script treats
# deps/lib/libtensorflow.so.2.9.1 as "already downloaded". At run time the dynamic loader
# looks the library up by its SONAME, libtensorflow_cc.so.2, hence that name too.
lib="$pkg/deps/lib"
mkdir -p "$lib"
for name in libtensorflow.so libtensorflow.so.2 libtensorflow.so.2.9.1 libtensorflow_cc.so.2; do
  ln -sfn "$tfdir/libtensorflow_cc.so.2" "$lib/$name"
done
for name in libtensorflow_framework.so libtensorflow_framework.so.2; do
  ln -sfn "$tfdir/libtensorflow_framework.so.2" "$lib/$name"
done
# The C API headers include tsl/ and others, so the whole include tree is needed.
rm -rf "$pkg/deps/include"
ln -sfn "$tfdir/include" "$pkg/deps/include"

# node-gyp would download the Node headers; use the installed ones when they exist.
prefix=$(dirname "$(dirname "$(command -v node)")")
if [[ -z "${npm_config_nodedir:-}" && -f "$prefix/include/node/node.h" ]]; then
  export npm_config_nodedir="$prefix"
fi
# The GPU wheel's libraries find the CUDA wheels through their RUNPATH,
# $ORIGIN/../nvidia/<lib>/lib, and glibc takes $ORIGIN from the path a library was loaded
# by, symlinks unresolved: loaded through deps/lib they would look in node_modules. So the
# addon's rpath names the wheel's directory first (gyp puts LDFLAGS ahead of binding.gyp's
# -rpath $ORIGIN/../../deps/lib), and TensorFlow is loaded from where it lives.
ldflags=${LDFLAGS:-}
[[ $wheel == tensorflow ]] && ldflags="-Wl,-rpath,$tfdir $ldflags"
log "building the $npm_pkg addon from source"
(cd "$pkg" && LDFLAGS="$ldflags" "$root/node_modules/.bin/node-pre-gyp" install --build-from-source --loglevel=error >/dev/null)

# Loads the addon as the ML code does and runs one op; for the GPU package it also says
# whether TensorFlow found a GPU (tfjs-node-gpu places every op on it when it did).
node --input-type=module -e '
import * as tf from "@tensorflow/tfjs";
const pkg = process.argv[1];
await import(pkg);
await tf.setBackend("tensorflow");
const s = tf.tensor([1, 2, 3]).square().sum().dataSync()[0];
if (tf.getBackend() !== "tensorflow" || s !== 14) throw new Error("native backend self-test failed");
const b = tf.backend();
const where = b.isGPUPackage ? (b.isUsingGpuDevice ? ", running on the GPU" : ", no GPU visible: running on the CPU") : "";
console.error(`[setup-native-tf] ok: ${pkg}, TensorFlow ${b.binding?.TF_Version ?? ""}${where}`);
' "$npm_pkg"
