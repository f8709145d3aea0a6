#!/usr/bin/env python3
"""numpy (OpenBLAS) float32 GFLOP/s for y = x @ W.T on the shapes `smallmind bench-matmul` uses.

Usage: numpy_matmul.py ROWS SHAPES THREADS   e.g. numpy_matmul.py 1,8,32,128 768x768,2048x768 2
Prints one JSON object per line: rows, outDim, inDim, seconds, gflops (median of 5 timings).
"""
import json, os, sys, time

rows = [int(r) for r in sys.argv[1].split(",")]
shapes = [tuple(int(v) for v in s.split("x")) for s in sys.argv[2].split(",")]
threads = sys.argv[3] if len(sys.argv) > 3 else "2"
os.environ["OPENBLAS_NUM_THREADS"] = threads
import numpy as np  # noqa: E402  (after the thread setting)

for out_dim, in_dim in shapes:
    w = (np.arange(out_dim * in_dim, dtype=np.float32) % 13 * 0.01 - 0.06).reshape(out_dim, in_dim)
    for r in rows:
        x = (np.arange(r * in_dim, dtype=np.float32) % 17 * 0.01 - 0.08).reshape(r, in_dim)
        x @ w.T  # warm-up
        start = time.perf_counter(); x @ w.T; single = max(time.perf_counter() - start, 1e-7)
        iterations = max(1, int(0.05 / single))
        timings = []
        for _ in range(5):
            start = time.perf_counter()
            for _ in range(iterations):
                x @ w.T
            timings.append((time.perf_counter() - start) / iterations)
        seconds = sorted(timings)[len(timings) // 2]
        print(json.dumps({"rows": r, "outDim": out_dim, "inDim": in_dim, "seconds": seconds,
                          "gflops": 2 * r * out_dim * in_dim / seconds / 1e9}))
