#!/usr/bin/env python3
"""Reference attributions for `nnc explain`, computed by torch.autograd.

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE /usr/bin/python3 testdata/explain/gen.py

For each model (mlp.nn, cnn.nn, and their float32 copies mlp32.nn, cnn32.nn
that this script writes) it writes, from a seeded PyTorch mirror of the
model in evaluation mode:

    M.safetensors      the weights (F64 for mlp/cnn, F32 for mlp32/cnn32);
                       the CNN's batch norm has random running statistics,
                       scale and shift, so that its evaluation form matters
    M_x.npy            the input rows (float64, or float32 for the 32 copies)
    M_saliency.npy     |dy_t/dx|, t each row's predicted class
                       (captum.attr.Saliency's default, abs=True)
    M_ig.npy           integrated gradients of the predicted class from the
                       zero baseline with 50 Gauss-Legendre points, as
                       captum.attr.IntegratedGradients computes them by
                       default (method="gausslegendre", n_steps=50)
    M_ig_t1.npy        the same for class 1 on every row (--target 1)
    M.json             {"targets": predicted classes, "gap": y_t(x) - y_t(0)}

Everything is computed in float64. For the float32 copies the weights and
inputs are rounded to float32 first and the reference is the float64
computation on those values: the exact answer for the float32 model, which
nnc's float32 arithmetic must come within 1e-5 of.
"""
import json
import os
import struct

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
torch.set_num_threads(1)


class MLP(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(12, 16)
        self.fc2 = nn.Linear(16, 8)
        self.fc3 = nn.Linear(8, 3)

    def forward(self, x):
        h = F.relu(self.fc1(x))
        h = torch.tanh(self.fc2(h))
        return self.fc3(h)


class CNN(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 4, 3, padding=1)
        self.bn = nn.BatchNorm2d(4)
        self.pool = nn.MaxPool2d(2)
        self.fc = nn.Linear(4 * 4 * 4, 3)

    def forward(self, x):
        h = self.pool(F.relu(self.bn(self.conv(x))))
        return self.fc(torch.flatten(h, 1))


def leggauss01(n):
    """Captum's "gausslegendre" points on [0, 1] and their weights."""
    x, w = np.polynomial.legendre.leggauss(n)
    return 0.5 * (x + 1), 0.5 * w


def grad(model, x, target):
    x = x.clone().requires_grad_(True)
    y = model(x)
    (g,) = torch.autograd.grad(y.gather(1, target[:, None]).sum(), x)
    return g


def integrated_gradients(model, x, target, steps=50):
    alphas, weights = leggauss01(steps)
    total = torch.zeros_like(x)
    for a, w in zip(alphas, weights):
        total += float(w) * grad(model, float(a) * x, target)
    return x * total


def safetensors_bytes(state, metadata, f32):
    names = sorted(state, key=lambda k: (state[k].dtype != torch.int64, k))
    header = {"__metadata__": metadata}
    blobs, off = [], 0
    for name in names:
        t = state[name].detach().contiguous()
        if t.dtype == torch.int64:
            dtype, data = "I64", t.numpy().astype("<i8").tobytes()
        elif f32:
            dtype, data = "F32", t.numpy().astype("<f4").tobytes()
        else:
            dtype, data = "F64", t.numpy().astype("<f8").tobytes()
        header[name] = {"dtype": dtype, "shape": list(t.shape),
                        "data_offsets": [off, off + len(data)]}
        blobs.append(data)
        off += len(data)
    h = json.dumps(header, separators=(",", ":")).encode("utf-8")
    h += b" " * ((8 - len(h) % 8) % 8)
    return struct.pack("<Q", len(h)) + h + b"".join(blobs)


def case(name, model_name, model, x, f32):
    model = model.double().eval()
    if f32:  # the values the float32 model holds, computed in float64
        with torch.no_grad():
            for t in model.state_dict().values():
                if t.dtype == torch.float64:
                    t.copy_(t.float().double())
        x = x.float().double()
    with open(os.path.join(HERE, name + ".safetensors"), "wb") as f:
        f.write(safetensors_bytes(model.state_dict(), {"model": model_name}, f32))
    dt = np.float32 if f32 else np.float64
    np.save(os.path.join(HERE, name + "_x.npy"), x.numpy().astype(dt))
    with torch.no_grad():
        y = model(x)
        y0 = model(torch.zeros_like(x))
    target = y.argmax(1)
    sal = grad(model, x, target).abs()
    ig = integrated_gradients(model, x, target)
    ig1 = integrated_gradients(model, x, torch.ones_like(target))
    for suffix, a in (("saliency", sal), ("ig", ig), ("ig_t1", ig1)):
        np.save(os.path.join(HERE, "%s_%s.npy" % (name, suffix)), a.numpy())
    gap = (y - y0).gather(1, target[:, None])[:, 0]
    rel = ((ig.flatten(1).sum(1) - gap).abs() / gap.abs()).max().item()
    print("%s: completeness error at most %.2g of y(x) - y(0)" % (name, rel))
    with open(os.path.join(HERE, name + ".json"), "w") as f:
        json.dump({"targets": target.tolist(), "gap": gap.tolist()}, f)
        f.write("\n")


def main():
    for name in ("mlp", "cnn"):
        src = open(os.path.join(HERE, name + ".nn")).read()
        with open(os.path.join(HERE, name + "32.nn"), "w") as f:
            f.write(src.replace("f64[", "f32[").replace(
                "// A", "// The float32 copy of %s.nn (written by gen.py).\n// A" % name, 1))
    for f32 in (False, True):
        suffix = "32" if f32 else ""
        torch.manual_seed(1)
        mlp = MLP()
        with torch.no_grad():  # larger outputs than at initialisation
            for layer in (mlp.fc1, mlp.fc2, mlp.fc3):
                layer.weight.mul_(3)
        case("mlp" + suffix, "ExplainMLP", mlp, torch.randn(5, 12, dtype=torch.float64), f32)
        torch.manual_seed(2)
        cnn = CNN()
        with torch.no_grad():
            cnn.bn.running_mean.copy_(0.2 * torch.randn(4))
            cnn.bn.running_var.copy_(0.5 + torch.rand(4))
            cnn.bn.weight.copy_(1 + 0.3 * torch.randn(4))
            cnn.bn.bias.copy_(0.1 * torch.randn(4))
            cnn.conv.weight.mul_(3)
            cnn.fc.weight.mul_(4)
        case("cnn" + suffix, "ExplainCNN", cnn, torch.rand(4, 1, 8, 8, dtype=torch.float64), f32)


if __name__ == "__main__":
    main()
