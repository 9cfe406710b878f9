#!/bin/sh
# The image's entry point: one process per container, exec'd so that it is PID 1 and gets
# the kubelet's SIGTERM itself (the workers drain on it, the inference service finishes
# its requests).
#   cpu [flags]     a CPU pool worker (workflows + data activities, task queue hepflow-cpu)
#   gpu [flags]     a GPU pool worker (training, task queue hepflow-gpu)
#   serve [flags]   the inference service (`hepflow serve`)
#   hepflow ...     any other CLI command (e.g. `hepflow status <run>`)
set -eu
app=$(CDPATH='' cd -- "$(dirname -- "$0")/.." && pwd)

# The native addons were compiled for one -march (HEPFLOW_MARCH at build time): on an
# older CPU they would die of SIGILL mid-activity, so refuse to start instead.
if [ -r "$app/build-info/cpu-flags" ] && [ -r /proc/cpuinfo ]; then
  have=$(grep -m1 '^flags' /proc/cpuinfo)
  for flag in $(cat "$app/build-info/cpu-flags"); do
    case " ${have#*:} " in
      *" $flag "*) ;;
      *) echo "hepflow: this image's native code needs the CPU feature '$flag' ($(cat "$app/build-info/march")), which this machine lacks; use an image built with a lower HEPFLOW_MARCH" >&2; exit 78 ;;
    esac
  done
fi

mode=${1:-}
[ $# -gt 0 ] && shift
case "$mode" in
  cpu | gpu) exec node "$app/dist/workers/$mode-worker.js" "$@" ;;
  serve) exec node "$app/dist/cli/hepflow.js" serve "$@" ;;
  hepflow) exec node "$app/dist/cli/hepflow.js" "$@" ;;
  *)
    echo "usage: hepflow-entrypoint cpu|gpu|serve|hepflow [args...] (got '${mode}')" >&2
    exit 64
    ;;
esac
