#!/usr/bin/env python3
"""Time to the first token of each turn of a 6-turn `smallmind chat`, with and without prefix reuse.

With reuse, a turn computes only the tokens the previous turn did not (its new user message and
the template's framing), so the last turn's first token should come about as fast as the first's;
without it (--no-prefix-reuse), every turn recomputes the whole history.

    swift build -c release --product smallmind
    scripts/chat_reuse_bench.py [--model PATH] [--rounds 3] [--threads N]

Runs alternate (reuse, no reuse) round by round; prints per-turn medians and the turn 6 / turn 1
ratio of each. Greedy decoding, so both runs hold the same conversation.
"""
import argparse, os, re, statistics, subprocess, sys

TURNS = [
    "Write a Python function that checks whether a number is prime.",
    "Now make it faster for large numbers.",
    "Add a docstring and type hints.",
    "Write three unit tests for it with pytest.",
    "How would I run those tests from the command line?",
    "Summarise what we built in one sentence.",
]

def seconds(text):
    value, unit = text.split()
    return float(value) / (1000 if unit == "ms" else 1)

def run(binary, model, threads, reuse, max_tokens):
    args = [binary, "chat", "--model", model, "--temperature", "0", "--max-tokens", str(max_tokens)]
    if threads: args += ["--threads", str(threads)]
    if not reuse: args.append("--no-prefix-reuse")
    out = subprocess.run(args, input="\n".join(TURNS) + "\n", capture_output=True, text=True, check=True)
    stats = [l for l in out.stderr.splitlines() if l.startswith("[")]
    ttft = [seconds(re.search(r"first token after ([\d.]+ m?s)", l).group(1)) for l in stats]
    prompt = [int(re.search(r"(\d+) prompt tokens", l).group(1)) for l in stats]
    cached = [int(re.search(r"(\d+) of them cached", l).group(1)) for l in stats]
    assert len(ttft) == len(TURNS), out.stderr
    return ttft, prompt, cached

def main():
    default_model = os.path.join(os.environ.get("SMALLMIND_MODELS") or os.path.expanduser("~/.cache/smallmind/models"),
                                 "qwen2.5-coder-0.5b-instruct-q4_k_m.gguf")
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", default=default_model)
    p.add_argument("--binary", default=os.path.join(os.path.dirname(__file__), "..", ".build", "release", "smallmind"))
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--threads", type=int, default=0)
    p.add_argument("--max-tokens", type=int, default=64)
    a = p.parse_args()
    if not os.path.exists(a.model): sys.exit(f"no model at {a.model}: run ../shared/tools/fetch_real_models.sh")
    if not os.path.exists(a.binary): sys.exit(f"no release build at {a.binary}: swift build -c release --product smallmind")
    run(a.binary, a.model, a.threads, True, 4)  # warm-up: page the model in
    results = {True: [], False: []}
    for r in range(a.rounds):
        for reuse in (True, False):
            results[reuse].append(run(a.binary, a.model, a.threads, reuse, a.max_tokens))
            print(f"round {r + 1} {'reuse   ' if reuse else 'no reuse'}: first token (s) "
                  + " ".join(f"{t:.3f}" for t in results[reuse][-1][0]), file=sys.stderr)
    prompts, cached = results[True][0][1], results[True][0][2]
    print("turn | prompt tokens | cached (reuse) | first token, reuse | first token, no reuse")
    print("---|---|---|---|---")
    med = {k: [statistics.median(run[0][t] for run in v) for t in range(len(TURNS))] for k, v in results.items()}
    for t in range(len(TURNS)):
        print(f"{t + 1} | {prompts[t]} | {cached[t]} | {med[True][t] * 1000:.0f} ms | {med[False][t] * 1000:.0f} ms")
    for k in (True, False):
        ratios = [run[0][5] / run[0][0] for run in results[k]]
        print(f"{'reuse' if k else 'no reuse'}: turn 6 / turn 1 = {statistics.median(ratios):.2f} (median of {len(ratios)} rounds: "
              + ", ".join(f"{x:.2f}" for x in ratios) + ")")

if __name__ == "__main__":
    main()
