#!/usr/bin/env bash
# Gathers what bench/gpu/run.sh needs on a GPU machine that has CUDA 13 and PyTorch but none of
# our Debian packages, into one folder to carry there (docs/cuda.md):
#   payload.tar.xz, holding
#   bin/   herd, herd_cuda_tests, gpu_bench (stripped)
#   lib/   the shared libraries they load (ldd) beyond glibc and CUDA: CAF, Cap'n Proto/KJ,
#          OpenBLAS, gfortran, quadmath, OpenSSL, ...; cuBLAS and the CUDA runtime are too
#          large to carry and come from the GPU machine (its toolkit or PyTorch's wheels)
#   data/  the Fashion-MNIST IDX files
#   bench/gpu/  run.sh, torch_mlp.py, report.py, jobs.py
# Usage: bench/gpu/pack.sh [--build DIR] [--out DIR]   (defaults: /tmp/build-wt9, ./.gpu-pack)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
build=/tmp/build-wt9
out=$root/.gpu-pack
data=/usr/share/datasets/fashion-mnist
while [[ $# -gt 0 ]]; do
  case $1 in
    --build) build=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    *) echo "pack.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done
[[ -n $out && -n $build ]] || { echo "pack.sh: --out and --build need a folder" >&2; exit 2; }
bins=("$build/herd" "$build/tests/cuda/herd_cuda_tests" "$build/bench/gpu_bench")
for b in "${bins[@]}"; do
  [[ -x $b ]] || { echo "pack.sh: $b is missing (build with HERD_CUDA=AUTO or ON first)" >&2; exit 1; }
done
rm -rf "$out"
mkdir -p "$out/bin" "$out/lib" "$out/data" "$out/bench/gpu"
for b in "${bins[@]}"; do
  strip -o "$out/bin/$(basename "$b")" "$b"
done
# Every library ldd resolves, except the C library family (the GPU machine's own) and CUDA's.
skip='^(libc|libm|libdl|librt|libpthread|ld-linux-x86-64|libcuda|libcudart|libcublas|libcublasLt|libnvidia-.*)\.so'
for b in "${bins[@]}"; do
  ldd "$b" | awk '/=> \// {print $1, $3}'
done | sort -u | while read -r name path; do
  if [[ ! $name =~ $skip ]]; then
    # The C++ runtime only as a fallback: the GPU machine's own is likely newer, and ours
    # first on the path would shadow it.
    dir=$out/lib
    [[ $name =~ ^(libstdc\+\+|libgcc_s)\.so ]] && dir=$out/lib/fallback
    mkdir -p "$dir"
    cp -L "$path" "$dir/$name"
    strip --strip-unneeded "$dir/$name" 2>/dev/null || true
  fi
done
# OpenBLAS alone is 36 MiB and the data 30 MiB: binaries and libraries travel xz-compressed
# (run.sh unpacks them into /tmp).
tar -C "$out" -cJf "$out/payload.tar.xz" bin lib
rm -rf "${out:?}/bin" "${out:?}/lib"
cp "$data"/*-ubyte.gz "$out/data/"
cp "$here"/run.sh "$here"/torch_mlp.py "$here"/report.py "$here"/jobs.py "$out/bench/gpu/"
size=$(du -sm "$out" | cut -f1)
echo "pack.sh: $out holds ${size} MiB:"
du -sh "$out"/* | sed 's/^/  /'
if (( size >= 64 )); then
  echo "pack.sh: over 64 MiB; it will not travel whole" >&2
  exit 1
fi
