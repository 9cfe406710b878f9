#!/usr/bin/env bash
# Starts N hepflow workers of one pool for a batch job's wall-time lease, forwards
# SIGTERM/SIGINT to them, and waits until every one has drained and exited.
#
#   hepflow-batch-worker.sh POOL [N] [-- WORKER_ARGS...]     POOL: cpu or gpu; N: default 1
#
# Environment (docs/deploy-batch.md):
#   HEPFLOW_SITE_ENV   a file of VAR=value lines (site.env.example) sourced first
#   HEPFLOW_HOME       the hepflow installation (default: two directories above this script)
#   HEPFLOW_NODE       the node binary (default: node on PATH)
#   HEPFLOW_WORKER_LEASE_S  the lease in seconds; unset, taken from Slurm (squeue's time
#                      left of $SLURM_JOB_ID) or HTCondor (MaxRuntime in $_CONDOR_JOB_AD)
#   HEPFLOW_HEALTH_PORT     worker i (0-based) gets port + i
# Each worker drains on its own lease − HEPFLOW_WORKER_LEASE_MARGIN_S (workers/lifecycle.ts),
# and on the SIGTERM the batch system sends before its kill, whichever comes first.
# Exit status: 0 when every worker exited 0, else the first non-zero status.
set -uo pipefail

me=hepflow-batch-worker
die() {
  echo "$me: $*" >&2
  exit 2
}

pool=${1:-}
[[ $pool == cpu || $pool == gpu ]] || die "usage: $0 cpu|gpu [N] [-- worker args]"
shift
n=1
if [[ $# -gt 0 && $1 != -- ]]; then
  n=$1
  shift
fi
[[ $n =~ ^[1-9][0-9]*$ ]] || die "N (workers) must be a positive integer, got '$n'"
[[ ${1:-} == -- ]] && shift

if [[ -n ${HEPFLOW_SITE_ENV:-} ]]; then
  [[ -r $HEPFLOW_SITE_ENV ]] || die "HEPFLOW_SITE_ENV: cannot read '$HEPFLOW_SITE_ENV'"
  set -a
  # shellcheck source=/dev/null
  . "$HEPFLOW_SITE_ENV"
  set +a
fi
home=${HEPFLOW_HOME:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
script=$home/dist/workers/$pool-worker.js
[[ -f $script ]] || die "HEPFLOW_HOME: no $script (build hepflow there: npm run build)"
node=${HEPFLOW_NODE:-node}

# Slurm's time left: [days-]hours:minutes:seconds, minutes:seconds, or a word (UNLIMITED).
slurm_seconds() {
  local t=$1 days=0 h=0 m=0 s=0
  if [[ $t == *-* ]]; then
    days=${t%%-*}
    t=${t#*-}
  fi
  IFS=: read -r -a p <<<"$t"
  case ${#p[@]} in
  3) h=${p[0]} m=${p[1]} s=${p[2]} ;;
  2) m=${p[0]} s=${p[1]} ;;
  *) return 1 ;;
  esac
  [[ "$days$h$m$s" =~ ^[0-9]+$ ]] || return 1
  echo $((10#$days * 86400 + 10#$h * 3600 + 10#$m * 60 + 10#$s))
}

lease=${HEPFLOW_WORKER_LEASE_S:-}
lease_from=HEPFLOW_WORKER_LEASE_S
if [[ -z $lease && -n ${SLURM_JOB_ID:-} ]] && command -v squeue >/dev/null; then
  left=$(squeue -h -j "$SLURM_JOB_ID" -o %L 2>/dev/null) && lease=$(slurm_seconds "$left") || lease=
  lease_from="Slurm job $SLURM_JOB_ID's time left"
fi
if [[ -z $lease && -n ${_CONDOR_JOB_AD:-} && -r ${_CONDOR_JOB_AD:-} ]]; then
  lease=$(sed -n 's/^MaxRuntime *= *\([0-9][0-9]*\) *$/\1/p' "$_CONDOR_JOB_AD" | head -n 1)
  lease_from="HTCondor MaxRuntime"
fi
lease_end=
if [[ -n $lease ]]; then
  [[ $lease =~ ^[0-9]+$ ]] || die "$lease_from must be whole seconds, got '$lease'"
  lease_end=$((SECONDS + lease))
  echo "$me: $n $pool worker(s), lease ${lease} s ($lease_from)"
else
  echo "$me: $n $pool worker(s), no lease (until SIGTERM)"
fi

# GPU workers: one device each, round robin over what the batch system assigned.
IFS=, read -r -a gpus <<<"${CUDA_VISIBLE_DEVICES:-}"

pids=()
for ((i = 0; i < n; i++)); do
  env_i=()
  [[ -n $lease_end ]] && env_i+=("HEPFLOW_WORKER_LEASE_S=$((lease_end - SECONDS))")
  [[ -n ${HEPFLOW_HEALTH_PORT:-} ]] && env_i+=("HEPFLOW_HEALTH_PORT=$((HEPFLOW_HEALTH_PORT + i))")
  [[ $pool == gpu && ${#gpus[@]} -gt 0 ]] && env_i+=("CUDA_VISIBLE_DEVICES=${gpus[i % ${#gpus[@]}]}")
  # Each line of a worker's output says which worker wrote it; $! stays the worker's pid.
  env "${env_i[@]}" "$node" "$script" "$@" > >(sed -u "s/^/[$pool-$i] /") 2>&1 &
  pids+=($!)
done
echo "$me: started pids ${pids[*]}"

forward() {
  echo "$me: $1: draining ${#pids[@]} worker(s)"
  kill -"$1" "${pids[@]}" 2>/dev/null
}
trap 'forward TERM' TERM
trap 'forward INT' INT

status=0
for i in "${!pids[@]}"; do
  pid=${pids[i]}
  # A trapped signal interrupts wait (status > 128) while the worker drains: wait again,
  # and once it is gone, once more for its own status (127: the first wait had it).
  while :; do
    wait "$pid"
    rc=$?
    kill -0 "$pid" 2>/dev/null && continue
    wait "$pid" 2>/dev/null
    last=$?
    [[ $last -ne 127 ]] && rc=$last
    break
  done
  echo "$me: $pool-$i (pid $pid) exited with status $rc"
  [[ $status -eq 0 && $rc -ne 0 ]] && status=$rc
done
# The output filters end with their workers; let them flush.
wait
exit "$status"
