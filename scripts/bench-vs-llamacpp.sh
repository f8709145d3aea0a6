#!/usr/bin/env bash
# Side-by-side generation and prompt speed: `smallmind bench` and llama.cpp's `llama-batched-bench`
# on the same GGUF file, alternated round by round (this machine's speed drifts with its other
# load), each at its default KV cache (ours f32, llama.cpp's f16). Prints, per batch size, the median
# S_PP and S_TG of each side over the rounds and the median of the rounds' ratios (ours / theirs).
#
# usage: scripts/bench-vs-llamacpp.sh MODEL.gguf [ROUNDS] [PP] [TG] [BATCHES] [THREADS]
#   defaults: 3 rounds, -npp 16 -ntg 32 -npl 1,8,32, 2 threads
# LLAMA_BIN: the folder of llama.cpp's binaries (default: built by ../shared/tools/build_llamacpp.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
model=${1:?usage: scripts/bench-vs-llamacpp.sh MODEL.gguf [ROUNDS] [PP] [TG] [BATCHES] [THREADS]}
rounds=${2:-3}; pp=${3:-16}; tg=${4:-32}; batches=${5:-1,8,32}; threads=${6:-2}
[ -f "$model" ] || { echo "error: no model file at $model" >&2; exit 1; }
bin=${LLAMA_BIN:-$(bash ../shared/tools/build_llamacpp.sh)}
swift build -c release --product smallmind >/dev/null
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
max_b=$(echo "$batches" | tr ',' '\n' | sort -n | tail -1)
ctx=$(( max_b * (pp + tg) + 64 ))
for r in $(seq 1 "$rounds"); do
  echo "round $r/$rounds" >&2
  .build/release/smallmind bench --model "$model" --batch "$batches" --prompt-tokens "$pp" --gen-tokens "$tg" \
    --repetitions 1 --threads "$threads" --json > "$work/ours.$r.json" 2>/dev/null
  "$bin/llama-batched-bench" -m "$model" -c "$ctx" -b 2048 -ub 512 -npp "$pp" -ntg "$tg" -npl "$batches" -t "$threads" \
    --output-format jsonl 2>&1 | grep '^{' > "$work/theirs.$r.jsonl"
done
python3 - "$work" "$rounds" <<'PY'
import json, statistics, sys
work, rounds = sys.argv[1], int(sys.argv[2])
ours, theirs = {}, {}
for r in range(1, rounds + 1):
    for row in json.load(open(f"{work}/ours.{r}.json")):
        ours.setdefault(row["b"], []).append(row)
    for line in open(f"{work}/theirs.{r}.jsonl"):
        row = json.loads(line)
        theirs.setdefault(row["pl"], []).append(row)
med = statistics.median
print(f"{'B':>3} {'S_PP ours':>10} {'S_PP llama':>11} {'ratio':>6} {'S_TG ours':>10} {'S_TG llama':>11} {'ratio':>6}")
for b in sorted(ours):
    o, t = ours[b], theirs.get(b, [])
    if not t: continue
    pp_ratio = med([x["s_pp"] / y["speed_pp"] for x, y in zip(o, t)])
    tg_ratio = med([x["s_tg"] / y["speed_tg"] for x, y in zip(o, t)])
    print(f"{b:>3} {med([x['s_pp'] for x in o]):>10.1f} {med([y['speed_pp'] for y in t]):>11.1f} {pp_ratio:>5.2f}x"
          f" {med([x['s_tg'] for x in o]):>10.1f} {med([y['speed_tg'] for y in t]):>11.1f} {tg_ratio:>5.2f}x")
PY
