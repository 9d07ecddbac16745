package kernels

import (
	"fmt"
	"math"
	"testing"

	"github.com/nnc-go/nnc/internal/testenv"
)

// gemmPaths runs f once for each float32 GEMM implementation this machine
// has: the portable kernels, the AVX2 ones and the AVX-512 ones where the
// CPU has them, the last alone and with 2 and 3 threads. A path it cannot
// run is a subtest that says why, skipped, or failed under CI=true when
// the CPU lacks it: CI must test the assembly nnc ships.
func gemmPaths(t *testing.T, f func(t *testing.T)) {
	avx, avx2 := hasAVX512, hasAVX2
	defer func() { hasAVX512, hasAVX2 = avx, avx2 }()
	hasAVX512, hasAVX2 = false, false
	t.Run("portable", f)
	for _, p := range []struct {
		level string
		have  bool
	}{{"avx2", avx2}, {"avx512", avx}} {
		if p.have {
			continue
		}
		level := p.level
		t.Run(level, func(t *testing.T) {
			why, ciMust := pathMissing(level)
			if why == nil {
				t.Fatalf("the %s kernels are off, and nothing says why", level)
			}
			if ciMust {
				testenv.Require(t, "the "+level+" kernels", "run on a CPU that has them", why)
			}
			t.Skipf("the %s kernels are not tested: %v", level, why)
		})
	}
	if avx2 {
		hasAVX2 = true
		t.Run("avx2", f)
		old := SetThreads(2)
		t.Run("avx2/threads=2", f)
		SetThreads(old)
	}
	if avx {
		hasAVX512 = true
		t.Run("avx512", f)
		// Products split across helpers (columns in parts of 32).
		for _, n := range []int{2, 3} {
			old := SetThreads(n)
			t.Run(fmt.Sprintf("avx512/threads=%d", n), f)
			SetThreads(old)
		}
	}
}

// refEpilogue is C = alpha·op(A)·op(B) + beta·C, + bias, ReLU, in float64.
func refEpilogue(tA, tB bool, m, n, k int, alpha float64, a []float32, lda int, b []float32, ldb int, beta float64, c []float32, ldc int, bias []float32, relu bool) []float64 {
	want := to64(c)
	for i := range m {
		for j := range n {
			var s float64
			for p := range k {
				ai, bi := i*lda+p, p*ldb+j
				if tA {
					ai = p*lda + i
				}
				if tB {
					bi = j*ldb + p
				}
				av, bv := a[ai], b[bi]
				s += float64(av) * float64(bv)
			}
			v := alpha * s
			if beta != 0 {
				v += beta * float64(c[i*ldc+j])
			}
			if bias != nil {
				v += float64(bias[j])
			}
			if relu && v < 0 {
				v = 0
			}
			want[i*ldc+j] = v
		}
	}
	return want
}

// TestGemmEpilogue checks every float32 path, with and without bias and
// ReLU, on sizes around the kernels' tiles (4, 8, 16, 32 and the blocks
// of depth 256), against float64 sums; C is NaN where it must not be read.
func TestGemmEpilogue(t *testing.T) {
	dims := []int{1, 2, 3, 4, 5, 7, 8, 9, 15, 16, 17, 31, 32, 33, 63, 65, 255, 257, 784}
	gemmPaths(t, func(t *testing.T) {
		rng := newRNG()
		for trial := range 300 {
			m, n, k := pickDims(rng, dims, 4<<20)
			tA, tB := trial&1 != 0, trial&2 != 0
			relu := trial&4 != 0
			a, b, c, lda, ldb, ldc := randomGemm[float32](rng, tA, tB, m, n, k)
			var bias []float32
			if trial&8 != 0 {
				bias = randSlice[float32](rng, n, -1, 1)
			}
			alpha := []float32{1, -0.5, 2}[trial%3]
			beta := []float32{0, 1, 0.25, 0, 1}[trial%5]
			want := refEpilogue(tA, tB, m, n, k, float64(alpha), a, lda, b, ldb, float64(beta), c, ldc, bias, relu)
			if beta == 0 {
				for i := range c {
					c[i] = float32(math.NaN())
				}
			}
			name := fmt.Sprintf("tA=%v tB=%v m=%d n=%d k=%d alpha=%v beta=%v bias=%v relu=%v", tA, tB, m, n, k, alpha, beta, bias != nil, relu)
			gemm(tA, tB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, bias, relu)
			for i := range m {
				for j := range n {
					x := i*ldc + j
					tol := 1e-6 * float64(k+2) * 4
					if d := math.Abs(float64(c[x]) - want[x]); !(d <= tol*math.Max(1, math.Abs(want[x]))) {
						t.Fatalf("%s: C[%d,%d] = %v, want %v", name, i, j, c[x], want[x])
					}
				}
				for j := n; j < ldc && i*ldc+j < len(c); j++ {
					if !math.IsNaN(float64(c[i*ldc+j])) && beta == 0 {
						t.Fatalf("%s: C[%d,%d] past n written: %v", name, i, j, c[i*ldc+j])
					}
				}
			}
		}
	})
}

// TestGemmNaN checks that a NaN in A reaches its row of C through ReLU on
// every path, as torch.relu keeps NaN (anomaly detection relies on it).
func TestGemmNaN(t *testing.T) {
	gemmPaths(t, func(t *testing.T) {
		for _, s := range [][3]int{{1, 10, 10}, {100, 10, 10}, {64, 128, 784}, {9, 40, 300}} {
			m, n, k := s[0], s[1], s[2]
			for _, tB := range []bool{false, true} {
				a := make([]float32, m*k)
				b := make([]float32, k*n)
				for i := range b {
					b[i] = -1
				}
				a[(m-1)*k+k/2] = float32(math.NaN())
				c := make([]float32, m*n)
				gemm(false, tB, m, n, k, 1, a, k, b, map[bool]int{false: n, true: k}[tB], 0, c, n, make([]float32, n), true)
				for j := range n {
					if !math.IsNaN(float64(c[(m-1)*n+j])) {
						t.Fatalf("%v tB=%v: C[%d,%d] = %v, want NaN", s, tB, m-1, j, c[(m-1)*n+j])
					}
					if m > 1 && c[j] != 0 {
						t.Fatalf("%v tB=%v: C[0,%d] = %v, want 0", s, tB, j, c[j])
					}
				}
			}
		}
	})
}

func TestAllFinite(t *testing.T) {
	gemmPaths(t, func(t *testing.T) {
		for _, n := range []int{0, 1, 15, 16, 17, 63, 64, 65, 1000} {
			x := make([]float32, n)
			for i := range x {
				x[i] = float32(i) * 1e30
			}
			if !AllFinite(x) {
				t.Fatalf("n=%d: finite values reported not finite", n)
			}
			for _, bad := range []float64{math.NaN(), math.Inf(1), math.Inf(-1)} {
				for _, at := range []int{0, n / 2, n - 1} {
					if n == 0 {
						continue
					}
					y := clone(x)
					y[at] = float32(bad)
					if AllFinite(y) {
						t.Fatalf("n=%d: %v at %d not found", n, bad, at)
					}
					if AllFinite(to64(y)) {
						t.Fatalf("float64, n=%d: %v at %d not found", n, bad, at)
					}
				}
			}
		}
	})
}

// TestVectorLoops checks the kernels with AVX-512 loops (ReluBackward,
// plain SGDStep, ReduceTo over leading dimensions) on every path, at
// lengths around the vector width, against scalar references.
func TestVectorLoops(t *testing.T) {
	gemmPaths(t, func(t *testing.T) {
		rng := newRNG()
		for _, n := range []int{1, 2, 15, 16, 17, 31, 33, 63, 64, 65, 100, 257} {
			x := randSlice[float32](rng, n, -1, 1)
			dy := randSlice[float32](rng, n, -1, 1)
			x[n/2] = float32(math.NaN())
			dx := make([]float32, n)
			ReluBackward(dx, dy, x)
			for i := range n {
				want := dy[i]
				if !(x[i] > 0) {
					want = 0
				}
				if dx[i] != want {
					t.Fatalf("ReluBackward n=%d: dx[%d] = %v, want %v", n, i, dx[i], want)
				}
			}
			r := make([]float32, n)
			Relu(r, x)
			for i := range n {
				if want := max(x[i], 0); r[i] != want && !(x[i] != x[i] && r[i] != r[i]) {
					t.Fatalf("Relu n=%d: dst[%d] = %v, want %v", n, i, r[i], want)
				}
			}
			p := randSlice[float32](rng, n, -1, 1)
			dst := make([]float32, n)
			SGDStep(dst, p, dy, nil, 0.1, 0, 0, false)
			for i := range n {
				if want := p[i] + float32(-0.1)*dy[i]; dst[i] != want {
					t.Fatalf("SGDStep n=%d: dst[%d] = %v, want %v", n, i, dst[i], want)
				}
			}
			// Batch norm's float64 sums.
			var ws, wq, wdy, wdyx float64
			mu, is := 0.3, 1.7
			for i := range n {
				xi, gi := float64(x[i]), float64(dy[i])
				if xi != xi {
					continue
				}
				ws += xi
				wq += (xi - mu) * (xi - mu)
				wdy += gi
				wdyx += gi * (xi - mu) * is
			}
			xs := clone(x)
			xs[n/2] = 0.25 // no NaN here
			d := 0.25 - mu
			ws, wq, wdyx = ws+0.25, wq+d*d, wdyx+float64(dy[n/2])*d*is
			wdy += float64(dy[n/2])
			a, b := sumDyXhat(dy, xs, mu, is)
			for _, c := range [][2]float64{{sum64(xs), ws}, {sumSqDev(xs, mu), wq}, {a, wdy}, {b, wdyx}} {
				if math.Abs(c[0]-c[1]) > 1e-12*float64(n) {
					t.Fatalf("batch-norm sums n=%d: got %v, want %v", n, c[0], c[1])
				}
			}
			// Batch norm's element-wise loops: exactly the scalar operations.
			af := make([]float32, n)
			if affine32(af, x, 1.5, -0.25) {
				for i := range n {
					if want := x[i]*1.5 + -0.25; af[i] != want && !(want != want && af[i] != af[i]) {
						t.Fatalf("affine n=%d at %d: %v, want %v", n, i, af[i], want)
					}
				}
			}
			gx := make([]float32, n)
			if bnGradX32(gx, dy, x, 0.1, 2.5, 0.03, -0.7, 1.3) {
				for i := range n {
					xhat := (float64(x[i]) - 0.1) * 2.5
					want := float32(1.3 * (float64(dy[i]) - 0.03 - xhat*-0.7))
					if gx[i] != want && !(want != want && gx[i] != gx[i]) {
						t.Fatalf("batch-norm dx n=%d at %d: %v, want %v", n, i, gx[i], want)
					}
				}
			}
			// Adam, and AdamW (decoupled decay): the same float32 operations in
			// the same order on every path.
			v := randSlice[float32](rng, n, 0, 1)
			am, av, as := make([]float32, n), make([]float32, n), make([]float32, n)
			AdamM(am, p, dy, x, 0.9, 0)
			AdamV(av, v, dy, x, 0.999, 0)
			AdamStep(as, x, p, v, 3, 1e-3, 0.9, 0.999, 1e-8, 0, false)
			aw := make([]float32, n)
			AdamStep(aw, x, p, v, 3, 1e-3, 0.9, 0.999, 1e-8, 0.01, true)
			bc2 := float32(math.Sqrt(1 - math.Pow(0.999, 3)))
			neg := float32(-(1e-3 / (1 - math.Pow(0.9, 3))))
			for i := range n {
				wm := p[i] + float32(1-0.9)*(dy[i]-p[i])
				wv := v[i]*float32(0.999) + float32(1-0.999)*dy[i]*dy[i]
				ws := x[i] + neg*p[i]/(float32(math.Sqrt(float64(v[i])))/bc2+float32(1e-8))
				// AdamW: the parameter decayed first.
				ww := x[i]*float32(1-1e-3*0.01) + neg*p[i]/(float32(math.Sqrt(float64(v[i])))/bc2+float32(1e-8))
				same := func(a, b float32) bool { return a == b || (a != a && b != b) }
				if !same(am[i], wm) || !same(av[i], wv) || !same(as[i], ws) || !same(aw[i], ww) {
					t.Fatalf("Adam n=%d at %d: m %v v %v p %v AdamW p %v, want %v %v %v %v", n, i, am[i], av[i], as[i], aw[i], wm, wv, ws, ww)
				}
			}
			for _, w := range []int{1, 2, 10, 16, 17, 40} {
				src := randSlice[float32](rng, n*w, -1, 1)
				sum := make([]float32, w)
				ReduceTo(sum, []int{w}, src, []int{n, w})
				for j := range w {
					want := 0.0
					for r := range n {
						want += float64(src[r*w+j])
					}
					if math.Abs(float64(sum[j])-want) > 1e-5*float64(n) {
						t.Fatalf("ReduceTo %dx%d: sum[%d] = %v, want %v", n, w, j, sum[j], want)
					}
				}
			}
		}
	})
}

// TestIm2colPaths checks im2col on every path against its definition and
// col2im as its adjoint, at widths around the vector sizes, and that
// nothing is written past either output (the vector im2col stores whole
// rows that spill forward).
func TestIm2colPaths(t *testing.T) {
	gemmPaths(t, func(t *testing.T) {
		rng := newRNG()
		for _, s := range []ConvShape{
			{N: 1, C: 1, H: 28, W: 28, K: 1, KH: 5, KW: 5, Stride: 1, Pad: 2},
			{N: 1, C: 3, H: 14, W: 14, K: 1, KH: 5, KW: 5, Stride: 1, Pad: 0},
			{N: 1, C: 2, H: 5, W: 3, K: 1, KH: 3, KW: 3, Stride: 1, Pad: 1},
			{N: 1, C: 1, H: 2, W: 1, K: 1, KH: 1, KW: 1, Stride: 1, Pad: 0},
			{N: 1, C: 2, H: 7, W: 17, K: 1, KH: 2, KW: 4, Stride: 1, Pad: 3},
			{N: 1, C: 1, H: 4, W: 33, K: 1, KH: 3, KW: 2, Stride: 1, Pad: 0},
			{N: 1, C: 1, H: 6, W: 40, K: 1, KH: 3, KW: 3, Stride: 1, Pad: 1},
			{N: 1, C: 2, H: 9, W: 9, K: 1, KH: 3, KW: 3, Stride: 2, Pad: 1},
		} {
			oh, ow := s.OutH(), s.OutW()
			rows := s.C * s.KH * s.KW
			x := randSlice[float32](rng, s.C*s.H*s.W, -1, 1)
			col := make([]float32, rows*oh*ow+40)
			for i := range col {
				col[i] = float32(math.NaN())
			}
			im2col(col[:rows*oh*ow], x, s)
			r := 0
			for c := range s.C {
				for kh := range s.KH {
					for kw := range s.KW {
						for i := range oh {
							for j := range ow {
								h, w := i*s.Stride-s.Pad+kh, j*s.Stride-s.Pad+kw
								var want float32
								if h >= 0 && h < s.H && w >= 0 && w < s.W {
									want = x[(c*s.H+h)*s.W+w]
								}
								if got := col[(r*oh+i)*ow+j]; got != want {
									t.Fatalf("%+v: col[%d][%d,%d] = %v, want %v", s, r, i, j, got, want)
								}
							}
						}
						r++
					}
				}
			}
			for i := rows * oh * ow; i < len(col); i++ {
				if !math.IsNaN(float64(col[i])) {
					t.Fatalf("%+v: col[%d] written past the end", s, i)
				}
			}
			// col2im, its adjoint: ⟨im2col(x), g⟩ = ⟨x, col2im(g)⟩, and
			// nothing written outside dx.
			g := randSlice[float32](rng, rows*oh*ow, -1, 1)
			dx := make([]float32, len(x)+40)
			for i := len(x); i < len(dx); i++ {
				dx[i] = float32(math.NaN())
			}
			col2im(dx[:len(x)], g, s)
			var lhs, rhs float64
			for i, v := range g {
				lhs += float64(v) * float64(col[i])
			}
			for i, v := range x {
				rhs += float64(v) * float64(dx[i])
			}
			if math.Abs(lhs-rhs) > 1e-4*math.Max(1, math.Abs(lhs)) {
				t.Fatalf("%+v: ⟨im2col x, g⟩ = %v, ⟨x, col2im g⟩ = %v", s, lhs, rhs)
			}
			for i := len(x); i < len(dx); i++ {
				if !math.IsNaN(float64(dx[i])) {
					t.Fatalf("%+v: dx[%d] written past the end", s, i)
				}
			}
		}
	})
}
