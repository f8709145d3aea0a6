#!/usr/bin/env bash
# Builds and runs the libFuzzer target for the GGUF parser/loader (Linux, Swift toolchain with
# libFuzzer). Usage: Fuzz/run.sh [seconds, default 300] [corpus dir, default .build/fuzz-corpus]
# Seeds the corpus with the small GGUF files of ../shared/models when present. Crashes are
# written as crash-* files in the current directory by libFuzzer.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-300}
corpus=${2:-.build/fuzz-corpus}
out=.build/fuzz
mkdir -p "$out" "$corpus"
flags=(-O -sanitize=fuzzer,address -parse-as-library -target-cpu haswell)
swiftc "${flags[@]}" -emit-module -emit-library -static -module-name SmallMindKernels \
    -emit-module-path "$out/SmallMindKernels.swiftmodule" -o "$out/libSmallMindKernels.a" \
    $(find Sources/SmallMindKernels -name '*.swift')
swiftc "${flags[@]}" -I "$out" -emit-module -emit-library -static -module-name SmallMind \
    -emit-module-path "$out/SmallMind.swiftmodule" -o "$out/libSmallMind.a" \
    $(find Sources/SmallMind -name '*.swift')
swiftc "${flags[@]}" -I "$out" -L "$out" -lSmallMind -lSmallMindKernels Fuzz/GGUFFuzzer.swift -o "$out/gguf-fuzzer"
for seed in ../shared/models/stories260K-q8_0.gguf ../shared/models/kq-q4_k_m.gguf; do
    [ -f "$seed" ] && cp -n "$seed" "$corpus/" || true
done
"$out/gguf-fuzzer" "$corpus" -max_total_time="$seconds" -max_len=400000 -rss_limit_mb=2048 -timeout=20
