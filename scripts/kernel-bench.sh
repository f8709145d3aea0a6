#!/usr/bin/env bash
# Kernel benchmark: our float32 matmul against numpy/OpenBLAS on the same shapes, in one run,
# alternating the two so that both see the same machine load. Prints GFLOP/s and our ratio.
# Usage: scripts/kernel-bench.sh [ROWS] [SHAPES] [THREADS]
set -euo pipefail
cd "$(dirname "$0")/.."
rows=${1:-1,8,32,128}
shapes=${2:-768x768,2048x768,768x2048,32000x768}
threads=${3:-2}
swift build -c release --product smallmind >/dev/null
ours=$(.build/release/smallmind bench-matmul --rows "$rows" --shapes "$shapes" --threads "$threads" --json)
# OpenBLAS picks a wrong kernel on some CPUs unless these are unset (see the environment notes).
theirs=$(env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python3 scripts/numpy_matmul.py "$rows" "$shapes" "$threads")
python3 - "$ours" "$theirs" <<'PY'
import json, sys
ours = {(r["rows"], r["outDim"], r["inDim"]): r for r in json.loads(sys.argv[1])}
print(f"{'rows':>4} {'shape':>11} {'ours GFLOP/s':>13} {'numpy GFLOP/s':>14} {'ratio':>6}")
for line in sys.argv[2].splitlines():
    t = json.loads(line); key = (t["rows"], t["outDim"], t["inDim"]); o = ours[key]
    print(f"{t['rows']:>4} {str(t['outDim'])+'x'+str(t['inDim']):>11} {o['gflops']:>13.1f} {t['gflops']:>14.1f} {o['gflops']/t['gflops']:>6.2f}")
PY
