#!/usr/bin/python3
"""compare.py: nnc against PyTorch (CPU) on the shapes of
bench/torch_bench.py, alternating the two ROUNDS times, and
prints the median of each figure and the ratio PyTorch time / nnc time
(above 1: nnc is faster) for the interpreter and the generated Go, then the
single-precision GEMM at 256x256x256 (GFLOP/s) of both, the GFLOP/s of
the training step of the character GPT (examples/names.nn, batch 32; its
PyTorch twin is bench/gpt_torch.py) beside nnc's GEMM, then int8
inference: PyTorch's own (torch.ao.quantization: quantize_dynamic for the
MNIST MLP, static quantization for the CNN) against nnc's int8 checkpoints
(nnc quantize of the examples' untrained weights, calibrated on 100 MNIST
samples: the speed does not depend on the values) and nnc's float32, in
the interpreter and (rows ending "go") the generated Go.

Both sides get the same number of threads (--threads, default 1): nnc
through --threads / NNC_THREADS, PyTorch through TORCH_THREADS and the
variables OpenBLAS and OpenMP read (OPENBLAS_NUM_THREADS, OMP_NUM_THREADS).
torch.set_num_threads alone does not reach the OpenBLAS that Debian's
PyTorch multiplies matrices with: without them "one thread" is as many as
the machine has. --blas-default leaves them unset, to show that setting.

Needs Debian's PyTorch with OpenBLAS (apt-get install -y python3-torch
libopenblas0-pthread) and Go.
TORCH_BENCH names another peer script than bench/torch_bench.py.
Usage: /usr/bin/python3 bench/compare.py [ROUNDS] [--threads N] [--blas-default] [--only seed|mnist|gpt|int8]
"""
import argparse, json, os, re, statistics, subprocess, sys, tempfile

ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
ap.add_argument("rounds", nargs="?", type=int, default=5, help="alternating rounds (default 5)")
ap.add_argument("--threads", type=int, default=1, help="threads for both sides (default 1)")
ap.add_argument("--blas-default", action="store_true", help="leave OpenBLAS/OpenMP threads unset for PyTorch")
ap.add_argument("--only", choices=["seed", "mnist", "gpt", "int8"], action="append", help="measure only these models (repeatable; default: all)")
opt = ap.parse_args()

root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
torch_script = os.environ.get("TORCH_BENCH", os.path.join(root, "bench", "torch_bench.py"))
if not os.path.exists(torch_script):
    sys.exit(f"compare.py: the peer script {torch_script} does not exist")
if subprocess.run(["/usr/bin/python3", "-c", "import torch"], capture_output=True).returncode != 0:
    sys.exit("compare.py: /usr/bin/python3 has no PyTorch (Debian: apt-get install -y python3-torch)")
nnc = os.path.join(tempfile.mkdtemp(), "nnc")
subprocess.run(["go", "build", "-o", nnc, "./cmd/nnc"], cwd=root, check=True)
kbench = os.path.join(os.path.dirname(nnc), "kernels.test")
subprocess.run(["go", "test", "-c", "-o", kbench, "./kernels"], cwd=root, check=True)

threads = str(opt.threads)
torch_env = dict(os.environ, TORCH_THREADS=threads)
# This machine's OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE hold Debian's OpenBLAS
# to AVX2 kernels: PyTorch runs without them, at full speed (results checked
# correct on these CPUs); nnc's side never reads them.
for k in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE"):
    torch_env.pop(k, None)
if not opt.blas_default:
    torch_env.update(OPENBLAS_NUM_THREADS=threads, OMP_NUM_THREADS=threads, MKL_NUM_THREADS=threads)
nnc_env = dict(os.environ, NNC_THREADS=threads)
sys.path.insert(0, os.path.join(root, "bench"))
from peer_blas import require_fast_blas
torch_blas = require_fast_blas("compare.py", torch_env)

figures = {
    "seed_train_step_us": ("examples/seed.nn", ["--train"]),
    "seed_infer_b1_us": ("examples/seed.nn", ["--batch", "1"]),
    "mnist_train_step_b64_us": ("bench/models/mnist_mlp.nn", ["--train"]),
    "mnist_infer_b1_us": ("bench/models/mnist_mlp.nn", ["--batch", "1"]),
    "mnist_infer_b256_us": ("bench/models/mnist_mlp.nn", ["--batch", "256"]),
    "gpt_train_step_b32_us": ("examples/names.nn", ["--train", "--batch", "32"]),
}
sets = opt.only or ["seed", "mnist", "gpt", "int8"]
figures = {k: v for k, v in figures.items() if k.split("_")[0] in sets}
# int8: figure -> (model, batch)
int8_figures = {
    "mnist_int8_infer_b1_us": ("examples/mnist_mlp.nn", "1"),
    "mnist_int8_infer_b256_us": ("examples/mnist_mlp.nn", "256"),
    "cnn_int8_infer_b64_us": ("examples/mnist_cnn.nn", "64"),
}
if "int8" not in sets:
    int8_figures = {}
qdir = tempfile.mkdtemp()
qckpt = {}
for model in sorted({m for m, _ in int8_figures.values()}):
    base = os.path.join(qdir, os.path.basename(model))
    subprocess.run([nnc, "run", model, "--epochs", "0", "--save", base + ".safetensors", "--quiet"], cwd=root, check=True, capture_output=True)
    subprocess.run([nnc, "quantize", model, "--weights", base + ".safetensors", "-o", base + ".int8.safetensors", "--calib", "100"], cwd=root, check=True, capture_output=True)
    qckpt[model] = base + ".int8.safetensors"
# The matrix products of the GPT's training step (bench/gpt_torch.py).
sys.path.insert(0, os.path.join(root, "bench"))
from gpt_torch import STEP_FLOP as GPT_STEP_FLOP
runs = {"torch": {}, "interp": {}, "go": {}, "int8": {}, "float": {}, "int8go": {}, "floatgo": {}}
gemm = {"torch": [], "nnc": []}
for _ in range(opt.rounds):
    out = subprocess.run(["/usr/bin/python3", torch_script, "gemm"] + sets, env=torch_env, capture_output=True, text=True, check=True).stdout
    for line in out.splitlines():
        f = line.split()
        if f and (f[0] in figures or f[0] in int8_figures):
            runs["torch"].setdefault(f[0], []).append(float(f[1]))
        if f and f[0] == "sgemm_256_gflops":
            gemm["torch"].append(float(f[1]))
    for backend in ("interp", "go"):
        for fig, (model, args) in figures.items():
            out = subprocess.run([nnc, "bench", model, "--backend", backend, "--json", "--threads", threads] + args, cwd=root, env=nnc_env, capture_output=True, text=True, check=True).stdout
            runs[backend].setdefault(fig, []).append(json.loads(out)["us_per_step"])
    for fig, (model, batch) in int8_figures.items():
        # Both back ends: the interpreter and the generated Go (the int8
        # weights embedded, as nnc build writes the package).
        for kind, extra in (("int8", ["--weights", qckpt[model]]), ("float", []),
                            ("int8go", ["--weights", qckpt[model], "--backend", "go"]), ("floatgo", ["--backend", "go"])):
            out = subprocess.run([nnc, "bench", model, "--batch", batch, "--json", "--threads", threads] + extra, cwd=root, env=nnc_env, capture_output=True, text=True, check=True).stdout
            runs[kind].setdefault(fig, []).append(json.loads(out)["us_per_step"])
    out = subprocess.run([kbench, "-test.run", "^$", "-test.bench", "Gemm/nnc/float32/256x256x256$", "-test.benchtime", "1s"], cwd=os.path.join(root, "kernels"), env=nnc_env, capture_output=True, text=True, check=True).stdout
    m = re.search(r"([0-9.]+) GFLOP/s", out)
    gemm["nnc"].append(float(m.group(1)))

blas = "OpenBLAS threads unset" if opt.blas_default else "OpenBLAS threads pinned"
print(f"threads {threads} ({blas}), {opt.rounds} alternating rounds, medians")
print(f"PyTorch's BLAS: {torch_blas}")
print(f"{'figure (µs)':28} {'torch':>10} {'interp':>10} {'go':>10} {'interp x':>9} {'go x':>9}")
for fig in figures:
    t, i, g = (statistics.median(runs[k][fig]) for k in ("torch", "interp", "go"))
    print(f"{fig:28} {t:10.2f} {i:10.2f} {g:10.2f} {t / i:8.2f}x {t / g:8.2f}x")
t, n = statistics.median(gemm["torch"]), statistics.median(gemm["nnc"])
print(f"{'sgemm_256 (GFLOP/s)':28} {t:10.1f} {n:10.1f} {'':10} {n / t * 100:7.0f}% of PyTorch's")
if "gpt" in sets:
    g = {k: GPT_STEP_FLOP / statistics.median(runs[k]["gpt_train_step_b32_us"]) / 1e3 for k in ("torch", "interp", "go")}
    print(f"{'gpt step (GFLOP/s)':28} {g['torch']:10.1f} {g['interp']:10.1f} {g['go']:10.1f}   nnc sgemm_256 {n:.1f}")
if int8_figures:
    # nnc's figures in the interpreter, then in generated Go (--backend go).
    print(f"{'int8 figure (µs)':28} {'torch i8':>10} {'nnc f32':>10} {'nnc i8':>10} {'vs torch':>9} {'vs f32':>9}"
          f" {'go f32':>10} {'go i8':>10} {'vs torch':>9} {'vs f32':>9}")
    for fig in int8_figures:
        t, f, q, fg, qg = (statistics.median(runs[k][fig]) for k in ("torch", "float", "int8", "floatgo", "int8go"))
        print(f"{fig:28} {t:10.2f} {f:10.2f} {q:10.2f} {t / q:8.2f}x {f / q:8.2f}x"
              f" {fg:10.2f} {qg:10.2f} {t / qg:8.2f}x {fg / qg:8.2f}x")
