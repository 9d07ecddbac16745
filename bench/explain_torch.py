#!/usr/bin/python3
"""explain_torch.py: the PyTorch peer of BenchmarkExplain (train/
explain_bench_test.go): saliency and integrated gradients (50
Gauss-Legendre steps, zero baseline, as captum.attr computes them by
default, all steps in one batch) of 64 random rows by the MNIST examples'
models in evaluation mode, with a plain torch.autograd loop (Captum itself
is not packaged by Debian). Prints one line per case, "NAME µs/row", the
median of ROUNDS timings.

Usage: env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE OMP_NUM_THREADS=1 \\
       OPENBLAS_NUM_THREADS=1 /usr/bin/python3 bench/explain_torch.py [ROUNDS]
"""
import statistics, sys, time
import numpy as np
import torch, torch.nn as nn

torch.set_num_threads(1)
torch.manual_seed(1)
rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 3
ROWS, STEPS = 64, 50

mlp = nn.Sequential(nn.Flatten(), nn.Linear(784, 128), nn.ReLU(), nn.Linear(128, 10))
cnn = nn.Sequential(
    nn.Conv2d(1, 8, 5, padding=2), nn.BatchNorm2d(8), nn.ReLU(), nn.MaxPool2d(2),
    nn.Conv2d(8, 16, 5), nn.BatchNorm2d(16), nn.ReLU(), nn.MaxPool2d(2),
    nn.Flatten(), nn.Linear(400, 128), nn.ReLU(), nn.Dropout(0.25), nn.Linear(128, 10))
x = torch.rand(ROWS, 1, 28, 28)


def grads(model, x, target):
    x = x.detach().requires_grad_(True)
    y = model(x)
    (g,) = torch.autograd.grad(y.gather(1, target[:, None]).sum(), x)
    return g


def saliency(model, x):
    with torch.no_grad():
        target = model(x).argmax(1)
    return grads(model, x, target).abs()


def ig(model, x):
    with torch.no_grad():
        target = model(x).argmax(1)
    a, w = np.polynomial.legendre.leggauss(STEPS)
    alphas = torch.tensor(0.5 * (a + 1), dtype=x.dtype)
    weights = torch.tensor(0.5 * w, dtype=x.dtype)
    scaled = (alphas[:, None, None, None, None] * x[None]).reshape(STEPS * ROWS, *x.shape[1:])
    g = grads(model, scaled, target.repeat(STEPS)).reshape(STEPS, *x.shape)
    return x * (weights[:, None, None, None, None] * g).sum(0)


for name, model in (("mnist_mlp", mlp), ("mnist_cnn", cnn)):
    model.eval()
    for method, f in (("saliency", saliency), ("ig", ig)):
        f(model, x)  # warm up
        times = []
        for _ in range(rounds):
            t0 = time.perf_counter()
            f(model, x)
            times.append(time.perf_counter() - t0)
        print(f"{name}/{method} {statistics.median(times) / ROWS * 1e6:.1f}", flush=True)
