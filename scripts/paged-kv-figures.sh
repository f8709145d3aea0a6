#!/usr/bin/env bash
# The paged KV cache's figures (issue 17), on a quiet machine, release build:
#   1. memory: 128 short prompts, --concurrency 64, --max-tokens 64, peak resident memory
#      (/usr/bin/time -v) and the KV summary line (blocks at the peak, utilisation);
#   2. concurrency: 300-token chats in a fixed 512 MB budget (the summary's peak blocks and
#      preemptions say how many ran at once);
#   3. prefix sharing: 64 requests with one 400-token preamble against distinct preambles, with
#      --verify (outputs bit for bit equal to each request alone without sharing).
# Usage: scripts/paged-kv-figures.sh M110_Q8_0.gguf [QWEN.gguf] [BINARY]
# (M110: see README, "Benchmarks"; QWEN: ../shared/tools/fetch_real_models.sh.)
set -euo pipefail
m110=${1:?usage: $0 M110_Q8_0.gguf [QWEN.gguf] [BINARY]}
qwen=${2:-}
bin=${3:-.build/release/smallmind}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

echo "== 1. memory: 128 prompts, concurrency 64, 64 tokens each ($m110)"
for i in $(seq 1 128); do echo "Once upon a time there was a little robot number $i who"; done > "$work/prompts.txt"
/usr/bin/time -v "$bin" batch --model "$m110" --input "$work/prompts.txt" --output "$work/out.jsonl" \
    --concurrency 64 --max-tokens 64 --quiet 2> "$work/time.txt" || { cat "$work/time.txt"; exit 1; }
grep -E "KV cache:|items in" "$work/time.txt"
grep "Maximum resident set size" "$work/time.txt"

if [[ -n "$qwen" ]]; then
    echo "== 2. concurrency: 300-token chats in 512 MB ($qwen)"
    for i in $(seq 1 64); do
        printf 'Write a long, detailed story about explorer number %d and the city under the sea; describe every street.\n' "$i"
    done > "$work/chats.txt"
    "$bin" batch --model "$qwen" --input "$work/chats.txt" --output "$work/chats.jsonl" --concurrency 64 \
        --max-tokens 300 --kv-cache-bytes 512000000 --quiet 2>&1 | grep -E "KV cache:|items in"
fi

echo "== 3. prefix sharing: 64 requests, 400-token preamble ($m110)"
"$bin" bench --model "$m110" --shared-prefix 400 --requests 64 --prompt-tokens 16 --gen-tokens 16 --verify
