#!/usr/bin/python3
"""gpt_torch.py: the PyTorch twin of examples/names.nn (a makemore-style
character GPT: 4 pre-norm blocks of 4-head causal attention and a tanh-GELU
MLP, width 64, context 16, an untied bias-free output head), for
bench/torch_bench.py's "gpt" figures and for comparing training runs with
nnc's.

  step [B]        time one training step (forward, cross-entropy, backward,
                  clip_grad_norm_(1), AdamW) at batch B (default 32) on
                  random ids, as nnc bench --train does: prints
                  gpt_train_step_b32_us
  gemms           time the step's matrix products alone at batch 32 (the
                  list of kernels/gptstep_bench_test.go, whose Go
                  benchmark BenchmarkGPTStepGemms times nnc's kernel on it):
                  prints gpt_step_gemms_b32_us and its GFLOP/s, the part
                  of the step no fusion removes, then the same without
                  attention's per-head products (gpt_step_gemms_linear)
  train [EPOCHS]  train on /usr/share/dict/words as nnc run
                  examples/names.nn does (text(): ids are ranks of the
                  sorted distinct characters, sample i is ids [16i, 16i+16)
                  and its target the ids one further; batches of 32,
                  shuffled each epoch; AdamW(lr 5e-4, weight decay 0.01),
                  clip_grad_norm 1): prints each epoch's mean batch loss,
                  the final loss over all samples, and the peak RSS
  --save FILE     with train: write the initial state_dict there first
                  (safetensors), so that nnc run --init FILE starts from the
                  same weights

Threads: TORCH_THREADS (default 1), as torch_bench.py.
Usage: /usr/bin/python3 bench/gpt_torch.py step [B] | gemms | train [EPOCHS] [--save F] [--seed S]
"""
import math, os, resource, sys, time

import torch
import torch.nn as nn
import torch.nn.functional as F

VOCAB, D, HEADS, CTX = 80, 64, 4, 16
LAYERS, BATCH = 4, 32
# The floating-point operations of a training step at batch 32, counting
# the matrix products only (2 per multiply-add; the backward pass twice the
# forward's): per position and layer q, k, v and the projection (4·d²), the
# MLP (2·d·4d) and attention's q kᵀ and p v over all T keys (2·T·d), then
# the head (d·V). About 0.645 GFLOP.
STEP_FLOP = 3 * BATCH * CTX * (LAYERS * 2 * (4 * D * D + 2 * D * 4 * D + 2 * CTX * D) + 2 * D * VOCAB)
WORDS = "/usr/share/dict/words"

# The matrix products of one training step at batch 32 (512 positions),
# as kernels/gptstep_bench_test.go's gptStepProducts lists them: m, n, k,
# whether A and B are transposed (A is k×m, B n×k), and how many a step
# runs. Per block, q, k, v, proj, fc and out run x·Wᵀ forward, dy·W and
# dyᵀ·x backward; attention's 16×16×16 products (q kᵀ, p v; dy vᵀ, pᵀ dy,
# ds k, dsᵀ q) are counted per head, 128 heads a block, and run here as
# the model runs them, one bmm over the 128 heads.
GEMMS = [
    (512, 64, 64, False, True, 16), (512, 256, 64, False, True, 4),
    (512, 64, 256, False, True, 4), (512, 80, 64, False, True, 1),
    (512, 64, 64, False, False, 16), (512, 64, 256, False, False, 4),
    (512, 256, 64, False, False, 4), (512, 64, 80, False, False, 1),
    (64, 64, 512, True, False, 16), (256, 64, 512, True, False, 4),
    (64, 256, 512, True, False, 4), (80, 64, 512, True, False, 1),
    (16, 16, 16, False, True, 2 * 4 * 128), (16, 16, 16, False, False, 2 * 4 * 128),
    (16, 16, 16, True, False, 2 * 4 * 128),
]
assert sum(2 * m * n * k * c for m, n, k, _, _, c in GEMMS) == STEP_FLOP


class Block(nn.Module):
    def __init__(self, d, heads):
        super().__init__()
        self.heads = heads
        self.ln1 = nn.LayerNorm(d)
        self.q = nn.Linear(d, d)
        self.k = nn.Linear(d, d)
        self.v = nn.Linear(d, d)
        self.proj = nn.Linear(d, d)
        self.ln2 = nn.LayerNorm(d)
        self.fc = nn.Linear(d, 4 * d)
        self.out = nn.Linear(4 * d, d)
        self.register_buffer("mask", torch.tril(torch.ones(CTX, CTX)), persistent=False)

    def forward(self, x):
        n, t, d = x.shape
        h = self.ln1(x)
        split = lambda y: y.reshape(n, t, self.heads, d // self.heads).transpose(1, 2)
        # torch 1.13 has no F.scaled_dot_product_attention: written out,
        # as makemore does.
        q, k, v = split(self.q(h)), split(self.k(h)), split(self.v(h))
        s = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(d // self.heads))
        s = s.masked_fill(self.mask[:t, :t] == 0, float("-inf"))
        a = F.softmax(s, dim=-1) @ v
        x = x + self.proj(a.transpose(1, 2).reshape(n, t, d))
        return x + self.out(F.gelu(self.fc(self.ln2(x)), approximate="tanh"))


class Names(nn.Module):
    def __init__(self, vocab=VOCAB, d=D, heads=HEADS, ctx=CTX):
        super().__init__()
        self.tok = nn.Embedding(vocab, d)
        self.pos = nn.Embedding(ctx, d)
        self.b1, self.b2, self.b3, self.b4 = (Block(d, heads) for _ in range(4))
        self.ln = nn.LayerNorm(d)
        self.head = nn.Linear(d, vocab, bias=False)
        self.register_buffer("positions", torch.arange(ctx), persistent=False)

    def forward(self, x):
        h = self.tok(x) + self.pos(self.positions)
        h = self.b4(self.b3(self.b2(self.b1(h))))
        return self.head(self.ln(h))


def make_step(m, opt):
    def step(x, y):
        opt.zero_grad()
        logits = m(x)
        loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1))
        loss.backward()
        torch.nn.utils.clip_grad_norm_(m.parameters(), 1.0)
        opt.step()
        return loss
    return step


def optimizer(m):
    return torch.optim.AdamW(m.parameters(), lr=5e-4, weight_decay=0.01)


def step_time(batch, min_time=1.0):
    """Seconds per training step at this batch, after one warm-up step."""
    m = Names()
    step = make_step(m, optimizer(m))
    x = torch.randint(0, VOCAB, (batch, CTX))
    y = torch.randint(0, VOCAB, (batch, CTX))
    return per_call(lambda: step(x, y), min_time)


def per_call(fn, min_time=1.0):
    """Seconds per call of fn, over at least min_time after one warm-up."""
    fn()
    n, t0 = 0, time.perf_counter()
    while True:
        fn()
        n += 1
        dt = time.perf_counter() - t0
        if dt >= min_time:
            return dt / n


def gemms_time(min_time=1.0, heads_too=True):
    """Seconds for one step's matrix products (GEMMS), after a warm-up;
    without attention's per-head products unless heads_too."""
    heads = BATCH * HEADS
    calls = []
    for m, n, k, ta, tb, count in GEMMS:
        lead = (heads,) if m == CTX else ()
        a = torch.randn(*lead, *((k, m) if ta else (m, k)))
        b = torch.randn(*lead, *((n, k) if tb else (k, n)))
        a = a.transpose(-2, -1) if ta else a
        b = b.transpose(-2, -1) if tb else b
        c = torch.empty(*lead, m, n)
        if lead and heads_too:
            calls.append((torch.bmm, a, b, c, count // heads))
        elif lead:
            continue
        else:
            calls.append((torch.mm, a, b, c, count))

    def run():
        for f, a, b, c, count in calls:
            for _ in range(count):
                f(a, b, out=c)

    return per_call(run, min_time)


def words():
    text = open(WORDS, encoding="utf-8").read()
    vocab = sorted(set(text))
    rank = {c: i for i, c in enumerate(vocab)}
    ids = torch.tensor([rank[c] for c in text], dtype=torch.int64)
    n = (len(ids) - 1) // CTX
    x = ids[: n * CTX].reshape(n, CTX)
    y = ids[1 : n * CTX + 1].reshape(n, CTX)
    return x, y, len(vocab)


def safetensors_bytes(state):
    """The state_dict (float32 tensors) in the safetensors format, without
    the safetensors package (Debian has none)."""
    import json
    header, blobs, off = {}, [], 0
    for k in sorted(state):
        b = state[k].detach().contiguous().to(torch.float32).numpy().tobytes()
        header[k] = {"dtype": "F32", "shape": list(state[k].shape), "data_offsets": [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)
    return len(h).to_bytes(8, "little") + h + b"".join(blobs)


def train(epochs, save=None, seed=0, batch=32):
    torch.manual_seed(seed)
    m = Names()
    if save:
        with open(save, "wb") as f:
            f.write(safetensors_bytes(m.state_dict()))
    x, y, v = words()
    print(f"{len(x)} samples, vocabulary {v}, batch {batch}")
    step = make_step(m, optimizer(m))
    t0 = time.perf_counter()
    for e in range(epochs):
        perm = torch.randperm(len(x))
        losses = []
        for i in range(0, len(x), batch):
            b = perm[i : i + batch]
            losses.append(step(x[b], y[b]).item())
        print(f"epoch {e + 1}/{epochs}  loss {sum(losses) / len(losses):.6f}  ({time.perf_counter() - t0:.0f} s)", flush=True)
    with torch.no_grad():
        total = 0.0
        for i in range(0, len(x), 1024):
            logits = m(x[i : i + 1024])
            total += F.cross_entropy(logits.reshape(-1, logits.shape[-1]), y[i : i + 1024].reshape(-1), reduction="sum").item()
    print(f"train loss {total / (len(x) * CTX):.6f}")
    print(f"peak_rss_mib {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.1f}")


if __name__ == "__main__":
    torch.set_num_threads(int(os.environ.get("TORCH_THREADS", "1")))
    args = sys.argv[1:]
    if not args or args[0] in ("-h", "--help", "help") or args[0] not in ("step", "gemms", "train"):
        print(__doc__.strip())
        sys.exit(0 if args and args[0] in ("-h", "--help", "help") else 2)
    opts = {}
    rest = []
    i = 1
    while i < len(args):
        if args[i] in ("--save", "--seed"):
            opts[args[i][2:]] = args[i + 1]
            i += 2
        else:
            rest.append(args[i])
            i += 1
    if args[0] == "step":
        torch.manual_seed(0)
        b = int(rest[0]) if rest else 32
        print(f"gpt_train_step_b{b}_us {step_time(b) * 1e6:.1f} us")
    elif args[0] == "gemms":
        t = gemms_time()
        print(f"gpt_step_gemms_b{BATCH}_us {t * 1e6:.1f} us  ({STEP_FLOP / t / 1e9:.1f} GFLOP/s)")
        heads = sum(2 * m * n * k * c for m, n, k, _, _, c in GEMMS if m == CTX)
        t = gemms_time(heads_too=False)
        print(f"gpt_step_gemms_linear_b{BATCH}_us {t * 1e6:.1f} us  ({(STEP_FLOP - heads) / t / 1e9:.1f} GFLOP/s, without attention's per-head products)")
    else:
        train(int(rest[0]) if rest else 5, opts.get("save"), int(opts.get("seed", 0)))
