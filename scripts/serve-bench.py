#!/usr/bin/env python3
"""Load benchmark of OpenAI-compatible servers: `smallmind serve` and llama.cpp's `llama-server`
side by side, in the same run, on the same GGUF (issue 14's performance criteria).

Start the servers yourself (loopback only), for example:

    .build/release/smallmind serve --model M.gguf --alias m --port 8080 --max-batch 32
    llama-server -m M.gguf --port 8081 -np 32 --cont-batching -c $((32 * 1024))

then:

    python3 scripts/serve-bench.py --server smallmind=http://127.0.0.1:8080 \\
        --server llama=http://127.0.0.1:8081 --clients 1 8 32

For each server and each client count it runs that many streaming clients at once, each sending
--requests requests of a 16-64-token prompt (`/v1/completions`, 64 generated tokens, the same
prompts and seeds for every server), and prints aggregate generated tokens per second, time to
first token p50/p99 and inter-token latency p50/p99. Token counts come from each response's usage
chunk (or the chunk count when a server sends none). Runs are interleaved server by server at each
client count, so that the machine's other load touches both alike. Do not run it on a shared
machine and read much into the figures.
"""
import argparse
import json
import random
import statistics
import threading
import time
import http.client
import urllib.parse

WORDS = ("the a cat dog house river mountain story small large quick slow red blue green old new day night "
         "light dark water fire stone tree bird song king queen road city sea sky star moon sun wind rain").split()


def prompts(count, seed=1234):
    rng = random.Random(seed)
    # Roughly one token per word for these common words: 16-64 tokens.
    return [" ".join(rng.choice(WORDS) for _ in range(rng.randint(16, 64))) for _ in range(count)]


def percentile(values, p):
    if not values:
        return float("nan")
    values = sorted(values)
    k = (len(values) - 1) * p / 100
    lo, hi = int(k), min(int(k) + 1, len(values) - 1)
    return values[lo] + (values[hi] - values[lo]) * (k - lo)


def one_request(base, model, prompt, seed, max_tokens, results, lock):
    body = {"prompt": prompt, "max_tokens": max_tokens, "temperature": 1.0, "seed": seed, "stream": True,
            "stream_options": {"include_usage": True}}
    if model:
        body["model"] = model
    url = urllib.parse.urlparse(base)
    # A connection per request: the standard library's, so the script needs nothing installed.
    connection = http.client.HTTPConnection(url.hostname, url.port, timeout=600)
    start = time.perf_counter()
    arrivals, tokens = [], None
    connection.request("POST", "/v1/completions", json.dumps(body), {"Content-Type": "application/json"})
    response = connection.getresponse()
    if response.status != 200:
        raise RuntimeError(f"{base}: HTTP {response.status}: {response.read()[:200]!r}")
    for raw in response:
        line = raw.decode().strip()
        if not line.startswith("data: ") or line == "data: [DONE]":
            continue
        chunk = json.loads(line[6:])
        if chunk.get("usage"):
            tokens = chunk["usage"]["completion_tokens"]
        if any(c.get("text") for c in chunk.get("choices", [])):
            arrivals.append(time.perf_counter())
    connection.close()
    with lock:
        results.append((start, arrivals, tokens if tokens is not None else len(arrivals)))


def run(base, model, clients, requests_per_client, max_tokens, prompt_seed):
    texts = prompts(clients * requests_per_client, prompt_seed)
    results, lock = [], threading.Lock()

    def worker(index):
        for r in range(requests_per_client):
            i = index * requests_per_client + r
            one_request(base, model, texts[i], 1000 + i, max_tokens, results, lock)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(clients)]
    wall = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - wall
    ttft = [arrivals[0] - start for start, arrivals, _ in results if arrivals]
    itl = [b - a for _, arrivals, _ in results for a, b in zip(arrivals, arrivals[1:])]
    generated = sum(tokens for _, _, tokens in results)
    return {"tok_s": generated / wall, "ttft_p50": percentile(ttft, 50), "ttft_p99": percentile(ttft, 99),
            "itl_p50": percentile(itl, 50), "itl_p99": percentile(itl, 99), "generated": generated}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--server", action="append", required=True, help="NAME=URL (repeatable)")
    parser.add_argument("--model", default="", help="the model id to send (default: none)")
    parser.add_argument("--clients", type=int, nargs="+", default=[1, 8, 32])
    parser.add_argument("--requests", type=int, default=2, help="requests per client")
    parser.add_argument("--max-tokens", type=int, default=64)
    parser.add_argument("--prompt-seed", type=int, default=1234,
                        help="seed of the random prompts; give each run its own: servers that keep earlier prompts' "
                             "KV (llama-server's --cache-ram, smallmind's slots) would otherwise skip their prefill")
    args = parser.parse_args()
    servers = [s.split("=", 1) for s in args.server]
    print(f"{'server':<12}{'clients':>8}{'tok/s':>10}{'TTFT p50':>11}{'TTFT p99':>11}{'ITL p50':>10}{'ITL p99':>10}")
    for clients in args.clients:
        for name, base in servers:
            # Every client count its own prompts, the same for every server.
            r = run(base.rstrip("/"), args.model, clients, args.requests, args.max_tokens, args.prompt_seed + clients)
            print(f"{name:<12}{clients:>8}{r['tok_s']:>10.1f}{r['ttft_p50'] * 1000:>9.0f}ms{r['ttft_p99'] * 1000:>9.0f}ms"
                  f"{r['itl_p50'] * 1000:>8.1f}ms{r['itl_p99'] * 1000:>8.1f}ms", flush=True)


if __name__ == "__main__":
    main()
