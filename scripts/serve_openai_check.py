#!/usr/bin/env python3
"""Checks a running `smallmind serve` with the official `openai` Python client as the oracle.

Run by Tests/ExecutableTests/ServeCommandTests.swift (which starts the server), or by hand:

    smallmind serve --port 8080 --api-key k &
    python3 scripts/serve_openai_check.py --base-url http://127.0.0.1:8080 --api-key k --model demo basics

Checks (each prints one line; the exit status is 0 only if all pass):
  basics   models.list(); chat and completions, streamed and not, streaming equal to not;
           a wrong key raises AuthenticationError; bad requests raise BadRequestError;
           16 different seeded requests sent at once equal the same requests sent one by one.
  golden   greedy chat replies equal llama.cpp's `llama-server --jinja` (chat-real.json).
  cancel   10 streaming clients hang up mid-stream: within 2 s /metrics shows no active
           sequence, and a following request succeeds.
"""
import argparse
import concurrent.futures
import json
import sys
import time
import urllib.request

try:
    import openai
except ImportError:
    print("skip: the openai package is not installed (python3 -m pip install openai)")
    sys.exit(77)

failures = []


def check(condition, what):
    print(("ok   " if condition else "FAIL ") + what, flush=True)
    if not condition:
        failures.append(what)


def chat_text(client, model, messages, stream, **kw):
    if not stream:
        r = client.chat.completions.create(model=model, messages=messages, **kw)
        return r.choices[0].message.content, r.choices[0].finish_reason, r.usage
    parts, finish, usage, first_role = [], None, None, None
    for chunk in client.chat.completions.create(
            model=model, messages=messages, stream=True, stream_options={"include_usage": True}, **kw):
        if chunk.usage is not None:
            usage = chunk.usage
        for choice in chunk.choices:
            if first_role is None:
                first_role = choice.delta.role
            if choice.delta.content:
                parts.append(choice.delta.content)
            if choice.finish_reason:
                finish = choice.finish_reason
    assert first_role == "assistant", "the first delta carries the role"
    return "".join(parts), finish, usage


def completion_text(client, model, prompt, stream, **kw):
    if not stream:
        r = client.completions.create(model=model, prompt=prompt, **kw)
        return r.choices[0].text, r.choices[0].finish_reason
    parts, finish = [], None
    for chunk in client.completions.create(model=model, prompt=prompt, stream=True, **kw):
        for choice in chunk.choices:
            parts.append(choice.text)
            if choice.finish_reason:
                finish = choice.finish_reason
    return "".join(parts), finish


def basics(args, client):
    ids = [m.id for m in client.models.list()]
    check(ids == [args.model], f"models.list() lists the served model: {ids}")

    messages = [{"role": "user", "content": "Hi there"}]
    whole = chat_text(client, args.model, messages, False, max_tokens=20, temperature=0.8, seed=11)
    streamed = chat_text(client, args.model, messages, True, max_tokens=20, temperature=0.8, seed=11)
    check(whole[0] == streamed[0] and whole[1] == streamed[1], "a streamed chat equals the same chat not streamed")
    check(whole[2].completion_tokens == streamed[2].completion_tokens == 20 and whole[1] == "length",
          "chat usage counts the tokens; max_tokens ends it with 'length'")

    whole = completion_text(client, args.model, "Once upon", False, max_tokens=24, seed=5)
    streamed = completion_text(client, args.model, "Once upon", True, max_tokens=24, seed=5)
    check(whole == streamed and len(whole[0]) > 0, "a streamed completion equals the same completion not streamed")

    wrong = openai.OpenAI(base_url=args.base_url + "/v1", api_key="wrong-" + (args.api_key or "key"), max_retries=0)
    if args.api_key:
        try:
            wrong.models.list()
            check(False, "a wrong key raises AuthenticationError")
        except openai.AuthenticationError:
            check(True, "a wrong key raises AuthenticationError")

    for name, kw in [("n=2", {"n": 2}), ("presence_penalty", {"presence_penalty": 1.0}),
                     ("temperature out of range", {"temperature": 7})]:
        try:
            client.chat.completions.create(model=args.model, messages=messages, max_tokens=2, **kw)
            check(False, f"{name} raises BadRequestError")
        except openai.BadRequestError as error:
            check(True, f"{name} raises BadRequestError ({error.body.get('param') if isinstance(error.body, dict) else ''})")
    try:
        client.chat.completions.create(model="no-such-model", messages=messages, max_tokens=2)
        check(False, "an unknown model raises NotFoundError")
    except openai.NotFoundError:
        check(True, "an unknown model raises NotFoundError")

    # Batch invariance through HTTP: 16 different seeded requests at once equal each run alone.
    requests = [([{"role": "user", "content": f"Say {i}"}], 1000 + i, 8 + i) for i in range(16)]
    alone = [chat_text(client, args.model, m, False, max_tokens=n, temperature=1.0, seed=s)[0] for m, s, n in requests]
    with concurrent.futures.ThreadPoolExecutor(max_workers=16) as pool:
        together = list(pool.map(
            lambda r: chat_text(client, args.model, r[0], r[0][0]["content"].endswith(("1", "3", "5", "7", "9")),
                                max_tokens=r[2], temperature=1.0, seed=r[1])[0], requests))
    check(alone == together, "16 concurrent seeded requests (half of them streamed) equal the same requests run alone")
    check(len(set(alone)) > 1, "the 16 requests differ from each other")


def golden(args, client):
    with open(args.golden) as f:
        conversations = json.load(f)["conversations"]
    for number, conversation in enumerate(conversations):
        messages = [{"role": "system", "content": conversation["system"]}] if conversation["system"] else []
        for turn, (user, expected) in enumerate(zip(conversation["user_turns"], conversation["replies"])):
            messages.append({"role": "user", "content": user})
            r = client.chat.completions.create(
                model=args.model, messages=messages, temperature=0, max_tokens=conversation["max_tokens"])
            reply = r.choices[0].message.content
            check(reply == expected["content"] and r.choices[0].finish_reason == expected["finish_reason"]
                  and r.usage.prompt_tokens == expected["prompt_tokens"],
                  f"conversation {number} turn {turn}: {reply!r} equals llama-server's {expected['content']!r}")
            messages.append({"role": "assistant", "content": reply})


def active_sequences(args):
    with urllib.request.urlopen(args.base_url + "/metrics", timeout=10) as response:
        for line in response.read().decode().splitlines():
            if line.startswith("smallmind_active_sequences "):
                return float(line.split()[1])
    return None


def cancel(args, client):
    streams = []
    for i in range(10):
        stream = client.chat.completions.create(
            model=args.model, messages=[{"role": "user", "content": f"Count from {i} to 500, one number per line."}],
            max_tokens=400, temperature=0, stream=True)
        for chunk in stream:  # mid-stream: the first generated text has arrived
            if chunk.choices and chunk.choices[0].delta.content:
                break
        streams.append(stream)
    check(active_sequences(args) > 0, "the streams are generating")
    for stream in streams:
        stream.close()
    closed = time.monotonic()
    while active_sequences(args) != 0 and time.monotonic() - closed < 2:
        time.sleep(0.05)
    elapsed = time.monotonic() - closed
    check(active_sequences(args) == 0, f"within 2 s of 10 clients hanging up, /metrics shows no active sequence ({elapsed:.2f} s)")
    text, finish = completion_text(client, args.model, "Hello", False, max_tokens=4)
    check(finish in ("length", "stop"), "a request after the cancellations succeeds")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--base-url", required=True)
    parser.add_argument("--api-key", default="")
    parser.add_argument("--model", required=True)
    parser.add_argument("--golden")
    parser.add_argument("checks", nargs="+", choices=["basics", "golden", "cancel"])
    args = parser.parse_args()
    client = openai.OpenAI(base_url=args.base_url + "/v1", api_key=args.api_key or "none", max_retries=0, timeout=600)
    for name in args.checks:
        {"basics": basics, "golden": golden, "cancel": cancel}[name](args, client)
    print(f"{len(failures)} failed" if failures else "all passed")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
