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
Usage: /usr/bin/python3 bench/torch_bench.py [seed] [mnist] [gemm] [gpt]   (default: all)
"""
import os, sys, time

which = sys.argv[1:] or ["all"]
if any(w in ("-h", "-help", "--help") for w in which):
    print(__doc__.strip())
    sys.exit(0)
unknown = [w for w in which if w not in ("all", "seed", "mnist", "gemm", "gpt")]
if unknown:
    sys.exit(f"torch_bench.py: unknown figure set {unknown[0]!r}; the sets are seed, mnist, gemm, gpt (default: all)")

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
if "all" in which or "gpt" in which:
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import gpt_torch
    t = gpt_torch.step_time(32)
    print(f"gpt_train_step_b32_us {t*1e6:.1f} us  ({gpt_torch.STEP_FLOP/t/1e9:.1f} GFLOP/s)")
