#!/usr/bin/python3
"""compare.py: nnc against PyTorch (CPU, one thread) on the shapes of
../shared/bench/torch_bench.py, alternating the two ROUNDS times (default 5),
and prints the median of each figure and the ratio PyTorch time / nnc time
(above 1: nnc is faster), for the interpreter and the generated Go.

Needs Debian's PyTorch (apt-get install -y python3-torch) and Go.
Usage: /usr/bin/python3 bench/compare.py [ROUNDS]
"""
import json, os, statistics, subprocess, sys, tempfile

root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 5
torch_script = os.environ.get("TORCH_BENCH", os.path.join(root, "..", "shared", "bench", "torch_bench.py"))
nnc = os.path.join(tempfile.mkdtemp(), "nnc")
subprocess.run(["go", "build", "-o", nnc, "./cmd/nnc"], cwd=root, check=True)

figures = {
    "seed_train_step_us": ("examples/seed.nn", ["--train"]),
    "seed_infer_b1_us": ("examples/seed.nn", ["--batch", "1"]),
    "mnist_train_step_b64_us": ("bench/models/mnist_mlp.nn", ["--train"]),
    "mnist_infer_b1_us": ("bench/models/mnist_mlp.nn", ["--batch", "1"]),
    "mnist_infer_b256_us": ("bench/models/mnist_mlp.nn", ["--batch", "256"]),
}
runs = {"torch": {}, "interp": {}, "go": {}}
for _ in range(rounds):
    env = dict(os.environ, TORCH_THREADS="1")
    out = subprocess.run(["/usr/bin/python3", torch_script, "seed", "mnist"], env=env, capture_output=True, text=True, check=True).stdout
    for line in out.splitlines():
        f = line.split()
        if f and f[0] in figures:
            runs["torch"].setdefault(f[0], []).append(float(f[1]))
    for backend in ("interp", "go"):
        for fig, (model, args) in figures.items():
            out = subprocess.run([nnc, "bench", model, "--backend", backend, "--json"] + args, cwd=root, capture_output=True, text=True, check=True).stdout
            runs[backend].setdefault(fig, []).append(json.loads(out)["us_per_step"])

print(f"{'figure (median µs of ' + str(rounds) + ')':28} {'torch':>10} {'interp':>10} {'go':>10} {'interp x':>9} {'go x':>9}")
for fig in figures:
    t, i, g = (statistics.median(runs[k][fig]) for k in ("torch", "interp", "go"))
    print(f"{fig:28} {t:10.2f} {i:10.2f} {g:10.2f} {t / i:8.2f}x {t / g:8.2f}x")
