#!/usr/bin/env python3
"""Compare `smallmind bench` across builds on a noisy machine: the builds take turns, round by round
(the starting build rotates), and each build's S_PP / S_TG are summarised per batch size as the
median of its round medians and its best round, each also as a ratio to the first build.

    scripts/bench-rotate.py MODEL ROUNDS BATCHES PP TG REPETITIONS BINARY [BINARY ...]
    scripts/bench-rotate.py /tmp/m110-q8_0.gguf 5 1,8,32 16 32 3 /tmp/before/smallmind .build/release/smallmind

Run it with the machine otherwise quiet; single rounds here spread about ±10 %, so a 3 % question
needs five or more rounds. The machine's speed also drifts between sets of rounds (a shared VM), which
moves medians of round medians by several per cent; the paired figure — each round's ratio to the first
build in the same round, then the median of those ratios, with a 95 % bootstrap interval over the
rounds — cancels that drift and is the one to quote. With REPETITIONS 1 and many rounds each pair of
runs is seconds apart. Used for the paged KV cache's figures against the slot build (README).
"""
import json
import random
import statistics
import subprocess
import sys

if len(sys.argv) < 9:
    sys.exit(__doc__)
model, rounds, batches, pp, tg, repetitions = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5], sys.argv[6]
binaries = sys.argv[7:]
results = {b: {} for b in binaries}
for r in range(rounds):
    for binary in binaries[r % len(binaries):] + binaries[:r % len(binaries)]:
        run = subprocess.run([binary, "bench", "--model", model, "--batch", batches, "--prompt-tokens", pp,
                              "--gen-tokens", tg, "--repetitions", repetitions, "--json"], capture_output=True, text=True)
        if run.returncode != 0:
            sys.exit(f"{binary} failed: {run.stderr.strip()}")
        for row in json.loads(run.stdout):
            results[binary].setdefault(row["b"], []).append((row["s_pp"], row["s_tg"]))
    print(f"round {r + 1} of {rounds} done", file=sys.stderr, flush=True)

def paired(ratios):
    """The median of the rounds' ratios and its 95 % bootstrap interval (resampled rounds, fixed seed)."""
    rng = random.Random(1)
    medians = sorted(statistics.median(rng.choices(ratios, k=len(ratios))) for _ in range(2000))
    return f"{statistics.median(ratios):.3f} [{medians[50]:.2f}-{medians[1949]:.2f}]"


first = binaries[0]
for b in sorted(results[first]):
    print(f"B={b}")
    base = results[first][b]
    base_pp, base_tg = statistics.median(x[0] for x in base), statistics.median(x[1] for x in base)
    best_pp, best_tg = max(x[0] for x in base), max(x[1] for x in base)
    for binary in binaries:
        rows = results[binary][b]
        pp_med, tg_med = statistics.median(x[0] for x in rows), statistics.median(x[1] for x in rows)
        pp_max, tg_max = max(x[0] for x in rows), max(x[1] for x in rows)
        print(f"  {binary}: S_TG median {tg_med:.1f} ({tg_med / base_tg:.3f}), best {tg_max:.1f} ({tg_max / best_tg:.3f}),"
              f" paired {paired([x[1] / y[1] for x, y in zip(rows, base)])} | S_PP median {pp_med:.0f} ({pp_med / base_pp:.3f}),"
              f" best {pp_max:.0f} ({pp_max / best_pp:.3f}), paired {paired([x[0] / y[0] for x, y in zip(rows, base)])}")
