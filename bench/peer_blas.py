"""peer_blas.py: which BLAS Debian's PyTorch loaded.

Debian's PyTorch multiplies matrices with whichever libblas.so.3 the system
provides. With only the reference BLAS (libblas3, what
--no-install-recommends gives) its GEMM runs at a few GFLOP/s, and a ratio
against it would flatter nnc, so the comparison scripts name the library and
refuse the reference one.
"""
import os, subprocess, sys

_PROBE = "import torch\nprint(' '.join(sorted({l.split()[-1] for l in open('/proc/self/maps') if 'blas' in l.split()[-1]})))"


def require_fast_blas(script, env):
    """Returns the names of the BLAS libraries PyTorch maps under env, or
    exits naming the fix when none of them is OpenBLAS or MKL."""
    libs = subprocess.run(["/usr/bin/python3", "-c", _PROBE], env=env, capture_output=True, text=True, check=True).stdout.split()
    fast = lambda l: "openblas" in l or "mkl" in l
    # Debian's libblas.so.3 is the one PyTorch calls sgemm through: the
    # reference one may come with OpenBLAS's LAPACK mapped beside it.
    blas = [l for l in libs if os.path.basename(l).startswith("libblas")] or libs
    if not blas or not all(fast(l) for l in blas):
        sys.exit(f"{script}: PyTorch's BLAS is {' '.join(libs) or 'unknown'}, the slow reference one; "
                 "install OpenBLAS (Debian: apt-get install -y libopenblas0-pthread) so the peer runs at full speed")
    return " ".join(os.path.basename(l) for l in libs)
