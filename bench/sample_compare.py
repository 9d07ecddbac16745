#!/usr/bin/python3
"""sample_compare.py: nnc sample against PyTorch's forward-per-token loop
on makemore's GPT (bench/models/gpt_sample.nn, bench/torch_sample.py),
per generated character at batch 1, alternating the two ROUNDS times
(default 5), and prints the medians and the ratios PyTorch / nnc (above 1:
nnc is faster).

Two lengths: 200 characters from a newline (the context of 16 fills, then
slides: from then on every character runs the whole forward pass in nnc
too, since moving the window moves every cached key's position), and 15
(the window never slides: every character is one step of the KV cache).
nnc is timed with and without the cache (-no-cache), in the interpreter
and the generated Go (bench/sampletime), for both policies of a full
window: slide (the default; the text PyTorch's loop draws) and shift (drop
the older half, feed the rest again from position 0 and go on with the
cache: about two steps of the cache per character). Times are processor time (user
and system) per character, one thread on both sides: on a machine shared
with other work the wall clock counts their time too.

The model is first trained for one epoch on 3000 words of
/usr/share/dict/words (Debian: wamerican) so that its checkpoint records
the vocabulary; speed does not depend on the weights.

Needs Debian's PyTorch (apt-get install -y python3-torch), wamerican and Go.
Usage: /usr/bin/python3 bench/sample_compare.py [ROUNDS]
"""
import os, re, statistics, subprocess, sys, tempfile

if any(a in ("-h", "-help", "--help") for a in sys.argv[1:]):
    print(__doc__.strip())
    sys.exit(0)
rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 5
root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if subprocess.run(["/usr/bin/python3", "-c", "import torch"], capture_output=True).returncode != 0:
    sys.exit("sample_compare.py: /usr/bin/python3 has no PyTorch (Debian: apt-get install -y python3-torch)")
if not os.path.exists("/usr/share/dict/words"):
    sys.exit("sample_compare.py: no /usr/share/dict/words (Debian: apt-get install -y wamerican)")

tmp = tempfile.mkdtemp()
nnc, sampletime = os.path.join(tmp, "nnc"), os.path.join(tmp, "sampletime")
subprocess.run(["go", "build", "-o", nnc, "./cmd/nnc"], cwd=root, check=True)
subprocess.run(["go", "build", "-o", sampletime, "./bench/sampletime"], cwd=root, check=True)
with open("/usr/share/dict/words") as f:
    words = [w for w in f.read().split("\n") if re.fullmatch("[a-z]+", w)][:3000]
with open(os.path.join(tmp, "words.txt"), "w") as f:
    f.write("\n".join(words) + "\n")
with open(os.path.join(root, "bench", "models", "gpt_sample.nn")) as f:
    model = f.read()
with open(os.path.join(tmp, "gpt_sample.nn"), "w") as f:
    f.write(model)
ckpt = os.path.join(tmp, "gpt.safetensors")
subprocess.run([nnc, "run", "gpt_sample.nn", "--save", ckpt, "--quiet"], cwd=tmp, check=True, capture_output=True)

env = dict(os.environ, TORCH_THREADS="1", OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1", MKL_NUM_THREADS="1", NNC_THREADS="1")
for k in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE"):
    env.pop(k, None)
sys.path.insert(0, os.path.join(root, "bench"))
from peer_blas import require_fast_blas
print(f"PyTorch's BLAS: {require_fast_blas('sample_compare.py', env)}")
runs = {}


def record(out):
    for line in out.splitlines():
        f = line.split()
        if len(f) == 2:
            runs.setdefault(f[0], []).append(float(f[1]))


for _ in range(rounds):
    record(subprocess.run(["/usr/bin/python3", os.path.join(root, "bench", "torch_sample.py"), "1", "200", "15"],
                          env=env, capture_output=True, text=True, check=True).stdout)
    record(subprocess.run([sampletime, "-file", "gpt_sample.nn", "-weights", ckpt, "-tokens", "200,15", "-rounds", "1"],
                          cwd=tmp, env=env, capture_output=True, text=True, check=True).stdout)

med = {k: statistics.median(v) for k, v in runs.items()}
print(f"µs per character, median of {rounds} alternating rounds (processor time, one thread)")
for n in (200, 15):
    t = med[f"torch_{n}_us_per_char"]
    print(f"\n{n} characters: PyTorch {t:.1f}")
    for window in ("slide", "shift"):
        for side in ("go", "interp"):
            for mode in ("cache", "nocache"):
                v = med[f"{side}_{window}_{mode}_{n}_us_per_char"]
                print(f"  nnc --window {window} {side:6s} {'KV cache' if mode == 'cache' else 'no cache':8s} {v:8.1f}   PyTorch/nnc {t / v:5.1f}x")
