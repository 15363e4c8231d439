#!/usr/bin/env bash
# On a machine with a CUDA GPU: every [cuda] test, Fashion-MNIST on a GPU worker (alone and
# beside a CPU worker, >= 88%), the GPU benchmarks against PyTorch on the same card (eager and
# CUDA-graph steps, a host shard in the loop, the wide MLP end to end), then one table.
# About 5 minutes on an H100 (--quick: about 2).
#
# From a pack (bench/gpu/pack.sh; what travels to a GPU machine without our Debian packages):
#   .gpu-pack/bench/gpu/run.sh --pack .gpu-pack [--quick] [--out DIR]
# From a build tree on a machine that has the libraries:
#   bench/gpu/run.sh --build /tmp/build-wt9 [--quick] [--out DIR]
# Writes DIR/results.jsonl, DIR/table.md, the logs and the job outputs (default /tmp/herd-gpu);
# where $OUT is set (the device tool), also copies table.md, results.jsonl, machine.txt and
# logs.txt (every log, concatenated) there - 4 files, within what comes back - after every step,
# so a run cut short still brings back what it did. Every step runs under `timeout`, cut to what
# is left of --budget SECONDS (default 540: the device tool stops a command at 600 s); a step with
# no time left is skipped. Exit status 0 when the tests passed and both jobs reached 88%.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
pack=""
build=""
quick=""
out=/tmp/herd-gpu
budget=540
while [[ $# -gt 0 ]]; do
  case $1 in
    --pack) pack=$(cd "$2" && pwd); shift 2 ;;
    --build) build=$2; shift 2 ;;
    --quick) quick=--quick; shift ;;
    --out) out=$2; shift 2 ;;
    --budget) budget=$2; shift 2 ;;
    *) echo "run.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done
mkdir -p "$out"
results=$out/results.jsonl
: >"$results"
rm -f "$out"/*.log "$out"/*.err

# bounded CAP CMD...: CMD under timeout, for CAP seconds or what is left of the budget (less 20 s
# for the report), whichever is less; 124 without running it when nothing is left.
bounded() {
  local cap=$1 left=$(( budget - SECONDS - 20 ))
  shift
  (( left < cap )) && cap=$left
  if (( cap <= 0 )); then
    echo "run.sh: out of time budget, skipped: $*" >&2
    return 124
  fi
  timeout -k 10 "$cap" "$@"
}
# Copies what there is so far to $OUT (the device tool brings back what is there, even when it
# stops the command at its time limit).
publish() {
  [[ -n ${OUT:-} && $OUT != "$out" ]] || return 0
  mkdir -p "$OUT"
  timeout 30 python3 "$here/report.py" "$results" >"$out/table.md" 2>&1
  cp "$out/table.md" "$results" "$OUT/"
  [[ -f $out/machine.txt ]] && cp "$out/machine.txt" "$OUT/"
  for f in "$out"/*.log "$out"/*.err; do
    [[ -f $f ]] && { echo "==== $(basename "$f")"; tail -c 2000000 "$f"; }
  done >"$OUT/logs.txt"
}

# Our binaries get their own library path; python3 (PyTorch) keeps the machine's.
py_ld=${LD_LIBRARY_PATH:-}
# The python3 that has PyTorch: the GPU image's plain python3 should; else look further.
torch_py=python3
torch_ver="not found"
for p in python3 /opt/torch/.venv/bin/python3 /opt/conda/bin/python3 /usr/bin/python3; do
  if v=$(timeout 60 "$p" -c 'import torch; print(torch.__version__)' 2>/dev/null); then
    torch_py=$p
    torch_ver=$v
    break
  fi
done
herd_ld=""
fallback=""
if [[ -n $pack ]]; then
  unpacked=/tmp/herd-gpu-pack
  rm -rf "$unpacked" && mkdir -p "$unpacked"
  # Python's lzma, not tar -J: the GPU image need not have xz.
  bounded 120 python3 -c 'import sys, tarfile
t = tarfile.open(sys.argv[1])
t.extractall(sys.argv[2], **({"filter": "data"} if hasattr(tarfile, "data_filter") else {}))' \
    "$pack/payload.tar.xz" "$unpacked" || { echo "run.sh: cannot unpack the payload" >&2; exit 1; }
  bin=$unpacked/bin
  herd=$bin/herd
  tests=$bin/herd_cuda_tests
  bench=$bin/gpu_bench
  data=$pack/data
  herd_ld=$unpacked/lib
  fallback=$unpacked/lib/fallback
else
  build=${build:-$here/../../build}
  herd=$build/herd
  tests=$build/tests/cuda/herd_cuda_tests
  bench=$build/bench/gpu_bench
  data=/usr/share/datasets/fashion-mnist
fi
# cuBLAS 13 and the CUDA 13 runtime: the toolkit's, else PyTorch's wheels (nvidia-cublas,
# nvidia-cuda-runtime).
for d in /usr/local/cuda/lib64 \
         $(timeout 60 "$torch_py" - 2>/dev/null <<'PY'
import importlib, os
for m in ("nvidia.cublas", "nvidia.cuda_runtime", "nvidia.cu13"):
    try:
        p = importlib.import_module(m)
        for base in list(getattr(p, "__path__", [])):
            for sub in ("lib", "lib64"):
                if os.path.isdir(os.path.join(base, sub)):
                    print(os.path.join(base, sub))
    except Exception:
        pass
PY
); do
  [[ -d $d ]] && herd_ld=${herd_ld:+$herd_ld:}$d
done
herd_ld=$herd_ld${py_ld:+:$py_ld}
# The packed C++ runtime only where the machine's is too old for the binaries.
if [[ -n $fallback && -d $fallback ]] \
  && ! LD_LIBRARY_PATH=$herd_ld timeout 20 "$herd" --help >/dev/null 2>&1; then
  herd_ld=$herd_ld:$fallback
fi
# Our binaries, under bounded: bounded CAP "${with_ld[@]}" BINARY ARGS...
with_ld=(env "LD_LIBRARY_PATH=$herd_ld")
{ timeout 20 nvidia-smi -L; echo "our binaries: LD_LIBRARY_PATH=$herd_ld"
  echo "PyTorch: $torch_ver ($torch_py)"; } \
  | tee "$out/machine.txt"
for b in "$herd" "$tests" "$bench"; do
  if LD_LIBRARY_PATH=$herd_ld timeout 20 ldd "$b" | grep -q "not found"; then
    echo "run.sh: $b is missing libraries:" >&2
    LD_LIBRARY_PATH=$herd_ld timeout 20 ldd "$b" | grep "not found" >&2
  fi
done
# cuBLAS is opened at the first GPU step (dlopen), so ldd does not show it: look for it here.
cublas_at=""
IFS=: read -ra ld_dirs <<<"$herd_ld"
for d in "${ld_dirs[@]}"; do
  [[ -z $cublas_at && -n $d && -e $d/libcublas.so.13 ]] && cublas_at=$d
done
[[ -z $cublas_at ]] && ldconfig -p 2>/dev/null | grep 'libcublas\.so\.13 ' >/dev/null \
  && cublas_at="(ld.so.cache)"
echo "libcublas.so.13: ${cublas_at:-not found: the GPU steps will fail}" | tee -a "$out/machine.txt"
status=0
publish

echo "== [cuda] tests"
bounded 180 "${with_ld[@]}" "$tests" --reporter compact --durations yes \
  >"$out/cuda_tests.log" 2>&1
rc=$?
tail -3 "$out/cuda_tests.log"
summary=$(grep -E "^(Passed|Failed|All tests passed|test cases)" "$out/cuda_tests.log" | tail -1)
python3 -c 'import json,sys; print(json.dumps({"kind": "tests", "ok": sys.argv[1] == "0",
    "summary": sys.argv[2]}))' "$rc" "${summary:-exit $rc}" >>"$results"
(( rc == 0 )) || status=1
publish

echo "== Fashion-MNIST jobs"
bounded 30 python3 "$here/jobs.py" "$data" "$out/jobs"
accuracy_of() { grep -oE "final test accuracy [0-9.]+%" "$1" | grep -oE "[0-9.]+" | tail -1; }
for job in fmnist_gpu fmnist_mixed; do
  bounded 150 "${with_ld[@]}" "$herd" run "$out/jobs/$job.json" --output "$out/run-$job" \
    >"$out/$job.log" 2>&1
  rc=$?
  acc=$(accuracy_of "$out/$job.log")
  echo "$job: exit $rc, accuracy ${acc:-n/a}%"
  python3 -c 'import json,sys; a=sys.argv[2]; print(json.dumps({"kind": "accuracy",
    "job": sys.argv[1], "accuracy": float(a) if a else None}))' "$job" "$acc" >>"$results"
  [[ -n $acc ]] && python3 -c "import sys; sys.exit(0 if float('$acc') >= 88 else 1)" || status=1
  publish
done

echo "== benchmarks"
bounded 150 "${with_ld[@]}" "$bench" $quick 2>"$out/gpu_bench.err" | tee -a "$results"
echo "gpu_bench: exit ${PIPESTATUS[0]}" | tee -a "$out/gpu_bench.err"
publish
bounded 180 env PYTHONUNBUFFERED=1 "$torch_py" "$here/torch_mlp.py" $quick 2>"$out/torch_mlp.err" \
  | tee -a "$results"
echo "torch_mlp.py: exit ${PIPESTATUS[0]}" | tee -a "$out/torch_mlp.err"
publish
bounded 150 "${with_ld[@]}" "$herd" run "$out/jobs/wide_e2e.json" --output "$out/run-wide" \
  >"$out/wide_e2e.log" 2>&1
echo "wide_e2e: exit $?"
sps=$(grep -E "^training time" "$out/wide_e2e.log" | grep -oE "[0-9.]+ samples/s" \
  | grep -oE "^[0-9.]+")
python3 -c 'import json,sys; s=sys.argv[1]; job=json.load(open(sys.argv[2]))
print(json.dumps({"kind": "e2e", "samples_per_s": float(s) if s else None,
                  "shards": job["shards"]}))' "$sps" "$out/jobs/wide_e2e.json" >>"$results"

timeout 30 python3 "$here/report.py" "$results" | tee "$out/table.md"
publish
exit $status
