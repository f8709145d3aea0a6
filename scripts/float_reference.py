#!/usr/bin/env python3
"""An independent float reference for the two real GGUF models the tests use (Qwen 2.5 Coder 0.5B,
qwen2; Gemma 3 270M, gemma3): a numpy forward pass in float64 over weights dequantized by gguf-py,
written from llama.cpp's model graphs (src/models/qwen2.cpp, gemma3.cpp) and nothing of ours.

It is the oracle of RealModelGoldenTests: this runtime with decoded-weight products
(`ForwardArithmetic.floatProducts`) must agree with it to float32 precision, and in its default
arithmetic (8-bit activations, as llama.cpp) be no farther from it than llama.cpp is.

usage: pip install gguf numpy
       python3 scripts/float_reference.py [qwen|gemma|all] [--dtype f64|f32|both] [--out FILE] [--q8act]
  Models from $SMALLMIND_MODELS (default ~/.cache/smallmind/models), cases from
  ../shared/golden/llamacpp-real.json. --q8act emulates the 8-bit activation rounding (Q8_0 /
  Q8_K) before products with quantized weights: a diagnostic, not the reference.

For every case of that model: one causal pass over prompt_tokens + llama.cpp's greedy tokens;
log-softmax at the positions that predict each step; per step the reference's log-probabilities
of llama.cpp's top-5 ids and the reference's own top-5. (Prompts are short: Gemma's 512-position
window never masks anything here, so it is applied but untested by these cases.)
"""
import json, math, sys, os, time
import numpy as np
import gguf

MODELS = os.path.join(os.environ.get("SMALLMIND_MODELS") or os.path.expanduser("~/.cache/smallmind/models"), "")
GOLDEN = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "shared", "golden", "llamacpp-real.json")


def field(r, key):
    f = r.fields.get(key)
    return None if f is None else f.contents()


def load(path, dtype, types=None):
    r = gguf.GGUFReader(path)
    W = {}
    for t in r.tensors:
        if types is not None:
            types[t.name] = t.tensor_type.name
        a = gguf.quants.dequantize(t.data, t.tensor_type)
        # GGUF dims innermost-first: dims [cols, rows] -> array (rows, cols)
        shape = tuple(int(x) for x in reversed(t.shape))
        a = np.asarray(a, dtype=np.float32).reshape(shape)
        W[t.name] = a.astype(dtype)
    return r, W


def q8_0(x):
    # llama.cpp quantize_row_q8_0 (blocks of 32 along the last axis), returned dequantized
    sh = x.shape
    b = x.astype(np.float32).reshape(-1, 32)
    amax = np.abs(b).max(axis=1, keepdims=True)
    d = amax / 127.0
    idv = np.where(amax > 0, 127.0 / np.where(amax > 0, amax, 1), 0).astype(np.float32)
    q = np.round(b * idv)
    return (q * d.astype(np.float16).astype(np.float32)).reshape(sh)


def q8_k(x):
    # llama.cpp quantize_row_q8_K_ref (blocks of 256), returned dequantized
    sh = x.shape
    b = x.astype(np.float32).reshape(-1, 256)
    i = np.abs(b).argmax(axis=1)
    mx = b[np.arange(len(b)), i][:, None]
    safe = np.where(mx != 0, mx, 1).astype(np.float32)
    iscale = (np.float32(-127.0) / safe).astype(np.float32)
    q = np.minimum(127, np.floor(iscale * b + 0.5))   # nearest_int: round half away... (ties negligible)
    d = (np.float32(1.0) / iscale).astype(np.float32)
    return np.where(mx != 0, q * d, 0).reshape(sh)


ACT_QUANT = {"Q5_0": q8_0, "Q8_0": q8_0, "Q4_0": q8_0, "Q4_K": q8_k, "Q6_K": q8_k, "Q5_K": q8_k}


def rms(x, w, eps):
    # x: (..., n) ; llama.cpp ggml_rms_norm then plain multiply by the weight
    m = np.mean(x * x, axis=-1, keepdims=True)
    return (x / np.sqrt(m + eps)) * w


def rope_neox(x, pos, base, dtype):
    # x: (T, H, d); pairs (i, i + d/2), theta_i = pos * base^(-2i/d)
    d = x.shape[-1]
    half = d // 2
    inv = base ** (-np.arange(half, dtype=np.float64) * 2.0 / d)
    ang = pos[:, None].astype(np.float64) * inv[None, :]          # (T, half)
    c = np.cos(ang).astype(dtype)[:, None, :]
    s = np.sin(ang).astype(dtype)[:, None, :]
    x0, x1 = x[..., :half], x[..., half:]
    return np.concatenate([x0 * c - x1 * s, x0 * s + x1 * c], axis=-1)


def attention(q, k, v, scale, window=None):
    # q (T, H, d), k/v (T, Hkv, d); causal; GQA: head h uses kv head h // (H/Hkv)
    T, H, d = q.shape
    Hkv = k.shape[1]
    g = H // Hkv
    out = np.empty((T, H, v.shape[-1]), dtype=q.dtype)
    mask = np.triu(np.ones((T, T), dtype=bool), 1)
    if window is not None:
        i = np.arange(T)
        mask |= (i[:, None] - i[None, :]) >= window
    for h in range(H):
        kh, vh = k[:, h // g, :], v[:, h // g, :]
        s = (q[:, h, :] @ kh.T) * scale                           # (T, T)
        s = np.where(mask, -np.inf, s)
        s = s - s.max(axis=-1, keepdims=True)
        p = np.exp(s)
        p = p / p.sum(axis=-1, keepdims=True)
        out[:, h, :] = p @ vh
    return out


def gelu_tanh(x):
    return 0.5 * x * (1.0 + np.tanh(math.sqrt(2.0 / math.pi) * x * (1.0 + 0.044715 * x * x)))


def silu(x):
    return x / (1.0 + np.exp(-x))


class Model:
    def __init__(self, name, dtype, q8act=False):
        self.dtype = dtype
        self.q8act = q8act
        self.types = {}
        self.r, self.W = load(MODELS + name, dtype, self.types)
        self.arch = field(self.r, "general.architecture")
        a = self.arch
        self.n_layer = int(field(self.r, f"{a}.block_count"))
        self.n_embd = int(field(self.r, f"{a}.embedding_length"))
        self.n_head = int(field(self.r, f"{a}.attention.head_count"))
        self.n_kv = int(field(self.r, f"{a}.attention.head_count_kv"))
        self.eps = float(field(self.r, f"{a}.attention.layer_norm_rms_epsilon"))
        self.base = float(field(self.r, f"{a}.rope.freq_base"))
        kl = field(self.r, f"{a}.attention.key_length")
        self.hd = int(kl) if kl is not None else self.n_embd // self.n_head

    def mm(self, x, name):
        """x (T, in) @ W[name].T; with q8act, x is first quantized as llama.cpp's vec_dot_type."""
        if self.q8act and self.types[name] in ACT_QUANT:
            x = ACT_QUANT[self.types[name]](x).astype(self.dtype)
        return x @ self.W[name].T

    def forward(self, tokens, collect=None):
        """logits (T, vocab) as float64. collect: optional dict receiving per-layer outputs."""
        dt = self.dtype
        W = self.W
        T = len(tokens)
        pos = np.arange(T)
        E = W["token_embd.weight"]
        x = E[np.array(tokens)].astype(dt)                          # (T, n_embd)
        H, Hkv, d = self.n_head, self.n_kv, self.hd
        gemma = self.arch == "gemma3"
        if gemma:
            x = x * dt(math.sqrt(self.n_embd))
        if collect is not None:
            collect["embd"] = x.copy()
        for l in range(self.n_layer):
            p = f"blk.{l}."
            h = rms(x, W[p + "attn_norm.weight"], self.eps)
            q = self.mm(h, p + "attn_q.weight")
            k = self.mm(h, p + "attn_k.weight")
            v = self.mm(h, p + "attn_v.weight")
            if p + "attn_q.bias" in W:
                q = q + W[p + "attn_q.bias"]
                k = k + W[p + "attn_k.bias"]
                v = v + W[p + "attn_v.bias"]
            q = q.reshape(T, H, d)
            k = k.reshape(T, Hkv, d)
            v = v.reshape(T, Hkv, d)
            if gemma:
                q = rms(q, W[p + "attn_q_norm.weight"], self.eps)
                k = rms(k, W[p + "attn_k_norm.weight"], self.eps)
                is_global = (l % 6 == 5)
                base = self.base if is_global else 10000.0
                window = None if is_global else 512
            else:
                base, window = self.base, None
            q = rope_neox(q, pos, base, dt)
            k = rope_neox(k, pos, base, dt)
            if gemma:
                q = q * dt(1.0 / math.sqrt(d))
                scale = 1.0
            else:
                scale = 1.0 / math.sqrt(d)
            a = attention(q, k, v, dt(scale), window).reshape(T, H * d)
            a = self.mm(a, p + "attn_output.weight")
            if gemma:
                a = rms(a, W[p + "post_attention_norm.weight"], self.eps)
            x = x + a
            h = rms(x, W[p + "ffn_norm.weight"], self.eps)
            g = self.mm(h, p + "ffn_gate.weight")
            u = self.mm(h, p + "ffn_up.weight")
            f = (gelu_tanh(g) if gemma else silu(g)) * u
            f = self.mm(f, p + "ffn_down.weight")
            if gemma:
                f = rms(f, W[p + "post_ffw_norm.weight"], self.eps)
            x = x + f
            if collect is not None:
                collect[f"l{l}"] = x.copy()
        x = rms(x, W["output_norm.weight"], self.eps)
        logits = self.mm(x, "output.weight" if "output.weight" in W else "token_embd.weight")
        return logits.astype(np.float64)


def log_softmax(z):
    z = z - z.max(axis=-1, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=-1, keepdims=True))


def run(model_key, dtypes, results, q8act=False):
    name = {"qwen": "qwen2.5-coder-0.5b-instruct-q4_k_m.gguf",
            "gemma": "gemma-3-270m-q4_k_m.gguf"}[model_key]
    cases = [c for c in json.load(open(GOLDEN))["cases"] if c["model"] == name]
    for dn in dtypes:
        dt = np.float64 if dn == "f64" else np.float32
        t0 = time.time()
        m = Model(name, dt, q8act)
        print(f"[{model_key} {dn}] loaded in {time.time()-t0:.1f}s", file=sys.stderr)
        for ci, c in enumerate(cases):
            P = c["prompt_tokens"]
            seq = P + c["tokens"]
            t0 = time.time()
            lp = log_softmax(m.forward(seq))
            steps = []
            for i, st in enumerate(c["steps"]):
                row = lp[len(P) - 1 + i]
                top5 = np.argsort(-row)[:5]
                steps.append({
                    "golden_ids": [int(t) for t, _ in st["top"]],
                    "ref_at_golden": [round(float(row[t]), 6) for t, _ in st["top"]],
                    "ref_top": [[int(t), round(float(row[t]), 6)] for t in top5],
                })
            results.setdefault(f"{model_key}/{ci}", {"model": name, "prompt": c["prompt"]})[dn + ("q8" if q8act else "")] = steps
            print(f"[{model_key} {dn}] case {ci} T={len(seq)} {time.time()-t0:.1f}s", file=sys.stderr)
        del m


if __name__ == "__main__":
    which = sys.argv[1] if len(sys.argv) > 1 else "all"
    dtypes = ["f64", "f32"]
    out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Tests", "SmallMindTests", "Fixtures",
                       "float-reference-real.json")
    args = sys.argv[2:]
    if "--dtype" in args:
        v = args[args.index("--dtype") + 1]
        dtypes = ["f64", "f32"] if v == "both" else [v]
    if "--out" in args:
        out = args[args.index("--out") + 1]
    results = json.load(open(out)) if os.path.exists(out) else {}
    for mk in (["qwen", "gemma"] if which == "all" else [which]):
        run(mk, dtypes, results, "--q8act" in args)
        json.dump(results, open(out, "w"))
    print("wrote", out, file=sys.stderr)
