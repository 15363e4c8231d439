#!/usr/bin/env bash
# herd against PyTorch on this machine, side by side: the Fashion-MNIST MLP 784-256-128-10,
# batch 64 per worker, Adam lr 1e-3 with cosine decay, same data and standardisation, in
#   pytorch        PyTorch, one process (threads: the faster of 1 and 2, measured first; Adam
#                  with foreach when that measures faster)
#   pytorch-ddp2   PyTorch DDP over gloo, 2 processes on loopback, 1 thread each, same Adam
#   herd-1w1s      herd run, in-process, 1 worker + 1 shard
#   herd-2w2s      herd run, in-process, 2 workers + 2 shards
#   herd-2w2s-asp  the same under ASP (no round barrier: each push is one Adam step)
#   herd-2nodes    2 herd node daemons on loopback (a shard and a worker each), herd run --cluster
#   herd-2nodes-ssp2  the same under SSP with staleness 2 (herd's consistency models at work)
#   herd-2nodes-asp   the same under ASP
# run back to back, in that order, R times. Evaluation is off the training clock everywhere:
# PyTorch stops its clock while it evaluates (every 500 steps), herd uses "evaluation":
# "deferred". Prints a Markdown table (mean ± half the range over the repeats, ratios
# herd/PyTorch) and writes OUT/rows.csv, OUT/rows.jsonl, OUT/table.md, OUT/machine.txt, logs.
#
# Usage: bench/compare_pytorch/run.sh [--repeats N] [--epochs N] [--output DIR] [--herd PATH]
#                                     [--quick]
#   --repeats N   repeats of the whole sequence (default 3)
#   --epochs N    epochs per run (default 10)
#   --output DIR  where rows, table and logs go (default /tmp/compare_pytorch; emptied first)
#   --herd PATH   the herd binary (default build/herd in the repository)
#   --quick       1 epoch, 1 repeat: checks that everything runs (a few minutes)
# Installs python3-torch and python3-numpy from Debian when missing (needs root or sudo).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
repeats=3
epochs=10
out=/tmp/compare_pytorch
herd=$root/build/herd
calib_steps=600
# Debian's python3-torch is installed for the system interpreter, not for a pyenv or venv one.
py=/usr/bin/python3

die() { echo "compare_pytorch: $*" >&2; exit 2; }
usage() { sed -n '/^# Usage:/,/^# Installs/p' "$0" | sed 's/^# \{0,1\}//'; }

while [[ $# -gt 0 ]]; do
  case $1 in
    --repeats) [[ $# -ge 2 ]] || die "--repeats needs a number"; repeats=$2; shift 2 ;;
    --epochs) [[ $# -ge 2 ]] || die "--epochs needs a number"; epochs=$2; shift 2 ;;
    --output) [[ $# -ge 2 ]] || die "--output needs a directory"; out=$2; shift 2 ;;
    --herd) [[ $# -ge 2 ]] || die "--herd needs a path"; herd=$2; shift 2 ;;
    --quick) repeats=1; epochs=1; calib_steps=300; shift ;;
    -h|--help) usage; exit 0 ;;
    *) usage >&2; die "unknown argument: $1" ;;
  esac
done
[[ $repeats =~ ^[1-9][0-9]*$ ]] || die "--repeats: expected a positive integer, got '$repeats'"
[[ $epochs =~ ^[1-9][0-9]*$ ]] || die "--epochs: expected a positive integer, got '$epochs'"
[[ -x $herd ]] || die "no herd binary at $herd: build it (make build) or pass --herd PATH"
data=/usr/share/datasets/fashion-mnist
for f in train-images-idx3-ubyte.gz train-labels-idx1-ubyte.gz t10k-images-idx3-ubyte.gz \
         t10k-labels-idx1-ubyte.gz; do
  [[ -r $data/$f ]] || die "missing data set file $data/$f"
done

install_packages() {
  local missing=()
  [[ -x $py ]] || missing+=(python3)
  "$py" -c 'import numpy' 2>/dev/null || missing+=(python3-numpy)
  "$py" -c 'import torch' 2>/dev/null || missing+=(python3-torch)
  [[ ${#missing[@]} -eq 0 ]] && return 0
  local sudo=()
  if [[ $(id -u) -ne 0 ]]; then
    command -v sudo >/dev/null || die "need root or sudo to install ${missing[*]}"
    sudo=(sudo)
  fi
  echo "installing ${missing[*]} (apt-get)"
  export DEBIAN_FRONTEND=noninteractive
  if ! "${sudo[@]}" apt-get install -y "${missing[@]}" >/dev/null; then
    "${sudo[@]}" apt-get update >/dev/null || die "apt-get update failed"
    "${sudo[@]}" apt-get install -y "${missing[@]}" >/dev/null \
      || die "apt-get install ${missing[*]} failed"
  fi
  "$py" -c 'import torch, numpy' || die "torch or numpy still not importable by $py"
}
install_packages

# Only an earlier output of this script is emptied, never some other directory.
if [[ -d $out && -n $(ls -A "$out") && ! -f $out/machine.txt ]]; then
  die "--output $out is not empty and not an earlier compare_pytorch output: choose another"
fi
rm -rf "$out"
mkdir -p "$out/logs" "$out/runs" "$out/jobs"
rows=$out/rows.jsonl
: >"$rows"
node_pids=()
cleanup() {
  local p
  for p in "${node_pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${node_pids[@]}"; do wait "$p" 2>/dev/null || true; done
  node_pids=()
}
trap cleanup EXIT

load1() { cut -d' ' -f1 /proc/loadavg; }

# Fails with the tail of the run's log.
failed() {
  echo "compare_pytorch: $1 failed; last lines of $2:" >&2
  tail -n 20 "$2" >&2
  exit 1
}

# One PyTorch run: LABEL PROCS THREADS REPEAT [extra torch_mlp.py arguments]
run_torch() {
  local label=$1 procs=$2 threads=$3 repeat=$4
  shift 4
  local log=$out/logs/$label-r$repeat.log load
  load=$(load1)
  OMP_NUM_THREADS=$threads MKL_NUM_THREADS=$threads OPENBLAS_NUM_THREADS=$threads \
    timeout 3600 "$py" "$here/torch_mlp.py" --label "$label" --procs "$procs" \
    --threads "$threads" --epochs "$epochs" "$@" >"$log" 2>&1 || failed "$label" "$log"
  grep '^{' "$log" | tail -n 1 | "$py" "$here/report.py" tag "repeat=$repeat" "load1=$load"
}

# One in-process herd run: LABEL JOB REPEAT
run_herd() {
  local label=$1 job=$2 repeat=$3
  local log=$out/logs/$label-r$repeat.log dir=$out/runs/$label-r$repeat load
  load=$(load1)
  OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 \
    timeout 3600 "$herd" run "$job" --quiet --output "$dir" >"$log" 2>&1 || failed "$label" "$log"
  "$py" "$here/report.py" herd-row "$label" "$dir" \
    | "$py" "$here/report.py" tag "repeat=$repeat" "load1=$load" "threads=1"
}

# Two node daemons on loopback, then herd run --cluster: LABEL (a job herd_jobs.py writes) REPEAT
run_herd_nodes() {
  local label=$1 repeat=$2
  local log=$out/logs/$label-r$repeat.log dir=$out/runs/$label-r$repeat
  local jobs=$out/jobs/$label-r$repeat load n i k nlog
  "$py" "$here/herd_jobs.py" "$root/examples/fashion_mnist.json" "$jobs" "$epochs"
  for n in a b; do
    # herd node does not apply training.blas_threads (herd run does): pin OpenBLAS to 1 here too.
    OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 \
      "$herd" node --topology "$jobs/cluster.json" --name "$n" >"$out/logs/$label-r$repeat-node-$n.log" 2>&1 &
    node_pids+=($!)
  done
  for k in 0 1; do
    n=$([[ $k -eq 0 ]] && echo a || echo b)
    nlog=$out/logs/$label-r$repeat-node-$n.log
    for ((i = 0; i < 300; ++i)); do
      grep -q "listening on" "$nlog" && break
      kill -0 "${node_pids[$k]}" 2>/dev/null || { cleanup; failed "herd node $n" "$nlog"; }
      sleep 0.1
    done
    grep -q "listening on" "$nlog" || { cleanup; failed "herd node $n (not listening in 30 s)" "$nlog"; }
  done
  load=$(load1)
  OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 \
    timeout 3600 "$herd" run "$jobs/$label.json" --cluster "$jobs/cluster.json" --quiet \
    --output "$dir" >"$log" 2>&1 || { cleanup; failed "$label" "$log"; }
  cleanup
  "$py" "$here/report.py" herd-row "$label" "$dir" \
    | "$py" "$here/report.py" tag "repeat=$repeat" "load1=$load" "threads=1"
}

{
  echo "date: $(date -u +%FT%TZ)"
  echo "nproc: $(nproc)"
  echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
  echo "torch: $(dpkg-query -W -f '${Package} ${Version}' python3-torch 2>/dev/null \
    || "$py" -c 'import torch; print(torch.__version__)')"
  echo "herd: $herd ($(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown))"
  echo "command: $0 --repeats $repeats --epochs $epochs"
  echo "uptime at start: $(uptime)"
} | tee "$out/machine.txt"

"$py" "$here/herd_jobs.py" "$root/examples/fashion_mnist.json" "$out/jobs" "$epochs"

# PyTorch's best settings, measured first over $calib_steps steps. Threads: torch's OpenMP pool
# and OpenBLAS's pthreads both size themselves to the machine unless told, so the three variables
# and set_num_threads move together. Then Adam with and without foreach (multi-tensor kernels).
calibrate() { # NAME THREADS [torch_mlp.py arguments] -> samples/s
  local name=$1 t=$2 sps
  shift 2
  sps=$(run_torch "calibrate-$name" 1 "$t" 0 --max-steps "$calib_steps" --eval-every 0 \
          --no-final-eval "$@" | "$py" -c 'import json,sys; print(round(json.load(sys.stdin)["samples_per_s"]))')
  echo "{\"setting\": \"$name\", \"threads\": $t, \"steps\": $calib_steps, \"samples_per_s\": $sps}" \
    >>"$out/calibration.jsonl"
  echo "pytorch calibration: $name: $sps samples/s over $calib_steps steps" >&2
  echo "$sps"
}
sps1=$(calibrate threads1 1)
sps2=$(calibrate threads2 2)
best_threads=1 best_sps=$sps1
((sps2 > sps1)) && best_threads=2 best_sps=$sps2
adam=()
spsf=$(calibrate "threads$best_threads-foreach" "$best_threads" --foreach)
((spsf > best_sps)) && adam=(--foreach)
echo "pytorch: $best_threads thread(s) in one process, Adam ${adam[*]:-(default, no foreach)}" \
  | tee -a "$out/machine.txt"

for ((r = 1; r <= repeats; ++r)); do
  echo "repeat $r/$repeats (load $(load1))"
  run_torch pytorch 1 "$best_threads" "$r" "${adam[@]}" >>"$rows"
  run_torch pytorch-ddp2 2 1 "$r" "${adam[@]}" >>"$rows"
  run_herd herd-1w1s "$out/jobs/herd-1w1s.json" "$r" >>"$rows"
  run_herd herd-2w2s "$out/jobs/herd-2w2s.json" "$r" >>"$rows"
  run_herd herd-2w2s-asp "$out/jobs/herd-2w2s-asp.json" "$r" >>"$rows"
  run_herd_nodes herd-2nodes "$r" >>"$rows"
  run_herd_nodes herd-2nodes-ssp2 "$r" >>"$rows"
  run_herd_nodes herd-2nodes-asp "$r" >>"$rows"
  tail -n 8 "$rows" | "$py" "$here/report.py" brief
done

echo "uptime at end: $(uptime)" | tee -a "$out/machine.txt"
echo
"$py" "$here/report.py" table "$rows" "$out"
echo
echo "rows: $out/rows.csv; table: $out/table.md; logs: $out/logs"
