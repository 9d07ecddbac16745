#!/usr/bin/python3
"""torch_sample.py: PyTorch's forward-per-token sampling loop on the model
of bench/models/gpt_sample.nn (makemore's GPT: 4 blocks, 4 heads, width
64, context 16, 27 characters), the peer of nnc sample in
bench/sample_compare.py.

The loop is makemore's generate(): keep the last 16 ids, run the whole
model over them, take the last position's logits, softmax, draw one id with
torch.multinomial, append. Weights are random (torch.manual_seed(0)):
speed does not depend on them. For each length given (default 200 and 15)
it generates from a newline, at batch 1, ROUNDS times (default 5) and
prints the median processor time per character as `torch_N_us_per_char X`
(time.process_time: user and system, which a machine shared with other
work inflates less than the wall clock; one thread, as TORCH_THREADS=1 and
OPENBLAS_NUM_THREADS=1 give).

Needs PyTorch; Debian's: apt-get install -y python3-torch.
Usage: /usr/bin/python3 bench/torch_sample.py [ROUNDS] [N...]
"""
import math, os, statistics, sys, time

if any(a in ("-h", "-help", "--help") for a in sys.argv[1:]):
    print(__doc__.strip())
    sys.exit(0)
try:
    import torch, torch.nn as nn
    from torch.nn import functional as F
except ImportError:
    sys.exit("torch_sample.py: PyTorch is not installed for this Python (Debian: apt-get install -y python3-torch)")

torch.set_num_threads(int(os.environ.get("TORCH_THREADS", "1")))
torch.manual_seed(0)
args = [int(a) for a in sys.argv[1:]]
rounds = args[0] if args else 5
lengths = args[1:] or [200, 15]
VOCAB, D, HEADS, CTX, LAYERS = 27, 64, 4, 16, 4


class Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.ln1, self.ln2 = nn.LayerNorm(D), nn.LayerNorm(D)
        self.q, self.k, self.v, self.proj = nn.Linear(D, D), nn.Linear(D, D), nn.Linear(D, D), nn.Linear(D, D)
        self.fc, self.out = nn.Linear(D, 4 * D), nn.Linear(4 * D, D)
        self.register_buffer("mask", torch.tril(torch.ones(CTX, CTX)).view(1, 1, CTX, CTX))

    def forward(self, x):
        n, t, _ = x.shape
        h = self.ln1(x)
        split = lambda y: y.view(n, t, HEADS, D // HEADS).transpose(1, 2)
        # makemore's CausalSelfAttention (torch 1.13 has no fused one).
        q, k, v = split(self.q(h)), split(self.k(h)), split(self.v(h))
        att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(D // HEADS))
        att = F.softmax(att.masked_fill(self.mask[:, :, :t, :t] == 0, float("-inf")), dim=-1)
        a = att @ v
        x = x + self.proj(a.transpose(1, 2).reshape(n, t, D))
        return x + self.out(F.gelu(self.fc(self.ln2(x)), approximate="tanh"))


class GPT(nn.Module):
    def __init__(self):
        super().__init__()
        self.tok, self.pos = nn.Embedding(VOCAB, D), nn.Embedding(CTX, D)
        self.blocks = nn.Sequential(*[Block() for _ in range(LAYERS)])
        self.ln, self.head = nn.LayerNorm(D), nn.Linear(D, VOCAB, bias=False)

    def forward(self, idx):
        t = idx.shape[1]
        h = self.tok(idx) + self.pos(torch.arange(t))
        return self.head(self.ln(self.blocks(h)))


model = GPT().eval()


@torch.no_grad()
def generate(n):
    idx = torch.zeros((1, 1), dtype=torch.long)  # the newline, id 0
    for _ in range(n):
        cond = idx if idx.size(1) <= CTX else idx[:, -CTX:]
        logits = model(cond)[:, -1, :]
        nxt = torch.multinomial(F.softmax(logits, dim=-1), num_samples=1)
        idx = torch.cat((idx, nxt), dim=1)
    return idx


generate(20)  # warm-up
for n in lengths:
    times = []
    for _ in range(rounds):
        t0 = time.process_time()
        generate(n)
        times.append((time.process_time() - t0) / n)
    print(f"torch_{n}_us_per_char {statistics.median(times) * 1e6:.2f}")
