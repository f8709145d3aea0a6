#!/usr/bin/env bash
# Two `smallmind serve` replicas behind nginx (deploy/nginx.conf) on loopback: sends streaming and
# non-streaming requests through nginx, then shows from each replica's /metrics that both served.
# Installs Debian's nginx when it is missing. Usage: scripts/scale-out-check.sh [smallmind binary]
set -euo pipefail
cd "$(dirname "$0")/.."
SMALLMIND=${1:-.build/debug/smallmind}
[ -x "$SMALLMIND" ] || { echo "error: $SMALLMIND is not built (swift build)"; exit 1; }
# nginx (installed if missing), $work, $pids and their cleanup on exit:
source scripts/lib/nginx-replicas.sh

for port in 8081 8082; do
    "$SMALLMIND" serve --port "$port" --alias demo --max-batch 4 2>"$work/replica-$port.log" &
    pids+=($!)
done
for port in 8081 8082; do
    for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$port/health" >/dev/null && break; sleep 0.1; done
    curl -sf "http://127.0.0.1:$port/health" >/dev/null || { echo "FAIL: replica $port did not start"; cat "$work/replica-$port.log"; exit 1; }
done
"$NGINX" -c "$PWD/deploy/nginx.conf" -p "$work/"
for _ in $(seq 1 50); do curl -sf http://127.0.0.1:8080/health >/dev/null && break; sleep 0.1; done

failures=0
for i in $(seq 1 8); do
    body=$(curl -sf http://127.0.0.1:8080/v1/completions -H 'Content-Type: application/json' \
        -d "{\"prompt\":\"Hello $i\",\"max_tokens\":8,\"seed\":$i}") || { echo "FAIL: request $i"; failures=$((failures + 1)); continue; }
    echo "$body" | grep -q '"object":"text_completion"' || { echo "FAIL: request $i: $body"; failures=$((failures + 1)); }
    stream=$(curl -sfN http://127.0.0.1:8080/v1/chat/completions -H 'Content-Type: application/json' \
        -d "{\"messages\":[{\"role\":\"user\",\"content\":\"Hi $i\"}],\"max_tokens\":8,\"stream\":true}") \
        || { echo "FAIL: stream $i"; failures=$((failures + 1)); continue; }
    echo "$stream" | tail -n 2 | grep -q '^data: \[DONE\]$' || { echo "FAIL: stream $i did not end with [DONE]"; failures=$((failures + 1)); }
done

for port in 8081 8082; do
    served=$(curl -sf "http://127.0.0.1:$port/metrics" | awk '/^smallmind_http_requests_total\{endpoint="\/v1\/(chat\/)?completions",status="200"\}/ { n += $2 } END { print n + 0 }')
    echo "replica $port served $served generation requests"
    [ "$served" -gt 0 ] || { echo "FAIL: replica $port served nothing"; failures=$((failures + 1)); }
done
if [ "$failures" -eq 0 ]; then echo "scale-out check: passed"; else echo "scale-out check: $failures failures"; exit 1; fi
