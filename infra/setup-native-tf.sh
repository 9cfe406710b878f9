#!/usr/bin/env bash
# Opt-in: gives the ML code the native TensorFlow backend (@tensorflow/tfjs-node) without
# the prebuilt download that tfjs-node's install script fetches from a host we cannot
# reach. It links tfjs-node's addon against the TensorFlow C library that PyPI's
# tensorflow-cpu wheel already ships (libtensorflow_cc.so.2 exports the TF_*/TFE_* C API),
# and builds the addon from source (~20 s). The default install never needs this.
#
# Usage: bash infra/setup-native-tf.sh   (then --backend tensorflow, or auto picks it up)
# Undo:  npm uninstall --no-save @tensorflow/tfjs-node
# Note:  installed with --no-save, so the next `npm ci`/`npm install` removes it again.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
log() { printf '[setup-native-tf] %s\n' "$*" >&2; }

py="$root/.tools/venv/bin/python"
[[ -x "$py" ]] || { log "no project venv at $py: run 'npm run setup' first"; exit 1; }
# find_spec locates the package without importing TensorFlow (which takes seconds).
tfdir=$("$py" -c 'import importlib.util, os, sys
s = importlib.util.find_spec("tensorflow")
sys.exit("tensorflow is not installed in the venv (infra/requirements.txt)") if s is None else print(os.path.dirname(s.origin))')
for f in libtensorflow_cc.so.2 libtensorflow_framework.so.2 include; do
  [[ -e "$tfdir/$f" ]] || { log "the tensorflow wheel at $tfdir lacks $f; expected tensorflow-cpu 2.x"; exit 1; }
done
tfver=$("$py" -c 'import importlib.metadata as m; print(m.version("tensorflow-cpu"))' 2>/dev/null || echo unknown)
log "TensorFlow C library from $tfdir (tensorflow-cpu $tfver)"

pkg="$root/node_modules/@tensorflow/tfjs-node"
if [[ "$(node -p 'try{require(process.argv[1]+"/package.json").version}catch{""}' "$pkg" 2>/dev/null)" != "4.22.0" ]]; then
  log "installing @tensorflow/tfjs-node@4.22.0 (scripts disabled, not saved to package.json)"
  lock=(); [[ -e "$root/.tools/npm.lock" ]] && lock=(flock "$root/.tools/npm.lock")
  "${lock[@]}" npm install --no-save --ignore-scripts --no-audit --no-fund --loglevel=error @tensorflow/tfjs-node@4.22.0
fi

# tfjs-node's binding.gyp links -ltensorflow from deps/lib and its install script treats
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
log "building the tfjs-node addon from source"
(cd "$pkg" && "$root/node_modules/.bin/node-pre-gyp" install --build-from-source --loglevel=error >/dev/null)

node --input-type=module -e '
import * as tf from "@tensorflow/tfjs";
await import("@tensorflow/tfjs-node");
await tf.setBackend("tensorflow");
const s = tf.tensor([1, 2, 3]).square().sum().dataSync()[0];
if (tf.getBackend() !== "tensorflow" || s !== 14) throw new Error("native backend self-test failed");
console.error(`[setup-native-tf] ok: tf backend ${tf.getBackend()}, TensorFlow ${tf.backend().binding?.TF_Version ?? ""}`);
'
