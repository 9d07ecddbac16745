package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/gonum"
)

func blasTrans(t bool) blas.Transpose {
	if t {
		return blas.Trans
	}
	return blas.NoTrans
}

// refGemm runs gonum's GEMM for T and returns C and, per element, the sum
// of the magnitudes of the terms, which bounds the rounding error.
func refGemm[T Float](tA, tB bool, m, n, k int, alpha T, a []T, lda int, b []T, ldb int, beta T, c []T, ldc int) (want, mag []float64) {
	var impl gonum.Implementation
	switch any(a).(type) {
	case []float32:
		cc := clone(any(c).([]float32))
		impl.Sgemm(blasTrans(tA), blasTrans(tB), m, n, k, float32(alpha), any(a).([]float32), lda, any(b).([]float32), ldb, float32(beta), cc, ldc)
		want = to64(cc)
	default:
		cc := clone(any(c).([]float64))
		impl.Dgemm(blasTrans(tA), blasTrans(tB), m, n, k, float64(alpha), any(a).([]float64), lda, any(b).([]float64), ldb, float64(beta), cc, ldc)
		want = cc
	}
	mag = make([]float64, len(c))
	for i := range m {
		for j := range n {
			s := 0.0
			if beta != 0 {
				s = math.Abs(float64(beta * c[i*ldc+j]))
			}
			for p := range k {
				ai, bi := i*lda+p, p*ldb+j
				if tA {
					ai = p*lda + i
				}
				if tB {
					bi = j*ldb + p
				}
				av, bv := a[ai], b[bi]
				s += math.Abs(float64(alpha * av * bv))
			}
			mag[i*ldc+j] = s
		}
	}
	return want, mag
}

// pickDims draws m, n and k from dims, again while m·n·k exceeds most.
func pickDims(rng *rand.Rand, dims []int, most int) (m, n, k int) {
	for {
		m, n, k = dims[rng.IntN(len(dims))], dims[rng.IntN(len(dims))], dims[rng.IntN(len(dims))]
		if m*n*k <= most {
			return m, n, k
		}
	}
}

// randomGemm returns random operands of an m×n×k product with op(A) and
// op(B) transposed as asked, each row stride padded by the same 0 to 2.
func randomGemm[T Float](rng *rand.Rand, tA, tB bool, m, n, k int) (a, b, c []T, lda, ldb, ldc int) {
	ar, ac, br, bc := m, k, k, n
	if tA {
		ar, ac = k, m
	}
	if tB {
		br, bc = n, k
	}
	pad := rng.IntN(3)
	lda, ldb, ldc = ac+pad, bc+pad, n+pad
	a = randSlice[T](rng, (ar-1)*lda+ac, -1, 1)
	b = randSlice[T](rng, (br-1)*ldb+bc, -1, 1)
	c = randSlice[T](rng, (m-1)*ldc+n, -1, 1)
	return a, b, c, lda, ldb, ldc
}

func testGemm[T Float](t *testing.T) {
	rng := newRNG()
	dims := []int{1, 3, 17, 255, 784}
	unit := 1e-16
	if eps[T]() > 1e-9 {
		unit = 1e-7
	}
	for trial := range 60 {
		m, n, k := pickDims(rng, dims, 16<<20)
		if trial < 8 { // cover the packed path's edges on every combination
			m, n, k = 67, 69, 300
		}
		tA, tB := trial&1 != 0, trial&2 != 0
		a, b, c, lda, ldb, ldc := randomGemm[T](rng, tA, tB, m, n, k)
		alpha := T([]float64{1, -0.5, 2}[trial%3])
		beta := T([]float64{0, 1, 0.25, 0}[trial%4])
		want, mag := refGemm(tA, tB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
		if beta == 0 {
			for i := range c {
				c[i] = T(math.NaN())
			}
		}
		a0, b0 := clone(a), clone(b)
		Gemm(tA, tB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
		checkUnchanged(t, "a", a, a0)
		checkUnchanged(t, "b", b, b0)
		for i := range m {
			for j := range n {
				x := i*ldc + j
				if d := math.Abs(float64(c[x]) - want[x]); !(d <= 4*unit*float64(k+2)*mag[x]) {
					t.Fatalf("tA=%v tB=%v m=%d n=%d k=%d alpha=%v beta=%v: C[%d,%d] = %v, want %v",
						tA, tB, m, n, k, alpha, beta, i, j, c[x], want[x])
				}
			}
		}
	}
}

func TestGemm(t *testing.T) {
	gemmPaths(t, testGemm[float32]) // every float32 path against gonum
	t.Run("float64", testGemm[float64])
}

func TestGemmZeroSizes(t *testing.T) {
	c := []float64{math.NaN(), math.NaN(), math.NaN(), math.NaN()}
	Gemm(false, false, 2, 2, 0, 1, nil, 1, nil, 2, 0, c, 2)
	for i, v := range c {
		if v != 0 {
			t.Fatalf("k=0, beta=0: c[%d] = %v, want 0", i, v)
		}
	}
	c = []float64{1, 2, 3, 4}
	Gemm(false, false, 2, 2, 1, 0, []float64{math.NaN(), math.NaN()}, 1, []float64{1, 1}, 2, 2, c, 2)
	if c[3] != 8 {
		t.Fatalf("alpha=0: c = %v, want 2*c", c)
	}
	Gemm(false, false, 0, 0, 3, 1, []float64(nil), 3, []float64(nil), 1, 0, []float64(nil), 1)
}

func TestGemmPanics(t *testing.T) {
	for name, f := range map[string]func(){
		"short a": func() {
			Gemm(false, false, 2, 2, 2, 1, make([]float32, 3), 2, make([]float32, 4), 2, 0, make([]float32, 4), 2)
		},
		"small lda": func() {
			Gemm(false, false, 2, 2, 2, 1, make([]float32, 4), 1, make([]float32, 4), 2, 0, make([]float32, 4), 2)
		},
		"short c": func() {
			Gemm(true, true, 2, 2, 2, 1, make([]float32, 4), 2, make([]float32, 4), 2, 0, make([]float32, 3), 2)
		},
		"negative": func() {
			Gemm(false, false, -1, 2, 2, 1, make([]float32, 4), 2, make([]float32, 4), 2, 0, make([]float32, 4), 2)
		},
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s: no panic", name)
				}
			}()
			f()
		}()
	}
}

func TestGemmAllocs(t *testing.T) {
	defer SetThreads(SetThreads(2)) // split products allocate nothing either
	rng := newRNG()
	for _, s := range [][3]int{{100, 10, 10}, {64, 128, 784}, {1, 128, 784}} {
		m, n, k := s[0], s[1], s[2]
		a := randSlice[float32](rng, m*k, -1, 1)
		b := randSlice[float32](rng, k*n, -1, 1)
		c := make([]float32, m*n)
		if got := testing.AllocsPerRun(10, func() {
			Gemm(false, true, m, n, k, 1, a, k, b, k, 0, c, n)
		}); got != 0 {
			t.Errorf("Gemm %v: %v allocations, want 0", s, got)
		}
	}
}

// gemmShapes are the benchmark shapes as m×n×k: the GEMMs of a 10-10-2 MLP
// at batch 100 (forward, weight gradient), a 784→128 layer at batch 64, and
// a square one.
var gemmShapes = []struct {
	name    string
	tA, tB  bool
	m, n, k int
}{
	{"fwd100x10x10", false, true, 100, 10, 10},
	{"dw10x10x100", true, false, 10, 10, 100},
	{"fwd100x2x10", false, true, 100, 2, 10},
	{"dx100x10x2", false, false, 100, 10, 2},
	{"dw2x10x100", true, false, 2, 10, 100},
	{"fwd64x128x784", false, true, 64, 128, 784},
	{"fwd1x128x784", false, true, 1, 128, 784},
	{"fwd1x8x784", false, true, 1, 8, 784},
	{"fwd256x128x784", false, true, 256, 128, 784},
	{"nn64x128x784", false, false, 64, 128, 784},
	{"256x256x256", false, false, 256, 256, 256},
	// The character GPT's (examples/names.nn, batch 32 × context 16):
	// q, k, v and the MLP's Linears, and one head's scores q kᵀ.
	{"gpt512x64x64", false, true, 512, 64, 64},
	{"gpt512x256x64", false, true, 512, 256, 64},
	{"gpt512x64x256", false, true, 512, 64, 256},
	{"gpt16x16x16", false, true, 16, 16, 16},
}

func benchGemm[T Float](b *testing.B, ref bool) {
	rng := rand.New(rand.NewPCG(1, 1))
	var impl gonum.Implementation
	for _, s := range gemmShapes {
		b.Run(s.name, func(b *testing.B) {
			a := randSlice[T](rng, s.m*s.k, -1, 1)
			bb := randSlice[T](rng, s.k*s.n, -1, 1)
			c := make([]T, s.m*s.n)
			lda, ldb := s.k, s.n
			if s.tA {
				lda = s.m
			}
			if s.tB {
				ldb = s.k
			}
			b.ReportAllocs()
			for b.Loop() {
				if !ref {
					Gemm(s.tA, s.tB, s.m, s.n, s.k, 1, a, lda, bb, ldb, 0, c, s.n)
					continue
				}
				switch a := any(a).(type) {
				case []float32:
					impl.Sgemm(blasTrans(s.tA), blasTrans(s.tB), s.m, s.n, s.k, 1, a, lda, any(bb).([]float32), ldb, 0, any(c).([]float32), s.n)
				case []float64:
					impl.Dgemm(blasTrans(s.tA), blasTrans(s.tB), s.m, s.n, s.k, 1, a, lda, any(bb).([]float64), ldb, 0, any(c).([]float64), s.n)
				}
			}
			b.ReportMetric(2*float64(s.m*s.n*s.k)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		})
	}
}

func BenchmarkGemm(b *testing.B) {
	avx := hasAVX512
	defer func() { hasAVX512 = avx }()
	for _, ref := range []bool{false, true} {
		name := "nnc"
		if ref {
			name = "gonum"
		}
		if avx && !ref {
			hasAVX512 = false
			if hasAVX2 {
				b.Run("avx2/float32", func(b *testing.B) { benchGemm[float32](b, false) })
			}
			avx2 := hasAVX2
			hasAVX2 = false
			b.Run("portable/float32", func(b *testing.B) { benchGemm[float32](b, false) })
			hasAVX512, hasAVX2 = true, avx2
		}
		b.Run(fmt.Sprintf("%s/float32", name), func(b *testing.B) { benchGemm[float32](b, ref) })
		b.Run(fmt.Sprintf("%s/float64", name), func(b *testing.B) { benchGemm[float64](b, ref) })
	}
}
