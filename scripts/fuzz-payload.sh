#!/usr/bin/env bash
# Fuzzes the gradient/slice payload decoders with libFuzzer (Debian's clang) under ASan and
# UBSan for SECONDS (default 60). Builds in build-fuzz/. Exit 0 when no crash was found.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-60}
cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo -DHERD_FUZZ=ON -DHERD_CUDA=OFF \
  -DBUILD_TESTING=OFF -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ > /dev/null
cmake --build build-fuzz --target payload_fuzz payload_corpus -j"$(nproc)"
mkdir -p build-fuzz/corpus
build-fuzz/tests/fuzz/payload_corpus build-fuzz/corpus
build-fuzz/tests/fuzz/payload_fuzz -max_total_time="$seconds" -max_len=65536 \
  -print_final_stats=1 build-fuzz/corpus
