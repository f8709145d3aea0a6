#!/usr/bin/env bash
# One `smallmind batch` job — 128 prompts, 64 tokens each — three ways: on a local model, through
# one `smallmind serve`, and through two servers behind nginx (deploy/nginx.conf, on loopback
# ports of its own). Prints items/s and tokens/s for each and the ratio to the local run, and checks
# that the three output files hold the same lines (timing aside). Release build; installs Debian's
# nginx when it is missing (as scripts/scale-out-check.sh does).
#
# Usage: scripts/batch-bench.sh [MODEL] [smallmind binary]
#   MODEL defaults to ../shared/models/stories260K.gguf; ITEMS, TOKENS, PORT (base port, default
#   18080: nginx on it, the servers on the next two) and CONCURRENCY (per server, default 16) may
#   be set in the environment.
set -euo pipefail
cd "$(dirname "$0")/.."
MODEL=${1:-../shared/models/stories260K.gguf}
SMALLMIND=${2:-.build/release/smallmind}
ITEMS=${ITEMS:-128}
TOKENS=${TOKENS:-64}
PORT=${PORT:-18080}
CONCURRENCY=${CONCURRENCY:-16}
[ -x "$SMALLMIND" ] || { echo "error: $SMALLMIND is not built (swift build -c release)"; exit 1; }
[ -f "$MODEL" ] || { echo "error: no model at $MODEL"; exit 1; }
# nginx (installed if missing), $work, $pids and their cleanup on exit:
source scripts/lib/nginx-replicas.sh

for i in $(seq 1 "$ITEMS"); do echo "Once upon a time, in story number $i,"; done >"$work/in.txt"
job=(batch --input "$work/in.txt" --max-tokens "$TOKENS" --temperature 0.8 --top-k 40 --seed 1 --quiet)

serve() {  # serve PORT: a server of MODEL on PORT, waited for
    "$SMALLMIND" serve --model "$MODEL" --port "$1" --max-batch "$CONCURRENCY" 2>"$work/serve-$1.log" &
    pids+=($!)
    for _ in $(seq 1 300); do curl -sf "http://127.0.0.1:$1/health" >/dev/null && return; sleep 0.1; done
    echo "error: the server on port $1 did not start"; cat "$work/serve-$1.log"; exit 1
}
stop_servers() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    [ -f "$work/nginx.pid" ] && kill "$(cat "$work/nginx.pid")" 2>/dev/null && sleep 0.5 || true
    wait 2>/dev/null || true
    pids=()
}
# "128 items in 4.2 s (30.5 items/s, 1950 tokens/s)" → "30.5 1950"
rates() { sed -n 's/.* items in .*(\([0-9.]*\) items\/s, \([0-9.]*\) tokens\/s).*/\1 \2/p' "$1" | tail -n 1; }

echo "model $MODEL, $ITEMS prompts x $TOKENS tokens, $CONCURRENCY in flight per server"
"$SMALLMIND" "${job[@]}" --model "$MODEL" --concurrency "$CONCURRENCY" --output "$work/local.jsonl" 2>"$work/local.err" || { cat "$work/local.err"; exit 1; }
local_rates=$(rates "$work/local.err")

serve $((PORT + 1))
"$SMALLMIND" "${job[@]}" --server "http://127.0.0.1:$((PORT + 1))" --concurrency "$CONCURRENCY" --output "$work/one.jsonl" 2>"$work/one.err" || { cat "$work/one.err"; exit 1; }
one_rates=$(rates "$work/one.err")
stop_servers

serve $((PORT + 1))
serve $((PORT + 2))
sed -e "s/127.0.0.1:8081/127.0.0.1:$((PORT + 1))/; s/127.0.0.1:8082/127.0.0.1:$((PORT + 2))/; s/listen 127.0.0.1:8080/listen 127.0.0.1:$PORT/" \
    deploy/nginx.conf >"$work/nginx.conf"
"$NGINX" -c "$work/nginx.conf" -p "$work/"
for _ in $(seq 1 50); do curl -sf "http://127.0.0.1:$PORT/health" >/dev/null && break; sleep 0.1; done
# One URL for two servers: twice the requests in flight, so each server gets as many as alone.
"$SMALLMIND" "${job[@]}" --server "http://127.0.0.1:$PORT" --concurrency $((2 * CONCURRENCY)) --output "$work/nginx.jsonl" 2>"$work/nginx.err" || { cat "$work/nginx.err"; exit 1; }
nginx_rates=$(rates "$work/nginx.err")
stop_servers

python3 - "$work" "$local_rates" "$one_rates" "$nginx_rates" <<'PY'
import json, sys
work, runs = sys.argv[1], {"local": sys.argv[2], "one server": sys.argv[3], "two servers, nginx": sys.argv[4]}
def lines(name):
    out = []
    for line in open(f"{work}/{name}.jsonl"):
        record = json.loads(line)
        record.pop("seconds", None)
        out.append(record)
    return out
same = lines("local") == lines("one") == lines("nginx")
base = float(runs["local"].split()[0])
print(f"{'way':<20} {'items/s':>9} {'tokens/s':>9} {'vs local':>9}")
for way, rates in runs.items():
    items, tokens = (float(x) for x in rates.split())
    print(f"{way:<20} {items:>9.2f} {tokens:>9.1f} {items / base:>8.0%}")
print("outputs identical (timing aside):", "yes" if same else "NO")
sys.exit(0 if same else 1)
PY
