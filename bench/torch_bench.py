#!/usr/bin/python3
"""torch_bench.py: PyTorch (CPU) on the shapes nnc bench measures, the peer
figures of bench/compare.py.

  seed   the seed MLP of examples/seed.nn (10-10-2, ReLU, SGD lr 0.01,
         cross-entropy): a training step at batch 100, the forward pass at
         batch 1
  mnist  the MLP of bench/models/mnist_mlp.nn (784-128-10, the same
         training): a training step at batch 64, the forward pass at batch
         1 and 256
  gemm   single- and double-precision matrix products at 256 and 1024
         (GFLOP/s), the machine's practical peak
  int8   PyTorch's own int8 inference (torch.ao.quantization), the peer of
         nnc's int8 checkpoints (nnc quantize): the MNIST MLP quantized
         dynamically (quantize_dynamic) at batch 1 and 256, and the CNN of
         examples/mnist_cnn.nn (batch norm folded) quantized statically
         with fbgemm (or, where PyTorch lacks it, onednn) at batch 64, with
         its float32 forward pass beside it
  gpt    the character GPT of examples/names.nn (bench/gpt_torch.py, its
         twin): a training step at batch 32 (forward, cross-entropy,
         backward, clip_grad_norm_, AdamW)

Each figure is timed for about a second after one warm-up call and printed
as one line `name value unit`, the names those compare.py reads. Inputs
are random (torch.manual_seed(0)), as nnc bench's are.

Threads: TORCH_THREADS (default 1) goes to torch.set_num_threads. That does
not reach the OpenBLAS Debian's PyTorch multiplies with: set
OPENBLAS_NUM_THREADS and OMP_NUM_THREADS too, as compare.py does.

Needs PyTorch; Debian's: apt-get install -y python3-torch.
Usage: /usr/bin/python3 bench/torch_bench.py [seed] [mnist] [gemm] [int8] [gpt]   (default: all)
"""
import os, sys, time

which = sys.argv[1:] or ["all"]
if any(w in ("-h", "-help", "--help") for w in which):
    print(__doc__.strip())
    sys.exit(0)
unknown = [w for w in which if w not in ("all", "seed", "mnist", "gemm", "int8", "gpt")]
if unknown:
    sys.exit(f"torch_bench.py: unknown figure set {unknown[0]!r}; the sets are seed, mnist, gemm, int8, gpt (default: all)")

try:
    import torch, torch.nn as nn
except ImportError:
    sys.exit("torch_bench.py: PyTorch is not installed for this Python (Debian: apt-get install -y python3-torch)")

torch.set_num_threads(int(os.environ.get("TORCH_THREADS", "1")))
torch.manual_seed(0)


def timeit(fn, min_time=1.0):
    """Seconds per call of fn, over at least min_time after one warm-up."""
    fn()
    n, t0 = 0, time.perf_counter()
    while True:
        fn()
        n += 1
        dt = time.perf_counter() - t0
        if dt >= min_time:
            return dt / n


def mlp(sizes):
    layers = []
    for i in range(len(sizes) - 1):
        layers.append(nn.Linear(sizes[i], sizes[i + 1]))
        if i < len(sizes) - 2:
            layers.append(nn.ReLU())
    return nn.Sequential(*layers)


def train_step_time(sizes, batch):
    """A training step as nnc bench --train times it: forward, loss,
    backward and the SGD update."""
    m = mlp(sizes)
    opt = torch.optim.SGD(m.parameters(), lr=0.01)
    crit = nn.CrossEntropyLoss()
    x = torch.randn(batch, sizes[0])
    y = torch.randint(0, sizes[-1], (batch,))

    def step():
        opt.zero_grad()
        loss = crit(m(x), y)
        loss.backward()
        opt.step()

    return timeit(step)


def infer_time(sizes, batch):
    m = mlp(sizes).eval()
    x = torch.randn(batch, sizes[0])
    with torch.no_grad():
        return timeit(lambda: m(x))


print("threads", torch.get_num_threads())
if "all" in which or "seed" in which:
    t = train_step_time([10, 10, 2], 100)
    print(f"seed_train_step_us {t*1e6:.1f} us")
    t = infer_time([10, 10, 2], 1)
    print(f"seed_infer_b1_us {t*1e6:.2f} us")
if "all" in which or "mnist" in which:
    t = train_step_time([784, 128, 10], 64)
    print(f"mnist_train_step_b64_us {t*1e6:.1f} us  ({64/t:.0f} samples/s)")
    t = infer_time([784, 128, 10], 1)
    print(f"mnist_infer_b1_us {t*1e6:.2f} us")
    t = infer_time([784, 128, 10], 256)
    print(f"mnist_infer_b256_us {t*1e6:.1f} us  ({256/t:.0f} samples/s)")
if "all" in which or "gemm" in which:
    for n in (256, 1024):
        a, b = torch.randn(n, n), torch.randn(n, n)
        t = timeit(lambda: torch.mm(a, b))
        print(f"sgemm_{n}_gflops {2*n**3/t/1e9:.1f} GFLOP/s")
        a, b = a.double(), b.double()
        t = timeit(lambda: torch.mm(a, b))
        print(f"dgemm_{n}_gflops {2*n**3/t/1e9:.1f} GFLOP/s")
if "all" in which or "int8" in which:
    import torch.ao.quantization as tq

    m = mlp([784, 128, 10]).eval()
    q = tq.quantize_dynamic(m, {nn.Linear}, dtype=torch.qint8)
    for batch in (1, 256):
        x = torch.randn(batch, 784)
        with torch.no_grad():
            t = timeit(lambda: q(x))
        print(f"mnist_int8_infer_b{batch}_us {t*1e6:.2f} us")

    class CNN(nn.Module):
        # examples/mnist_cnn.nn in evaluation mode, batch norm folded into
        # the convolutions as nnc's fuse pass folds it.
        def __init__(self):
            super().__init__()
            self.quant, self.dequant = tq.QuantStub(), tq.DeQuantStub()
            self.conv1, self.relu1, self.pool1 = nn.Conv2d(1, 8, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2)
            self.conv2, self.relu2, self.pool2 = nn.Conv2d(8, 16, 5), nn.ReLU(), nn.MaxPool2d(2)
            self.fc1, self.relu3, self.fc2 = nn.Linear(400, 128), nn.ReLU(), nn.Linear(128, 10)

        def forward(self, x):
            x = self.quant(x)
            x = self.pool1(self.relu1(self.conv1(x)))
            x = self.pool2(self.relu2(self.conv2(x)))
            x = self.relu3(self.fc1(torch.flatten(x, 1)))
            return self.dequant(self.fc2(x))

    # fbgemm where PyTorch has it; Debian's builds onednn (fbgemm's x86
    # successor) and qnnpack instead.
    engine = next(e for e in ("fbgemm", "x86", "onednn", "qnnpack") if e in torch.backends.quantized.supported_engines)
    torch.backends.quantized.engine = engine
    print("int8_engine", engine)
    f = CNN().eval()
    x = torch.rand(64, 1, 28, 28)
    with torch.no_grad():
        t = timeit(lambda: f(x))
    print(f"cnn_infer_b64_us {t*1e6:.1f} us")
    f.qconfig = tq.get_default_qconfig(engine)
    tq.fuse_modules(f, [["conv1", "relu1"], ["conv2", "relu2"], ["fc1", "relu3"]], inplace=True)
    p = tq.prepare(f)
    with torch.no_grad():
        p(torch.rand(256, 1, 28, 28))
    q = tq.convert(p)
    with torch.no_grad():
        t = timeit(lambda: q(x))
    print(f"cnn_int8_infer_b64_us {t*1e6:.1f} us")
if "all" in which or "gpt" in which:
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import gpt_torch
    t = gpt_torch.step_time(32)
    print(f"gpt_train_step_b32_us {t*1e6:.1f} us  ({gpt_torch.STEP_FLOP/t/1e9:.1f} GFLOP/s)")
