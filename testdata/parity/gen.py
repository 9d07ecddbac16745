#!/usr/bin/python3
"""Generate PyTorch reference data for nnc's parity tests.

Run from anywhere with Debian's Python and PyTorch (apt-get install python3-torch;
the digits cases also need python3-sklearn for its digits.csv.gz):

    /usr/bin/python3 testdata/parity/gen.py

For every case below it (re)writes testdata/parity/<case>/ with

    model.nn           the model in the nnc language plus its train block
    train.csv          features f0..fK-1 and the target column "label"
    init.safetensors   the PyTorch module's initial state_dict
    final.safetensors  the state_dict after training (for weight comparisons)
    expected.json      per-epoch loss/accuracy (plus each batch's loss) and the
                       final evaluation

Before writing a case it checks model.nn against the PyTorch module (see
check_model_text). See README.md for what each case covers.

The output is deterministic: running the script twice gives identical files.
The float32 results depend on the BLAS that torch calls for Linear and
Conv2d (and on the CPU kernels): the script loads Debian's reference BLAS and
LAPACK (packages libblas3, liblapack3) itself, whatever the libblas.so.3
alternative points to, so that installing OpenBLAS changes nothing, and keeps
oneDNN off for all but two old cases (see generate).
"""

import copy
import ctypes
import gzip
import hashlib
import importlib.util
import json
import math
import os
import re
import struct
import sys
import sysconfig
import textwrap


def _load_reference_blas():
    """Load the reference BLAS/LAPACK before numpy and torch do: the dynamic
    loader then resolves their libblas.so.3 and liblapack.so.3 to these."""
    arch = sysconfig.get_config_var("MULTIARCH") or "x86_64-linux-gnu"
    libs = ["/usr/lib/%s/blas/libblas.so.3" % arch,
            "/usr/lib/%s/lapack/liblapack.so.3" % arch]
    for lib in libs:
        if not os.path.exists(lib):
            sys.exit("gen.py: %s is missing; apt-get install libblas3 "
                     "liblapack3 (the reference BLAS the data was made with)"
                     % lib)
        ctypes.CDLL(lib, mode=ctypes.RTLD_GLOBAL)
    return libs


REFERENCE_BLAS = _load_reference_blas()

import numpy as np  # noqa: E402 (after the BLAS)
import torch  # noqa: E402
import torch.nn as nn
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))


# ---------------------------------------------------------------------------
# PyTorch mirrors of the nnc models. Attribute names are the nnc layer names,
# so state_dict names are the nnc parameter names.
# ---------------------------------------------------------------------------

class MLP(nn.Module):  # case sgd_relu_ce
    def __init__(self, features, hid, classes):
        super().__init__()
        self.fc1 = nn.Linear(features, hid)
        self.fc2 = nn.Linear(hid, classes)

    def forward(self, x):
        h = F.relu(self.fc1(x))
        return self.fc2(h)


class Deep(nn.Module):  # case momentum_tanh_logsoftmax
    def __init__(self, features, hid, classes):
        super().__init__()
        self.fc1 = nn.Linear(features, hid * 2)
        self.fc2 = nn.Linear(hid * 2, hid)
        self.fc3 = nn.Linear(hid, classes)

    def forward(self, x):
        h = torch.tanh(self.fc1(x))
        h = torch.sigmoid(self.fc2(h))
        return F.log_softmax(self.fc3(h), dim=-1)


class Residual(nn.Module):  # LANGUAGE.md's Residual block
    def __init__(self, d):
        super().__init__()
        self.fc = nn.Linear(d, d)

    def forward(self, x):
        return F.relu(self.fc(x)) + x


class Regressor(nn.Module):  # case nesterov_residual_mse
    def __init__(self, features, hid):
        super().__init__()
        self.inp = nn.Linear(features, hid)
        self.block1 = Residual(hid)
        self.block2 = Residual(hid)
        self.head = nn.Linear(hid, 1)

    def forward(self, x):
        h = torch.tanh(self.inp(x))
        h = self.block2(self.block1(h))
        return self.head(h)


class GeluNet(nn.Module):  # case adam_gelu_bce
    def __init__(self, features, hid):
        super().__init__()
        self.fc1 = nn.Linear(features, hid, bias=False)
        self.fc2 = nn.Linear(hid, hid)
        self.out = nn.Linear(hid, 1)

    def forward(self, x):
        h = F.gelu(self.fc1(x))  # exact (erf) GELU
        h = torch.sigmoid(self.fc2(h)) * h
        return self.out(h)


class Gated(nn.Module):  # case adam_wd_elementwise
    def __init__(self, features, hid, classes):
        super().__init__()
        self.fc1 = nn.Linear(features, hid)
        self.gate = nn.Linear(features, hid, bias=False)
        self.fc2 = nn.Linear(hid, classes)

    def forward(self, x):
        n = x.shape[0]
        h = self.fc1(x)
        a = F.softmax(self.gate(x), dim=-1)
        h = h * (1.0 + a)
        c = h - torch.reshape(torch.mean(h, 1), (n, 1))
        s = torch.reshape(torch.sum(c * c, 1), (n, 1))
        h = c / (s * 0.1 + 1.0)
        h = -torch.sigmoid(h) * 2.0 + torch.tanh(h) / 2.0 + (1.0 - h) * 0.5
        return self.fc2(h)


class BMM(nn.Module):  # case adamw_matmul
    def __init__(self, features, rows, k, cols, classes):
        super().__init__()
        self.rows, self.k, self.cols = rows, k, cols
        self.left = nn.Linear(features, rows * k)
        self.right = nn.Linear(features, k * cols)
        self.vec = nn.Linear(features, k, bias=False)
        self.head1 = nn.Linear(rows * cols, classes)
        self.head2 = nn.Linear(rows, classes)

    def forward(self, x):
        n = x.shape[0]
        a = torch.reshape(self.left(x), (n, self.rows, self.k))
        b = torch.reshape(torch.tanh(self.right(x)), (n, self.k, self.cols))
        c = torch.flatten(a @ b, 1)
        c = c / (torch.reshape(torch.sum(c * c, -1), (n, 1)) + 1.0)
        v = torch.reshape(self.vec(x), (n, self.k, 1))
        d = torch.reshape(torch.matmul(a, v), (n, -1))
        return self.head1(c) + self.head2(d)


class Inner(nn.Module):  # case adamw_nested_bce
    def __init__(self, d):
        super().__init__()
        self.fc = nn.Linear(d, d, bias=False)

    def forward(self, x):
        return torch.tanh(self.fc(x))


class Block(nn.Module):
    def __init__(self, d):
        super().__init__()
        self.inner = Inner(d)
        self.proj = nn.Linear(d, d)

    def forward(self, x):
        return x + self.proj(self.inner(x)) * 0.5


class Classifier(nn.Module):
    def __init__(self, features, hid):
        super().__init__()
        self.embed = nn.Linear(features, hid)
        self.block = Block(hid)
        self.head = nn.Linear(hid, 1)

    def forward(self, x):
        h = F.relu(self.embed(x))
        h = self.block(h)
        return self.head(h)


class Wide(nn.Module):  # case sgd_wd_flatten_mse
    def __init__(self, features, hid):
        super().__init__()
        self.fc1 = nn.Linear(features, hid)
        self.fc2 = nn.Linear(hid, 1, bias=False)

    def forward(self, x):
        n = x.shape[0]
        h = torch.flatten(x, 1)
        h = F.gelu(self.fc1(h))
        h = torch.reshape(h, (n, -1))
        return self.fc2(h)


class StridePad(nn.Module):  # case conv_stride_pad
    def __init__(self, ch, classes):
        super().__init__()
        self.conv1 = nn.Conv2d(1, ch, 3, stride=2, padding=1)
        self.conv2 = nn.Conv2d(ch, 6, kernel_size=2)
        self.side = nn.Conv2d(1, 3, 4, stride=2, padding=0)
        self.fc1 = nn.Linear(6 * 3 * 3, classes)
        self.fc2 = nn.Linear(3 * 3 * 3, classes, bias=False)

    def forward(self, x):
        h = F.relu(self.conv1(x))
        h = F.relu(self.conv2(h))
        s = F.relu(self.side(x))
        return self.fc1(torch.flatten(h, 1)) + self.fc2(torch.flatten(s, 1))


class ConvPool(nn.Module):  # case conv_pool
    def __init__(self, c1, c2, classes):
        super().__init__()
        self.conv1 = nn.Conv2d(1, c1, 3, padding=1)
        self.conv2 = nn.Conv2d(c1, c2, 3, padding=1)
        self.pool = nn.MaxPool2d(2)
        self.pool2 = nn.MaxPool2d(2, stride=1)
        self.pool3 = nn.MaxPool2d(3, stride=2)
        self.fc1 = nn.Linear(c2 * 3 * 3, classes)
        self.fc2 = nn.Linear(c1, classes)

    def forward(self, x):
        a = F.relu(self.conv1(x))
        h = self.pool(a)
        h = self.pool2(F.relu(self.conv2(h)))
        s = self.pool(self.pool3(a))
        return self.fc1(torch.flatten(h, 1)) + self.fc2(torch.flatten(s, 1))


class ConvBN(nn.Module):  # case conv_batchnorm
    def __init__(self, ch, classes):
        super().__init__()
        self.conv = nn.Conv2d(1, ch, 3, padding=1, bias=False)
        self.bn = nn.BatchNorm2d(ch)
        self.pool = nn.MaxPool2d(2)
        self.fc = nn.Linear(ch * 4 * 4, classes)

    def forward(self, x):
        h = self.pool(F.relu(self.bn(self.conv(x))))
        return self.fc(torch.flatten(h, 1))


class MLPBN(nn.Module):  # case mlp_batchnorm
    def __init__(self, features, hid, classes):
        super().__init__()
        self.fc1 = nn.Linear(features, hid)
        self.bn = nn.BatchNorm1d(hid)
        self.fc2 = nn.Linear(hid, classes)

    def forward(self, x):
        return self.fc2(F.relu(self.bn(self.fc1(x))))


class ConvBlock(nn.Module):  # case conv_nested_bn
    def __init__(self, cin, cout):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, 3, padding=1, bias=False)
        self.bn = nn.BatchNorm2d(cout)

    def forward(self, x):
        return F.relu(self.bn(self.conv(x)))


class NestedBN(nn.Module):
    def __init__(self, ch, hid):
        super().__init__()
        self.block1 = ConvBlock(1, ch)
        self.block2 = ConvBlock(ch, ch)
        self.pool = nn.MaxPool2d(2)
        self.fc = nn.Linear(ch * 4 * 4, hid, bias=False)
        self.bn = nn.BatchNorm1d(hid)
        self.head = nn.Linear(hid, 1)

    def forward(self, x):
        n = x.shape[0]
        h = torch.reshape(x, (n, 1, 8, 8))
        h = self.pool(self.block1(h))
        h = self.block2(h) + h
        h = F.relu(self.bn(self.fc(torch.flatten(h, 1))))
        return self.head(h)


class TokenMLP(nn.Module):  # case token_mlp
    def __init__(self, vocab, d, hid):
        super().__init__()
        self.tok = nn.Embedding(vocab, d)
        self.norm = nn.LayerNorm(d)
        self.fc1 = nn.Linear(d, hid)
        self.fc2 = nn.Linear(hid, vocab)

    def forward(self, x):
        h = self.norm(self.tok(x))
        return self.fc2(F.relu(self.fc1(h)))


TOKEN_CORPUS = """\
the rain in the hills is not as thin as the sea air
a tall heron eats its toast on the shore at noon
she sent ten notes to the station on the hill
the latest train hints that rain is near the inlet
its rails sit in the tall nettles near the north shore
that tern is a sailor on a torn sail in the east
her sister rests on a stone near these nettles
"""


class TiedClip(nn.Module):  # case tied_clip
    def __init__(self, vocab, d):
        super().__init__()
        self.tok = nn.Embedding(vocab, d)
        self.fc = nn.Linear(d, vocab)
        self.head = nn.Linear(d, vocab)

    def forward(self, x):
        h = F.relu(self.fc(self.tok(x))) @ self.tok.weight  # tied: used twice
        return self.head(h)


# ONNX's Selu defaults, float32 values: torch's F.selu uses the exact
# constants, which differ from them by 4e-8 relative.
SELU_ALPHA, SELU_GAMMA = 1.67326319217681884765625, 1.05070102214813232421875


class OnnxOps(nn.Module):  # case onnx_ops
    """The ONNX operators as nnc's built-ins spell them (issue 13), written
    with torch's own functions."""
    def __init__(self, features, hid, classes):
        super().__init__()
        self.fc = nn.Linear(features, hid)
        self.slope = nn.Parameter(torch.rand(hid) * 0.5)
        self.out = nn.Linear(hid + hid // 2 + 3, classes)

    def forward(self, x):
        n = x.shape[0]
        h = self.fc(x)
        a = (torch.where(h < 0, self.slope * h, h) + F.softplus(h) * 0.5
             + F.hardswish(h) + torch.erf(h) + F.elu(h, alpha=0.5) + SELU_GAMMA
             * F.elu(h, alpha=SELU_ALPHA)
             + F.leaky_relu(h, 0.2) + torch.clamp(0.2 * h + 0.5, 0, 1)
             + F.softsign(h))
        b = (torch.sqrt(torch.exp(torch.clamp(h, -2, 2)))
             + torch.log(1 + torch.abs(h)) + torch.reciprocal(2 + torch.abs(h))
             + torch.pow(1 + torch.abs(h), 1.5))
        m = torch.where(a > a.mean(1, keepdim=True), a, b)
        c = torch.cat([m, torch.flip(b, [1])[:, ::2]], 1)
        d = F.pad(c, (1, 2), value=0.25)
        s = d.sum(1)
        return self.out(d) + s.reshape(n, 1).expand(n, 3) * 0.01


def onnx_builtins():
    """The evaluator's ONNX built-ins (issue 13), written from ONNX's
    operator definitions rather than the torch functions OnnxOps uses."""
    def _axes(t, axes):
        return list(range(t.dim())) if axes is None else \
            [a % t.dim() for a in axes]

    def reduce(f):
        def r(t, axes=None, keepdims=1):
            out = t
            for a in sorted(_axes(t, axes), reverse=True):
                out = f(out, a)
            if keepdims:
                shape = list(t.shape)
                for a in _axes(t, axes):
                    shape[a] = 1
                out = out.reshape(shape)
            return out
        return r

    def slice_(t, starts, ends, axes=None, steps=None):
        axes = list(range(len(starts))) if axes is None else axes
        steps = [1] * len(starts) if steps is None else steps
        for s, e, a, st in zip(starts, ends, axes, steps):
            d = t.shape[a]
            s, e = s + d if s < 0 else s, e + d if e < 0 else e
            if st > 0:
                s, e = min(max(s, 0), d), min(max(e, 0), d)
                idx = list(range(s, e, st))
            else:
                s, e = min(max(s, 0), d - 1), min(max(e, -1), d - 1)
                idx = list(range(s, e, st))
            t = t.index_select(a % t.dim(), torch.tensor(idx))
        return t

    def pad(t, pads, mode="constant", value=0.0):
        r = t.dim()
        flat = []
        for i in reversed(range(r)):
            flat += [pads[i], pads[r + i]]
        return F.pad(t, flat, value=value)

    def elu(t, alpha=1.0):
        return torch.where(t > 0, t, alpha * (torch.exp(t) - 1))

    return dict(
        exp=torch.exp, log=torch.log, sqrt=torch.sqrt, abs=torch.abs,
        erf=torch.erf, reciprocal=lambda t: 1 / t,
        softplus=lambda t: torch.log1p(torch.exp(-t.abs())) + t.clamp(min=0),
        softsign=lambda t: t / (1 + t.abs()),
        leaky_relu=lambda t, alpha=0.01: torch.where(t < 0, alpha * t, t),
        elu=elu,
        selu=lambda t, alpha=1.67326319217681884765625,
        gamma=1.05070102214813232421875: gamma * elu(t, alpha),
        hard_sigmoid=lambda t, alpha=0.2, beta=0.5:
            (alpha * t + beta).clamp(0, 1),
        hard_swish=lambda t: t * (t / 6 + 0.5).clamp(0, 1),
        clip=lambda t, min=-math.inf, max=math.inf: t.clamp(min, max),
        pow=torch.pow, prelu=lambda t, s: torch.where(t < 0, s * t, t),
        greater=torch.gt, less=torch.lt, equal=torch.eq, where=torch.where,
        reduce_mean=reduce(lambda t, a: t.mean(a)),
        reduce_sum=reduce(lambda t, a: t.sum(a)),
        reduce_max=reduce(lambda t, a: t.amax(a)),
        concat=lambda *ts, axis: torch.cat(ts, axis),
        slice=slice_, pad=pad,
        expand=lambda t, *dims: t.expand(*dims))


def attention(q, k, v, causal=False):
    """scaled_dot_product_attention written out (torch 1.13 has no
    F.scaled_dot_product_attention): softmax(q kᵀ/√E, −inf above the
    diagonal when causal) v."""
    s = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])
    if causal:
        keep = torch.ones(q.shape[-2], k.shape[-2], dtype=torch.bool).tril()
        s = s.masked_fill(~keep, float("-inf"))
    return torch.softmax(s, dim=-1) @ v


class CausalAttention(nn.Module):  # case causal_attention
    def __init__(self, vocab, d, ctx):
        super().__init__()
        self.tok = nn.Embedding(vocab, d)
        self.pos = nn.Embedding(ctx, d)
        self.q = nn.Linear(d, d)
        self.k = nn.Linear(d, d, bias=False)
        self.v = nn.Linear(d, d)
        self.norm = nn.LayerNorm(d)
        self.head = nn.Linear(d, vocab)

    def forward(self, x):
        h = self.tok(x) + self.pos(torch.arange(x.shape[1]))
        a = attention(self.q(h), self.k(h), self.v(h), causal=True)
        return self.head(self.norm(h + a))


class HandAttention(nn.Module):  # case attention_by_hand
    def __init__(self, vocab, d, heads):
        super().__init__()
        self.heads = heads
        self.tok = nn.Embedding(vocab, d)
        self.q = nn.Linear(d, d)
        # No bias for k: softmax over the keys cancels it (q·b is the same
        # for every key), so its gradient is rounding noise that Adam
        # would scale up to whole steps.
        self.k = nn.Linear(d, d, bias=False)
        self.v = nn.Linear(d, d)
        self.head = nn.Linear(d, vocab)

    def forward(self, x):
        n, t = x.shape
        h = self.tok(x)

        def split(z):  # [n, t, d] -> [n, heads, t, d / heads]
            return z.reshape(n, t, self.heads, -1).transpose(1, 2)
        q, k, v = split(self.q(h)), split(self.k(h)), split(self.v(h))
        a = F.softmax(q @ k.transpose(-2, -1) * 0.25, dim=-1) @ v
        o = a.transpose(1, 2).reshape(n, t, -1)
        return self.head(F.gelu(o, approximate="tanh") + h)


class GPTBlock(nn.Module):  # case gpt_block (its block)
    def __init__(self, d, heads):
        super().__init__()
        self.heads = heads
        self.ln1 = nn.LayerNorm(d)
        self.q = nn.Linear(d, d)
        self.k = nn.Linear(d, d, bias=False)  # softmax over the keys cancels a bias
        self.v = nn.Linear(d, d)
        self.proj = nn.Linear(d, d)
        self.ln2 = nn.LayerNorm(d)
        self.fc = nn.Linear(d, 4 * d)
        self.out = nn.Linear(4 * d, d)

    def forward(self, x):
        n, t, d = x.shape
        h = self.ln1(x)

        def split(z):  # [n, t, d] -> [n, heads, t, d / heads]
            return z.reshape(n, t, self.heads, d // self.heads).transpose(1, 2)
        a = attention(split(self.q(h)), split(self.k(h)), split(self.v(h)), causal=True)
        x = x + self.proj(a.transpose(1, 2).reshape(n, t, d))
        return x + self.out(F.gelu(self.fc(self.ln2(x)), approximate="tanh"))


class OneBlockGPT(nn.Module):  # case gpt_block
    def __init__(self, vocab, d, heads):
        super().__init__()
        self.tok = nn.Embedding(vocab, d)
        self.pos = nn.Embedding(8, d)
        self.block = GPTBlock(d, heads)
        self.ln = nn.LayerNorm(d)

    def forward(self, x):
        h = self.block(self.tok(x) + self.pos(torch.arange(x.shape[1])))
        return self.ln(h) @ self.tok.weight.t()  # the head tied to the embedding


# ---------------------------------------------------------------------------
# The cases. "nn" is the model part of model.nn (the train block is added from
# the other fields); "make" builds the equivalent PyTorch module. Optional:
# "data" names the digits instead of random data (make_digits), "input" is the
# model's input shape after N when it is not [features] (the CSV's 64 columns
# reshaped, row-major, to it), "onednn" keeps oneDNN on (see generate).
# A text case (data source "text") trains on the characters of its "corpus",
# written as corpus.txt (make_text); "pending" writes it under pending/, out
# of the reach of the Go tests' testdata/parity/*/model.nn, until nnc has
# the ops it needs.
# ---------------------------------------------------------------------------

CASES = [
    dict(
        name="sgd_relu_ce",
        covers="Linear, relu",
        seed=1, samples=60, features=8, classes=3, batch=16, epochs=4,
        loss="cross_entropy",
        optimizer=("SGD", [("lr", "0.1")]),
        model="MLP",
        make=lambda: MLP(8, 16, 3),
        nn="""\
model MLP(features = 8, hid = 16, classes = 3) {
    fc1 = Linear(features, hid)
    fc2 = Linear(hid, classes)

    forward(x: f32[N, features]) {
        h = relu(fc1(x))
        return fc2(h)
    }
}
""",
    ),
    dict(
        name="momentum_tanh_logsoftmax",
        covers="hyper-parameter arithmetic (hid * 2), train-block override "
               "train Deep(hid = 6), tanh, sigmoid, log_softmax(x, dim = -1)",
        seed=2, samples=50, features=5, classes=3, batch=16, epochs=5,
        loss="cross_entropy",
        optimizer=("SGD", [("lr", "0.1"), ("momentum", "0.9")]),
        model="Deep", overrides=[("hid", "6")],
        make=lambda: Deep(5, 6, 3),
        nn="""\
model Deep(features = 5, hid = 4, classes = 3) {
    fc1 = Linear(features, hid * 2)
    fc2 = Linear(hid * 2, hid)
    fc3 = Linear(hid, classes)

    forward(x: f32[N, features]) {
        h = tanh(fc1(x))
        h = sigmoid(fc2(h))
        return log_softmax(fc3(h), dim = -1)
    }
}
""",
    ),
    dict(
        name="nesterov_residual_mse",
        covers="nested model as a layer (Residual, twice: positional and "
               "keyword argument), tanh, relu, + of two activations",
        seed=3, samples=64, features=6, classes=None, batch=16, epochs=4,
        loss="mse",
        optimizer=("SGD", [("lr", "0.05"), ("momentum", "0.9"),
                           ("weight_decay", "1e-3"), ("nesterov", "true")]),
        model="Regressor",
        make=lambda: Regressor(6, 8),
        nn="""\
// A residual block, used as a layer below.
model Residual(d = 8) {
    fc = Linear(d, d)

    forward(x: f32[N, d]) {
        return relu(fc(x)) + x
    }
}

model Regressor(features = 6, hid = 8) {
    inp    = Linear(features, hid)
    block1 = Residual(hid)
    block2 = Residual(d = hid)
    head   = Linear(hid, 1)

    forward(x: f32[N, features]) {
        h = tanh(inp(x))
        h = block2(block1(h))
        return head(h)
    }
}
""",
    ),
    dict(
        name="adam_gelu_bce",
        covers="Linear(bias = false), gelu (exact erf), sigmoid, "
               "element-wise * of two activations",
        seed=4, samples=50, features=6, classes=2, batch=20, epochs=5,
        loss="bce_with_logits",
        optimizer=("Adam", [("lr", "1e-2")]),
        onednn=True,  # kept as generated: gelu ran on oneDNN
        model="GeluNet",
        make=lambda: GeluNet(6, 16),
        nn="""\
model GeluNet(features = 6, hid = 16) {
    fc1 = Linear(features, hid, bias = false)
    fc2 = Linear(hid, hid)
    out = Linear(hid, 1)

    forward(x: f32[N, features]) {
        h = gelu(fc1(x))
        h = sigmoid(fc2(h)) * h
        return out(h)
    }
}
""",
    ),
    dict(
        name="adam_wd_elementwise",
        covers="softmax(x, dim = -1), mean(x, dim), sum(x, dim), "
               "reshape(x, N, 1) to broadcast a reduction, + - * / with "
               "[N,d]-[N,1] and scalar broadcasting (scalar on either side), "
               "unary minus, sigmoid, tanh, Linear(bias = false)",
        seed=5, samples=72, features=10, classes=4, batch=16, epochs=4,
        loss="cross_entropy",
        optimizer=("Adam", [("lr", "0.005"), ("weight_decay", "0.01")]),
        model="Gated",
        make=lambda: Gated(10, 12, 4),
        nn="""\
model Gated(features = 10, hid = 12, classes = 4) {
    fc1  = Linear(features, hid)
    gate = Linear(features, hid, bias = false)
    fc2  = Linear(hid, classes)

    forward(x: f32[N, features]) {
        h = fc1(x)
        a = softmax(gate(x), dim = -1)
        h = h * (1.0 + a)
        c = h - reshape(mean(h, 1), N, 1)
        s = reshape(sum(c * c, 1), N, 1)
        h = c / (s * 0.1 + 1.0)
        h = -sigmoid(h) * 2.0 + tanh(h) / 2.0 + (1.0 - h) * 0.5
        return fc2(h)
    }
}
""",
    ),
    dict(
        name="adamw_matmul",
        covers="@ and matmul(a, b) on parameter-free 3-D operands (batched "
               "[N,r,k]@[N,k,c]), reshape(x, N, r, k) with hyper-parameter "
               "dimensions, reshape(x, N, -1), flatten(x) of a 3-D value, "
               "sum(x, -1), hyper-parameter arithmetic (rows * k)",
        seed=6, samples=40, features=12, classes=3, batch=12, epochs=4,
        loss="cross_entropy",
        optimizer=("AdamW", [("lr", "0.01"), ("weight_decay", "0.01")]),
        model="BMM",
        make=lambda: BMM(12, 2, 4, 3, 3),
        nn="""\
model BMM(features = 12, rows = 2, k = 4, cols = 3, classes = 3) {
    left  = Linear(features, rows * k)
    right = Linear(features, k * cols)
    vec   = Linear(features, k, bias = false)
    head1 = Linear(rows * cols, classes)
    head2 = Linear(rows, classes)

    forward(x: f32[N, features]) {
        a = reshape(left(x), N, rows, k)              // [N, rows, k]
        b = reshape(tanh(right(x)), N, k, cols)       // [N, k, cols]
        c = flatten(a @ b)                            // [N, rows * cols]
        c = c / (reshape(sum(c * c, -1), N, 1) + 1.0)
        v = reshape(vec(x), N, k, 1)                  // [N, k, 1]
        d = reshape(matmul(a, v), N, -1)              // [N, rows]
        return head1(c) + head2(d)
    }
}
""",
    ),
    dict(
        name="adamw_nested_bce",
        covers="two-level nesting (block.inner.fc.weight), Linear(bias = "
               "false) inside a nested model, AdamW with every argument "
               "(beta1, beta2, eps, weight_decay), relu, tanh",
        seed=7, samples=32, features=4, classes=2, batch=8, epochs=5,
        loss="bce_with_logits",
        optimizer=("AdamW", [("lr", "0.005"), ("beta1", "0.8"),
                             ("beta2", "0.99"), ("eps", "1e-6"),
                             ("weight_decay", "0.1")]),
        model="Classifier",
        make=lambda: Classifier(4, 8),
        nn="""\
model Inner(d = 4) {
    fc = Linear(d, d, bias = false)

    forward(x: f32[N, d]) {
        return tanh(fc(x))
    }
}

model Block(d = 4) {
    inner = Inner(d)
    proj  = Linear(d, d)

    forward(x: f32[N, d]) {
        return x + proj(inner(x)) * 0.5
    }
}

model Classifier(features = 4, hid = 8) {
    embed = Linear(features, hid)
    block = Block(d = hid)
    head  = Linear(hid, 1)

    forward(x: f32[N, features]) {
        h = relu(embed(x))
        h = block(h)
        return head(h)
    }
}
""",
    ),
    dict(
        name="sgd_wd_flatten_mse",
        covers="flatten(x) and reshape(x, N, -1) of 2-D values (no-ops), "
               "gelu, Linear(bias = false) as the output layer, 16 features",
        seed=8, samples=100, features=16, classes=None, batch=32, epochs=3,
        loss="mse",
        optimizer=("SGD", [("lr", "0.02"), ("momentum", "0.5"),
                           ("weight_decay", "0.01")]),
        onednn=True,  # kept as generated: gelu ran on oneDNN
        model="Wide",
        make=lambda: Wide(16, 8),
        nn="""\
model Wide(features = 16, hid = 8) {
    fc1 = Linear(features, hid)
    fc2 = Linear(hid, 1, bias = false)

    forward(x: f32[N, features]) {
        h = flatten(x)
        h = gelu(fc1(h))
        h = reshape(h, N, -1)
        return fc2(h)
    }
}
""",
    ),
    # Convolutions and BatchNorm, on 8x8 digit images (sklearn's digits.csv.gz,
    # see make_digits): 64 pixel columns feed f32[N, 1, 8, 8] (row-major) or
    # f32[N, 64].
    dict(
        name="conv_stride_pad",
        covers="Conv2d(stride = 2, padding = 1) and Conv2d(stride = 2, "
               "padding = 0) on the input (output sizes rounded down), "
               "Conv2d(kernel = 2) with default stride and padding, relu, "
               "flatten(x) of 4-D values, two branches summed, f32[N, 1, 8, 8] "
               "input from 64 CSV columns",
        seed=11, samples=96, features=64, classes=10, batch=20, epochs=3,
        data=dict(source="digits", first=0, scale=16), input=(1, 8, 8),
        loss="cross_entropy",
        optimizer=("SGD", [("lr", "0.1"), ("momentum", "0.9")]),
        model="StridePad",
        make=lambda: StridePad(4, 10),
        nn="""\
model StridePad(ch = 4, classes = 10) {
    conv1 = Conv2d(1, ch, 3, stride = 2, padding = 1)
    conv2 = Conv2d(ch, 6, kernel = 2)
    side  = Conv2d(1, 3, 4, stride = 2, padding = 0)
    fc1   = Linear(6 * 3 * 3, classes)
    fc2   = Linear(3 * 3 * 3, classes, bias = false)

    forward(x: f32[N, 1, 8, 8]) {
        h = relu(conv1(x)) // [N, ch, 4, 4]: (8 + 2 * 1 - 3) / 2 + 1, rounded down
        h = relu(conv2(h)) // [N, 6, 3, 3]
        s = relu(side(x))  // [N, 3, 3, 3]: (8 - 4) / 2 + 1
        return fc1(flatten(h)) + fc2(flatten(s))
    }
}
""",
    ),
    dict(
        name="conv_pool",
        covers="Conv2d(kernel 3, padding = 1), MaxPool2d(2) (called twice, "
               "once on an odd size: 3x3 -> 1x1, rounded down), MaxPool2d(2, "
               "stride = 1) and MaxPool2d(kernel = 3, stride = 2) "
               "(overlapping windows), relu, flatten(x) of 4-D values",
        seed=12, samples=112, features=64, classes=10, batch=24, epochs=3,
        data=dict(source="digits", first=200, scale=16), input=(1, 8, 8),
        loss="cross_entropy",
        optimizer=("Adam", [("lr", "0.02")]),
        model="ConvPool",
        make=lambda: ConvPool(4, 6, 10),
        nn="""\
model ConvPool(c1 = 4, c2 = 6, classes = 10) {
    conv1 = Conv2d(1, c1, 3, padding = 1)
    conv2 = Conv2d(c1, c2, 3, padding = 1)
    pool  = MaxPool2d(2)
    pool2 = MaxPool2d(2, stride = 1)
    pool3 = MaxPool2d(kernel = 3, stride = 2)
    fc1   = Linear(c2 * 3 * 3, classes)
    fc2   = Linear(c1, classes)

    forward(x: f32[N, 1, 8, 8]) {
        a = relu(conv1(x))        // [N, c1, 8, 8]
        h = pool(a)               // [N, c1, 4, 4]
        h = pool2(relu(conv2(h))) // [N, c2, 3, 3]
        s = pool(pool3(a))        // [N, c1, 3, 3], then [N, c1, 1, 1]
        return fc1(flatten(h)) + fc2(flatten(s))
    }
}
""",
    ),
    dict(
        name="conv_batchnorm",
        covers="Conv2d(..., bias = false), BatchNorm2d (batch statistics "
               "in training, running ones in the final evaluation; buffers "
               "in final.safetensors), relu, MaxPool2d(2), flatten(x) of "
               "4-D values",
        seed=13, samples=100, features=64, classes=10, batch=32, epochs=3,
        data=dict(source="digits", first=400, scale=16), input=(1, 8, 8),
        loss="cross_entropy",
        optimizer=("AdamW", [("lr", "0.01"), ("weight_decay", "0.01")]),
        model="ConvBN",
        make=lambda: ConvBN(6, 10),
        nn="""\
model ConvBN(ch = 6, classes = 10) {
    conv = Conv2d(1, ch, 3, padding = 1, bias = false)
    bn   = BatchNorm2d(ch)
    pool = MaxPool2d(2)
    fc   = Linear(ch * 4 * 4, classes)

    forward(x: f32[N, 1, 8, 8]) {
        h = pool(relu(bn(conv(x)))) // [N, ch, 4, 4]
        return fc(flatten(h))
    }
}
""",
    ),
    dict(
        name="mlp_batchnorm",
        covers="BatchNorm1d between Linear and relu (batch statistics in "
               "training, running ones in the final evaluation), unscaled "
               "0..16 pixels as 64 features",
        seed=14, samples=90, features=64, classes=10, batch=16, epochs=4,
        data=dict(source="digits", first=600, scale=1),
        loss="cross_entropy",
        optimizer=("SGD", [("lr", "0.1"), ("weight_decay", "0.001")]),
        model="MLPBN",
        make=lambda: MLPBN(64, 24, 10),
        nn="""\
model MLPBN(features = 64, hid = 24, classes = 10) {
    fc1 = Linear(features, hid)
    bn  = BatchNorm1d(hid)
    fc2 = Linear(hid, classes)

    forward(x: f32[N, features]) {
        return fc2(relu(bn(fc1(x))))
    }
}
""",
    ),
    dict(
        name="conv_nested_bn",
        covers="a nested model holding Conv2d + BatchNorm2d (buffers named "
               "block1.bn.running_mean), used twice, with a hyper-parameter "
               "in its 4-D input shape; reshape(x, N, 1, 8, 8) of an "
               "f32[N, 64] input, residual + of 4-D values, MaxPool2d(2), "
               "flatten, BatchNorm1d, override train NestedBN(ch = 3)",
        seed=15, samples=80, features=64, classes=2, batch=24, epochs=3,
        data=dict(source="digits", first=800, scale=16, binary=5),
        loss="bce_with_logits",
        optimizer=("Adam", [("lr", "0.01"), ("weight_decay", "1e-4")]),
        model="NestedBN", overrides=[("ch", "3")],
        make=lambda: NestedBN(3, 16),
        nn="""\
// Conv2d (without bias: BatchNorm2d would cancel it), BatchNorm2d, relu.
model ConvBlock(cin = 1, cout = 4, side = 8) {
    conv = Conv2d(cin, cout, 3, padding = 1, bias = false)
    bn   = BatchNorm2d(cout)

    forward(x: f32[N, cin, side, side]) {
        return relu(bn(conv(x)))
    }
}

model NestedBN(ch = 4, hid = 16) {
    block1 = ConvBlock(1, ch)
    block2 = ConvBlock(ch, ch, side = 4)
    pool   = MaxPool2d(2)
    fc     = Linear(ch * 4 * 4, hid, bias = false)
    bn     = BatchNorm1d(hid)
    head   = Linear(hid, 1)

    forward(x: f32[N, 64]) {
        h = reshape(x, N, 1, 8, 8)
        h = pool(block1(h)) // [N, ch, 4, 4]
        h = block2(h) + h
        h = relu(bn(fc(flatten(h))))
        return head(h)
    }
}
""",
    ),
    # Token models: i64 inputs from text("corpus.txt"), a target per
    # position.
    dict(
        name="token_mlp",
        covers="i64[N, ctx] input, Embedding(vocab, d), LayerNorm(d) over the "
               "last dimension, Linear and relu on [N, ctx, d] values, "
               "cross_entropy of [N, ctx, vocab] logits against [N, ctx] "
               "targets (mean over positions; accuracy counts positions), "
               "text(\"corpus.txt\") with 12 distinct characters",
        seed=21, features=8, classes=12, batch=4, epochs=3,
        data=dict(source="text", file="corpus.txt"),
        loss="cross_entropy",
        optimizer=("Adam", [("lr", "0.01")]),
        model="TokenMLP",
        make=lambda: TokenMLP(12, 16, 32),
        corpus=TOKEN_CORPUS,
        nn="""\
model TokenMLP(vocab = 12, d = 16, ctx = 8) {
    tok  = Embedding(vocab, d)
    norm = LayerNorm(d)
    fc1  = Linear(d, 32)
    fc2  = Linear(32, vocab)

    forward(x: i64[N, ctx]) {
        h = norm(tok(x))
        return fc2(relu(fc1(h)))
    }
}
""",
    ),
    dict(
        name="attention_by_hand",
        covers="attention written out by hand: reshape(x, N, ctx, heads, hd) "
               "into heads, transpose(x, 1, 2), transpose(k, -2, -1), @ of "
               "[N, heads, ctx, hd] values (batched over equal leading "
               "dimensions), softmax(q @ kT * 0.25) @ v, out of the heads, "
               "gelu(x, approximate = \"tanh\"), a residual, a Linear without bias; "
               "text(\"corpus.txt\")",
        seed=22, features=8, classes=12, batch=4, epochs=3,
        data=dict(source="text", file="corpus.txt"),
        loss="cross_entropy",
        optimizer=("AdamW", [("lr", "0.01"), ("weight_decay", "0.01")]),
        model="HandAttention",
        make=lambda: HandAttention(12, 16, 2),
        corpus=TOKEN_CORPUS,
        nn="""\
model HandAttention(vocab = 12, d = 16, heads = 2, hd = 8, ctx = 8) {
    tok  = Embedding(vocab, d)
    q    = Linear(d, d)
    k    = Linear(d, d, bias = false)   // softmax over the keys cancels a bias
    v    = Linear(d, d)
    head = Linear(d, vocab)

    forward(x: i64[N, ctx]) {
        h  = tok(x)
        qh = transpose(reshape(q(h), N, ctx, heads, hd), 1, 2)
        kh = transpose(reshape(k(h), N, ctx, heads, hd), 1, 2)
        vh = transpose(reshape(v(h), N, ctx, heads, hd), 1, 2)
        a  = softmax(qh @ transpose(kh, -2, -1) * 0.25) @ vh
        o  = reshape(transpose(a, 1, 2), N, ctx, d)
        return head(gelu(o, approximate = "tanh") + h)
    }
}
""",
    ),
    # Weight tying and gradient clipping: the Embedding's weight is also
    # the right operand of a product, so its gradient sums both uses, and
    # clip_grad_norm binds on every step.
    dict(
        name="tied_clip",
        covers="a parameter used as a value (tok.weight, weight tying: the "
               "Embedding's weight also multiplies [N, ctx, vocab] values), "
               "clip_grad_norm = 0.5 (torch.nn.utils.clip_grad_norm_ before "
               "each step; the norm exceeds it on every step), "
               "text(\"corpus.txt\")",
        seed=23, features=8, classes=12, batch=4, epochs=3,
        data=dict(source="text", file="corpus.txt"),
        loss="cross_entropy",
        optimizer=("AdamW", [("lr", "0.01"), ("weight_decay", "0.01")]),
        clip=0.5,
        model="TiedClip",
        make=lambda: TiedClip(12, 16),
        corpus=TOKEN_CORPUS,
        nn="""\
model TiedClip(vocab = 12, d = 16, ctx = 8) {
    tok  = Embedding(vocab, d)
    fc   = Linear(d, vocab)
    head = Linear(d, vocab)

    forward(x: i64[N, ctx]) {
        h = relu(fc(tok(x))) @ tok.weight
        return head(h)
    }
}
""",
    ),
]

# Attention (issue 14): one causal head over [N, ctx, d], on token_mlp's
# corpus. k has no bias: adding one vector to every key adds the same q·b
# to a row's scores, which the softmax cancels, so its gradient is rounding
# noise that Adam's normalised step would turn into updates of full size.
CASES.append(dict(
    name="causal_attention",
    covers="scaled_dot_product_attention(q, k, v, causal = true) on one head "
           "[N, ctx, d] (the fused op, against softmax(q kᵀ/√d masked) v "
           "written out), Embedding of arange(ctx) positions broadcast over "
           "the batch, residual +, LayerNorm, text(\"corpus.txt\")",
    seed=22, features=8, classes=12, batch=4, epochs=3,
    data=dict(source="text", file="corpus.txt"),
    loss="cross_entropy",
    optimizer=("AdamW", [("lr", "0.01"), ("weight_decay", "0.01")]),
    model="CausalAttention",
    make=lambda: CausalAttention(12, 16, 8),
    corpus=TOKEN_CORPUS,
    nn="""\
model CausalAttention(vocab = 12, d = 16, ctx = 8) {
    tok  = Embedding(vocab, d)
    pos  = Embedding(ctx, d)
    q    = Linear(d, d)
    k    = Linear(d, d, bias = false)
    v    = Linear(d, d)
    norm = LayerNorm(d)
    head = Linear(d, vocab)

    forward(x: i64[N, ctx]) {
        h = tok(x) + pos(arange(ctx))
        a = scaled_dot_product_attention(q(h), k(h), v(h), causal = true)
        return head(norm(h + a))
    }
}
""",
))


# The ONNX operators as built-ins (issue 13): element-wise, where and a
# comparison, reduce_mean and reduce_sum, concat, a reversed stepped slice,
# pad, expand and a Parameter, all trained through.
CASES.append(dict(
    name="onnx_ops",
    covers="the ONNX built-ins (issue 13): prelu with a Parameter slope, "
           "softplus, hard_swish, erf, elu, selu, leaky_relu, hard_sigmoid, "
           "softsign, sqrt, exp, clip, log, abs, reciprocal, pow, where of "
           "greater, reduce_mean(axes = [1]), concat, slice with steps = [-2], "
           "pad(value = 0.25), reduce_sum(keepdims = 0), expand",
    seed=24, samples=48, features=6, classes=3, batch=16, epochs=4,
    loss="cross_entropy",
    optimizer=("Adam", [("lr", "0.01")]),
    model="OnnxOps",
    make=lambda: OnnxOps(6, 8, 3),
    nn="""\
model OnnxOps(features = 6, hid = 8, classes = 3) {
    fc    = Linear(features, hid)
    slope = Parameter(hid, init = "uniform")
    out   = Linear(hid + hid / 2 + 3, classes)

    forward(x: f32[N, features]) {
        h = fc(x)
        a = prelu(h, slope) + softplus(h) * 0.5 + hard_swish(h) + erf(h) + elu(h, alpha = 0.5) + selu(h) + leaky_relu(h, alpha = 0.2) + hard_sigmoid(h) + softsign(h)
        b = sqrt(exp(clip(h, min = -2, max = 2))) + log(1 + abs(h)) + reciprocal(2 + abs(h)) + pow(1 + abs(h), 1.5)
        m = where(greater(a, reduce_mean(a, axes = [1])), a, b)
        c = concat(m, slice(b, starts = [-1], ends = [-100], axes = [1], steps = [-2]), axis = 1)
        d = pad(c, pads = [0, 1, 0, 2], value = 0.25)
        s = reduce_sum(d, axes = [1], keepdims = 0)
        return out(d) + expand(reshape(s, N, 1), N, classes) * 0.01
    }
}
""",
))


# A one-block GPT (issue 14): multi-head causal attention, a tanh-GELU MLP,
# pre-LayerNorm residuals, the output head tied to the token embedding, and
# clip_grad_norm, on token_mlp's corpus.
CASES.append(dict(
    name="gpt_block",
    covers="a one-block GPT: token and arange(ctx) position Embeddings, "
           "LayerNorm before causal multi-head scaled_dot_product_attention "
           "(heads split with reshape and transpose, joined back) and before "
           "a gelu(approximate = \"tanh\") MLP, both added back, a final "
           "LayerNorm and an output head tied to the token Embedding "
           "(ln(h) @ transpose(tok.weight, 0, 1)), clip_grad_norm = 0.5 (binding "
           "on every step), a model used as a layer; text(\"corpus.txt\")",
    seed=24, features=8, classes=12, batch=4, epochs=3,
    data=dict(source="text", file="corpus.txt"),
    loss="cross_entropy",
    optimizer=("AdamW", [("lr", "0.01"), ("weight_decay", "0.01")]),
    clip=0.5,
    model="GPT",
    make=lambda: OneBlockGPT(12, 16, 2),
    corpus=TOKEN_CORPUS,
    nn="""\
model Block(d = 16, heads = 2, ctx = 8) {
    ln1  = LayerNorm(d)
    q    = Linear(d, d)
    k    = Linear(d, d, bias = false)   // softmax over the keys cancels a bias
    v    = Linear(d, d)
    proj = Linear(d, d)
    ln2  = LayerNorm(d)
    fc   = Linear(d, 4 * d)
    out  = Linear(4 * d, d)

    forward(x: f32[N, ctx, d]) {
        h  = ln1(x)
        qh = transpose(reshape(q(h), N, ctx, heads, d / heads), 1, 2)
        kh = transpose(reshape(k(h), N, ctx, heads, d / heads), 1, 2)
        vh = transpose(reshape(v(h), N, ctx, heads, d / heads), 1, 2)
        a  = scaled_dot_product_attention(qh, kh, vh, causal = true)
        x  = x + proj(reshape(transpose(a, 1, 2), N, ctx, d))
        return x + out(gelu(fc(ln2(x)), approximate = "tanh"))
    }
}

model GPT(vocab = 12, d = 16, ctx = 8) {
    tok   = Embedding(vocab, d)
    pos   = Embedding(ctx, d)
    block = Block(d, 2, ctx)
    ln    = LayerNorm(d)

    forward(x: i64[N, ctx]) {
        h = block(tok(x) + pos(arange(ctx)))
        return ln(h) @ transpose(tok.weight, 0, 1)
    }
}
""",
))


# ---------------------------------------------------------------------------
# Data
# ---------------------------------------------------------------------------

def fmt(v):
    """repr-exact float32 text: 9 significant digits round-trip a float32."""
    s = "%.9g" % float(v)
    assert np.float32(s) == np.float32(v), (s, v)
    return s


# sklearn's copy of the UCI optical digits test set (python3-sklearn): 1797
# rows of 64 pixel counts 0..16 (an 8x8 image, row-major) and the digit.
DIGITS_SHA256 = \
    "6ebb3d2fee246a4e99363262ddf8a00a3c41bee6014c373ed9d9216ba7f651b8"


def load_digits():
    spec = importlib.util.find_spec("sklearn")
    assert spec is not None, "digits cases need python3-sklearn's digits.csv.gz"
    path = os.path.join(spec.submodule_search_locations[0], "datasets", "data",
                        "digits.csv.gz")
    with gzip.open(path, "rb") as f:
        raw = f.read()
    assert hashlib.sha256(raw).hexdigest() == DIGITS_SHA256, path
    rows = np.array([[int(v) for v in line.split(",")]
                     for line in raw.decode("ascii").splitlines()])
    assert rows.shape == (1797, 65)
    return rows


def make_digits(case):
    """Rows first..first+samples-1 of the digits, pixels divided by scale
    (exact in float32 for 1 and 16); the digit as class, or 1 if the digit
    is >= binary for bce_with_logits."""
    d = case["data"]
    n, k = case["samples"], case["features"]
    assert d["source"] == "digits" and k == 64
    rows = load_digits()[d["first"]:d["first"] + n]
    x = torch.tensor(rows[:, :64].astype(np.float32) / np.float32(d["scale"]))
    y = rows[:, 64]
    if case["loss"] == "cross_entropy":
        assert "binary" not in d and int(y.max()) < case["classes"]
        ystr = [str(int(v)) for v in y]
    else:
        assert case["loss"] == "bce_with_logits"
        ystr = [str(int(v >= d["binary"])) for v in y]
    return x, ystr


def make_random(case):
    """Features N(0,1), targets from a fixed random teacher with some noise."""
    g = torch.Generator().manual_seed(1000 + case["seed"])
    n, k = case["samples"], case["features"]
    x = torch.randn(n, k, generator=g, dtype=torch.float32)
    loss = case["loss"]
    if loss == "cross_entropy":
        c = case["classes"]
        w = torch.randn(k, c, generator=g)
        score = x @ w + 0.5 * torch.randn(n, c, generator=g)
        y = torch.argmax(score, dim=1)
        ystr = [str(int(v)) for v in y]
    elif loss == "bce_with_logits":
        w = torch.randn(k, generator=g)
        score = x @ w + 0.5 * torch.randn(n, generator=g)
        y = (score > 0).to(torch.int64)
        ystr = [str(int(v)) for v in y]
    else:  # mse
        w = torch.randn(k, generator=g) / math.sqrt(k)
        y = torch.tanh(x @ w) * 2.0 + 0.5 * x[:, 0] * x[:, 1] \
            + 0.1 * torch.randn(n, generator=g)
        y = y.to(torch.float32)
        ystr = [fmt(v) for v in y]
    return x, ystr


def make_text(case):
    """text("corpus.txt") as LANGUAGE.md defines it: the corpus's characters
    (code points), ids by rank in the sorted distinct characters, sample i
    = ids[iT, iT+T) with targets ids[iT+1, iT+T+1), both int64."""
    text, T = case["corpus"], case["features"]
    chars = list(text)
    vocab = sorted(set(chars))
    assert len(vocab) == case["classes"], (len(vocab), vocab)
    ids = [vocab.index(c) for c in chars]
    n = (len(ids) - 1) // T
    assert n * T + 1 < len(ids), "keep a tail the samples do not use"
    x = torch.tensor([ids[i * T:i * T + T] for i in range(n)], dtype=torch.int64)
    y = torch.tensor([ids[i * T + 1:i * T + T + 1] for i in range(n)],
                     dtype=torch.int64)
    return text, x, y


def make_data(case):
    """The CSV text and the tensors trained on: random data (make_random) or,
    when the case names its data, the digits (make_digits)."""
    n, k = case["samples"], case["features"]
    loss = case["loss"]
    x, ystr = make_digits(case) if "data" in case else make_random(case)

    header = ",".join(["f%d" % i for i in range(k)] + ["label"])
    lines = [header]
    for i in range(n):
        lines.append(",".join([fmt(v) for v in x[i]] + [ystr[i]]))
    text = "\n".join(lines) + "\n"

    # Train on exactly what the CSV says (parse it back).
    rows = [line.split(",") for line in lines[1:]]
    xs = torch.tensor(np.array([[np.float32(v) for v in r[:-1]] for r in rows],
                               dtype=np.float32))
    assert torch.equal(xs, x)
    if loss == "cross_entropy":
        ys = torch.tensor([int(r[-1]) for r in rows], dtype=torch.int64)
    else:
        ys = torch.tensor(np.array([np.float32(r[-1]) for r in rows],
                                   dtype=np.float32)).reshape(n, 1)
    if "input" in case:  # the model's input shape, e.g. f32[N, 1, 8, 8]
        xs = xs.reshape((n,) + case["input"])
    return text, xs, ys


# ---------------------------------------------------------------------------
# safetensors, written by hand
# ---------------------------------------------------------------------------

def safetensors_bytes(state, metadata):
    # As safetensors lays them out: by dtype, widest alignment first (so the
    # I64 num_batches_tracked buffers lead and stay 8-byte aligned), then name.
    names = sorted(state, key=lambda k: (state[k].dtype != torch.int64, k))
    header = {"__metadata__": metadata}
    blobs = []
    off = 0
    for name in names:
        t = state[name].detach().contiguous().cpu()
        if t.dtype == torch.int64:  # BatchNorm's num_batches_tracked
            dtype, data = "I64", t.numpy().astype("<i8").tobytes()
        else:
            t = t.to(torch.float32)
            dtype, data = "F32", t.numpy().astype("<f4").tobytes()
        header[name] = {"dtype": dtype, "shape": list(t.shape),
                        "data_offsets": [off, off + len(data)]}
        blobs.append(data)
        off += len(data)
    h = json.dumps(header, separators=(",", ":")).encode("utf-8")
    h += b" " * ((8 - len(h) % 8) % 8)
    return struct.pack("<Q", len(h)) + h + b"".join(blobs)


def read_safetensors(buf):
    (hlen,) = struct.unpack("<Q", buf[:8])
    header = json.loads(buf[8:8 + hlen].decode("utf-8"))
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        b, e = info["data_offsets"]
        arr = np.frombuffer(buf[8 + hlen + b:8 + hlen + e],
                            dtype={"F32": "<f4", "I64": "<i8"}[info["dtype"]])
        out[name] = torch.from_numpy(arr.copy()).reshape(info["shape"])
    return out


# ---------------------------------------------------------------------------
# Training, mirroring nnc's train loop
# ---------------------------------------------------------------------------

def loss_fn(kind, out, y):
    if kind == "cross_entropy":
        # [N, T, C] logits: the mean over all N·T positions.
        return F.cross_entropy(out.reshape(-1, out.shape[-1]), y.reshape(-1))
    if kind == "mse":
        return F.mse_loss(out, y)
    if kind == "bce_with_logits":
        return F.binary_cross_entropy_with_logits(out, y)
    raise ValueError(kind)


def n_correct(kind, out, y):
    if kind == "cross_entropy":  # counts positions of [N, T, C] logits
        return int((torch.argmax(out, dim=-1) == y).sum())
    if kind == "bce_with_logits":
        return int(((out > 0).to(torch.float32) == y).sum())
    return None


def literal(v):
    if v == "true":
        return True
    if v == "false":
        return False
    return float(v)


def make_optimizer(spec, params):
    kind, args = spec
    a = {k: literal(v) for k, v in args}
    if kind == "SGD":
        return torch.optim.SGD(params, lr=a["lr"],
                               momentum=a.get("momentum", 0.0),
                               weight_decay=a.get("weight_decay", 0.0),
                               nesterov=a.get("nesterov", False))
    if kind in ("Adam", "AdamW"):
        if kind == "AdamW":
            assert "weight_decay" in a, "AdamW: always write weight_decay"
        cls = torch.optim.Adam if kind == "Adam" else torch.optim.AdamW
        return cls(params, lr=a.get("lr", 0.001),
                   betas=(a.get("beta1", 0.9), a.get("beta2", 0.999)),
                   eps=a.get("eps", 1e-8),
                   weight_decay=a.get("weight_decay", 0.0))
    raise ValueError(kind)


def train(case, model, x, y):
    kind = case["loss"]
    opt = make_optimizer(case["optimizer"], model.parameters())
    n, bs = len(x), case["batch"]
    assert case.get("samples", n) == n, (case.get("samples"), n)
    predictions = y[:1].numel() * n  # samples, or positions of token targets
    if any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in model.modules()):
        assert n % bs != 1, "a one-row batch: BatchNorm needs two rows to train"
    epochs = []
    for epoch in range(1, case["epochs"] + 1):
        model.train()
        losses, correct = [], 0
        for start in range(0, n, bs):  # file order: shuffle = false
            xb, yb = x[start:start + bs], y[start:start + bs]
            opt.zero_grad()
            out = model(xb)
            loss = loss_fn(kind, out, yb)
            loss.backward()
            if case.get("clip"):
                norm = torch.nn.utils.clip_grad_norm_(model.parameters(), case["clip"])
                assert norm > case["clip"], "clip_grad_norm does not bind"
            opt.step()
            losses.append(loss.item())
            if kind != "mse":
                correct += n_correct(kind, out.detach(), yb)
        e = {"epoch": epoch, "loss": sum(losses) / len(losses)}
        if kind != "mse":
            e["accuracy"] = correct / predictions
        e["batch_losses"] = losses
        epochs.append(e)

    model.eval()
    with torch.no_grad():
        out = model(x)
        final = {"split": "train", "loss": loss_fn(kind, out, y).item()}
        if kind != "mse":
            final["accuracy"] = n_correct(kind, out, y) / predictions
    return {"epochs": epochs, "final": final}



# ---------------------------------------------------------------------------
# Self-check: a tiny evaluator of the nnc model text (its expressions are
# valid Python) runs model.nn's forward from the state_dict and must agree
# with the PyTorch module; the declared parameter names and shapes must be
# exactly the state_dict's. This catches a model.nn that drifted from the
# PyTorch mirror above.
# ---------------------------------------------------------------------------

def _strip_comments(text):
    return "\n".join(line.split("//")[0] for line in text.splitlines())


def _parse_models(text):
    text = _strip_comments(text)
    models = {}
    for m in re.finditer(r"\bmodel\s+(\w+)\s*\(([^)]*)\)\s*\{", text):
        name, params = m.group(1), m.group(2)
        depth, i = 1, m.end()
        while depth:
            depth += {"{": 1, "}": -1}.get(text[i], 0)
            i += 1
        body = text[m.end():i - 1]
        hp = []
        for p in filter(None, (s.strip() for s in params.split(","))):
            k, v = (s.strip() for s in p.split("="))
            hp.append((k, literal(v) if "." in v or "e" in v else int(v)))
        fm = re.search(r"forward\s*\((\w+)\s*:\s*(f32|i64)\[([^\]]*)\]\)\s*\{",
                       body)
        layers = [tuple(s.strip() for s in line.split("=", 1))
                  for line in body[:fm.start()].splitlines() if line.strip()]
        fbody = body[fm.end():body.rindex("}")]
        stmts = [line.strip() for line in fbody.splitlines() if line.strip()]
        models[name] = dict(hp=hp, layers=layers, arg=fm.group(1),
                            dtype=fm.group(2),
                            shape=[s.strip() for s in fm.group(3).split(",")],
                            stmts=stmts)
    return models, text


def _py(expr):
    return re.sub(r"\btrue\b", "True", re.sub(r"\bfalse\b", "False", expr))


def _bind(models, name, args, kwargs):
    m = models[name]
    env = dict(m["hp"])
    for (k, _), v in zip(m["hp"], args):
        env[k] = v
    env.update(kwargs)
    return env


def _int_dim(d):
    """A reshape dimension: Python's / makes d / heads a float, nnc's
    integer arithmetic an integer; it must divide exactly."""
    assert d == int(d), "reshape dimension %r is not an integer" % d
    return int(d)


BN_MOMENTUM, BN_EPS = 0.1, 1e-5  # PyTorch's defaults, LANGUAGE.md's


def _instantiate(models, name, env, prefix, shapes):
    """Declared parameters and buffers (name -> shape) and a forward closure
    forward(state, x, mode): mode["training"] selects BatchNorm's batch
    statistics, whose running-statistics updates go to mode["updates"]."""
    m = models[name]
    calls = {}
    for lname, decl in m["layers"]:
        p = prefix + lname + "."

        def linear(i, o, bias=True, p=p):
            shapes[p + "weight"] = (o, i)
            if bias:
                shapes[p + "bias"] = (o,)
            return ("linear", p, bias)

        def conv2d(i, o, kernel, stride=1, padding=0, bias=True, p=p):
            shapes[p + "weight"] = (o, i, kernel, kernel)
            if bias:
                shapes[p + "bias"] = (o,)
            return ("conv2d", p, bias, stride, padding)

        def maxpool2d(kernel, stride=None):
            return ("maxpool2d", kernel, kernel if stride is None else stride)

        def batchnorm(rank, p=p):
            def mk(c):
                for b in ("weight", "bias", "running_mean", "running_var"):
                    shapes[p + b] = (c,)
                shapes[p + "num_batches_tracked"] = ()
                return ("batchnorm", p, rank)
            return mk

        def embedding(num, dim, p=p):
            shapes[p + "weight"] = (num, dim)
            return ("embedding", p)

        def layernorm(d, eps=1e-5, p=p):
            shapes[p + "weight"] = (d,)
            shapes[p + "bias"] = (d,)
            return ("layernorm", p, eps)

        def parameter(*dims, init="zeros", std=0.02, lname=lname):
            shapes[prefix + lname] = tuple(dims)
            return ("parameter", prefix + lname)

        def sub(sname):
            def mk(*args, **kwargs):
                return ("model", _instantiate(
                    models, sname, _bind(models, sname, args, kwargs), p, shapes))
            return mk

        ctors = {"Linear": linear, "Conv2d": conv2d, "MaxPool2d": maxpool2d,
                 "BatchNorm1d": batchnorm(2), "BatchNorm2d": batchnorm(4),
                 "Embedding": embedding, "LayerNorm": layernorm,
                 "Parameter": parameter}
        ctors.update({s: sub(s) for s in models})
        calls[lname] = eval(_py(decl), {"__builtins__": {}}, dict(env, **ctors))

    def forward(state, x, mode):
        def batchnorm(h, p, rank):
            # Written out rather than F.batch_norm: normalise with the biased
            # batch variance, update running_var with the unbiased one.
            assert h.dim() == rank, (p, list(h.shape))
            dims = [0] + list(range(2, rank))
            shape = [1, -1] + [1] * (rank - 2)
            if mode["training"]:
                upd = mode["updates"]
                mean = h.mean(dims)
                var = ((h - mean.reshape(shape)) ** 2).mean(dims)
                cnt = h.numel() // h.shape[1]
                assert cnt > 1, "BatchNorm in training needs > 1 value per channel"
                for b, stat in (("running_mean", mean),
                                ("running_var", var * cnt / (cnt - 1))):
                    old = upd.get(p + b, state[p + b])
                    upd[p + b] = (1 - BN_MOMENTUM) * old + BN_MOMENTUM * stat
                k = p + "num_batches_tracked"
                upd[k] = upd.get(k, state[k]) + 1
            else:
                mean, var = state[p + "running_mean"], state[p + "running_var"]
            return ((h - mean.reshape(shape)) / torch.sqrt(var.reshape(shape) + BN_EPS)
                    * state[p + "weight"].reshape(shape)
                    + state[p + "bias"].reshape(shape))

        def layer(spec):
            kind = spec[0]
            if kind == "model":
                return lambda h: spec[1](state, h, mode)
            if kind == "linear":
                _, p, bias = spec
                return lambda h: F.linear(h, state[p + "weight"],
                                          state[p + "bias"] if bias else None)
            if kind == "conv2d":
                _, p, bias, stride, padding = spec

                def conv(h):
                    assert h.dim() == 4, (p, list(h.shape))
                    return F.conv2d(h, state[p + "weight"],
                                    state[p + "bias"] if bias else None,
                                    stride=stride, padding=padding)
                return conv
            if kind == "embedding":
                _, p = spec

                def embed(h):
                    assert h.dtype == torch.int64, (p, h.dtype)
                    return state[p + "weight"][h]
                return embed
            if kind == "layernorm":
                _, p, eps = spec

                def layernorm(h):
                    # Written out: the last dimension, biased variance.
                    mean = h.mean(-1, keepdim=True)
                    var = ((h - mean) ** 2).mean(-1, keepdim=True)
                    return ((h - mean) / torch.sqrt(var + eps)
                            * state[p + "weight"] + state[p + "bias"])
                return layernorm
            if kind == "maxpool2d":
                _, k, s = spec

                def pool(h):
                    assert h.dim() == 4, list(h.shape)
                    return F.max_pool2d(h, k, stride=s)  # floor mode
                return pool
            _, p, rank = spec
            return lambda h: batchnorm(h, p, rank)

        class Layer:
            """A layer: callable, and its parameters as attributes (tok.weight)."""
            def __init__(self, spec):
                self.fn = layer(spec)
                self.p = spec[1] if isinstance(spec[1], str) else None

            def __call__(self, h):
                return self.fn(h)

            def __getattr__(self, name):
                return state[self.p + name]

        scope = dict(env)
        # A Parameter is a tensor, used by its name.
        scope.update({k: state[v[1]] if v[0] == "parameter" else Layer(v)
                      for k, v in calls.items()})
        scope.update(
            N=x.shape[0], relu=F.relu, sigmoid=torch.sigmoid, tanh=torch.tanh,
            gelu=F.gelu, softmax=lambda t, dim=-1: F.softmax(t, dim=dim),
            log_softmax=lambda t, dim=-1: F.log_softmax(t, dim=dim),
            flatten=lambda t: t.reshape(t.shape[0], -1),
            reshape=lambda t, *dims: t.reshape(tuple(_int_dim(d) for d in dims)),
            sum=lambda t, dim: t.sum(dim), mean=lambda t, dim: t.mean(dim),
            matmul=torch.matmul, transpose=torch.transpose)
        scope.update(arange=torch.arange, scaled_dot_product_attention=attention)
        scope.update(onnx_builtins())
        scope[m["arg"]] = x
        want = [x.shape[0] if d == "N" else eval(d, {}, dict(env))
                for d in m["shape"]]
        assert list(x.shape) == want, (name, list(x.shape), want)
        assert x.dtype == {"f32": torch.float64, "i64": torch.int64}[m["dtype"]]
        for st in m["stmts"]:
            if st.startswith("return "):
                return eval(_py(st[len("return "):]), {"__builtins__": {}}, scope)
            k, e = (s.strip() for s in st.split("=", 1))
            scope[k] = eval(_py(e), {"__builtins__": {}}, scope)
        raise AssertionError("no return in " + name)

    return forward


def check_model_text(case, nn_text, module, x):
    """model.nn's forward must agree with the module (a copy of it, in float64)
    in evaluation and in training mode, and in training mode update the same
    BatchNorm buffers to the same values; the declared parameters and buffers
    must be exactly the state_dict's."""
    models, text = _parse_models(nn_text)
    tm = re.search(r"\btrain\s+(\w+)\s*(?:\(([^)]*)\))?\s*\{([^}]*)\}", text)
    top, over, body = tm.group(1), tm.group(2) or "", tm.group(3)
    kw = {}
    for p in filter(None, (s.strip() for s in over.split(","))):
        k, v = (s.strip() for s in p.split("="))
        kw[k] = int(v)
    shapes = {}
    fwd = _instantiate(models, top, _bind(models, top, (), kw), "", shapes)
    state = {k: v.detach().double() for k, v in module.state_dict().items()}
    got = {k: tuple(v.shape) for k, v in state.items()}
    assert shapes == got, (case["name"], shapes, got)
    buffers = {k for k, _ in module.named_buffers()}
    if x.is_floating_point():
        x = x.double()
    for training in (False, True):
        ref_module = copy.deepcopy(module).double().train(training)
        mode = {"training": training, "updates": {}}
        with torch.no_grad():
            ref = ref_module(x)
            out = fwd(state, x, mode)
        assert out.shape == ref.shape, (out.shape, ref.shape)
        assert torch.allclose(out, ref, rtol=1e-12, atol=1e-12), \
            (case["name"], training)
        assert set(mode["updates"]) == (buffers if training else set())
        ref_state = ref_module.state_dict()
        for k, v in mode["updates"].items():
            assert torch.allclose(v, ref_state[k].double(), rtol=1e-12,
                                  atol=1e-12), (case["name"], k)
    kv = dict(re.findall(r"(\w+)\s*=\s*(.+)", body))
    assert kv["loss"].strip() == case["loss"]
    assert int(kv["epochs"]) == case["epochs"] and int(kv["batch"]) == case["batch"]
    assert kv["shuffle"].strip() == "false"
    assert float(kv.get("clip_grad_norm", 0)) == case.get("clip", 0)

# ---------------------------------------------------------------------------

def train_block(case):
    head = case["model"]
    if case.get("overrides"):
        head += "(" + ", ".join("%s = %s" % kv for kv in case["overrides"]) + ")"
    kind, args = case["optimizer"]
    opt = "%s(%s)" % (kind, ", ".join("%s = %s" % kv for kv in args))
    data = 'csv("train.csv", target = "label")'
    if case.get("data", {}).get("source") == "text":
        data = 'text("%s")' % case["data"]["file"]
    return """\
train %s {
    data      = %s
    shuffle   = false
    loss      = %s
    optimizer = %s
    epochs    = %d
    batch     = %d
%s}
""" % (head, data, case["loss"], opt, case["epochs"], case["batch"],
       "    clip_grad_norm = %s\n" % case["clip"] if case.get("clip") else "")


def write(path, data):
    if isinstance(data, str):
        data = data.encode("utf-8")
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(data)
    os.replace(tmp, path)


def generate(case):
    # oneDNN (mkldnn) is off unless the case says onednn=True: its kernels
    # (conv2d, gelu) give results that depend on the CPU's instruction set
    # (AVX2 and AVX-512 agree, SSE4.1 does not); ATen's own kernels (conv2d
    # as unfold + the reference BLAS) do not use it.
    with torch.backends.mkldnn.flags(enabled=case.get("onednn", False)):
        _generate(case)


def _generate(case):
    d = os.path.join(HERE, "pending" if case.get("pending") else "",
                     case["name"])
    os.makedirs(d, exist_ok=True)

    covers = textwrap.wrap("Covers: %s; loss %s; optimizer %s." % (
        case["covers"], case["loss"], case["optimizer"][0]), 76)
    nn_text = ("// Generated by testdata/parity/gen.py; do not edit.\n"
               + "".join("// %s\n" % line for line in covers) + "\n"
               + case["nn"] + "\n" + train_block(case))
    nn_sha = hashlib.sha256(nn_text.encode("utf-8")).hexdigest()
    meta = {"model": case["model"], "source_sha256": nn_sha}

    if case.get("data", {}).get("source") == "text":
        data_file, (data_text, x, y) = case["data"]["file"], make_text(case)
    else:
        data_file, (data_text, x, y) = "train.csv", make_data(case)

    torch.manual_seed(case["seed"])
    model = case["make"]()
    check_model_text(case, nn_text, model, x)
    init = safetensors_bytes(model.state_dict(), meta)
    back = read_safetensors(init)
    assert sorted(back) == sorted(model.state_dict())
    for k, v in model.state_dict().items():
        assert torch.equal(back[k], v), k

    expected = train(case, model, x, y)
    check_model_text(case, nn_text, model, x)  # trained BatchNorm statistics
    final = safetensors_bytes(model.state_dict(), meta)

    write(os.path.join(d, "model.nn"), nn_text)
    write(os.path.join(d, data_file), data_text)
    write(os.path.join(d, "init.safetensors"), init)
    write(os.path.join(d, "final.safetensors"), final)
    write(os.path.join(d, "expected.json"), json.dumps(expected, indent=2) + "\n")

    ep = expected["epochs"]
    print("%-26s loss %.6f -> %.6f  final %s" % (
        case["name"], ep[0]["loss"], ep[-1]["loss"],
        json.dumps(expected["final"])))


def check_blas():
    """Only the reference BLAS/LAPACK may be mapped (no OpenBLAS, MKL, ...)."""
    with open("/proc/self/maps") as f:
        libs = {line.split()[-1] for line in f if "/" in line}
    blas = sorted(p for p in libs
                  if re.search(r"blas|lapack|mkl", os.path.basename(p)))
    want = [os.path.realpath(p) for p in REFERENCE_BLAS]
    assert blas == sorted(want), "BLAS in use: %s, want %s" % (blas, want)


def main():
    check_blas()
    cap = re.search(r"CPU capability usage: (\w+)", torch.__config__.show())
    if not cap or cap.group(1) != "AVX2":
        print("gen.py: warning: PyTorch runs its %s kernels, the data was made "
              "with AVX2 ones; the files may differ in the last bits"
              % (cap.group(1) if cap else "unknown"), file=sys.stderr)
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    names = sys.argv[1:]
    for case in CASES:
        if not names or case["name"] in names:
            generate(case)


if __name__ == "__main__":
    main()
