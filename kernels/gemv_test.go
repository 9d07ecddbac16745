package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/nnc-go/nnc/internal/testenv"
)

// TestGemvRows checks A·Bᵀ for 1 to 33 rows of A (gemvNT's, the first past
// them, and small products) on every path against float64 sums: B of 16 to 70
// rows (gemvNT's blocks of sixteen and the last one moved back), depths
// around its vectors of sixteen, strides past the rows, with and without
// bias, ReLU and C read; C is NaN where it must not be read, and nothing
// past a row's n columns is written.
func TestGemvRows(t *testing.T) {
	gemmPaths(t, func(t *testing.T) {
		rng := newRNG()
		for trial := range 400 {
			m := []int{1, 2, 3, 4, 5, 16, 31, 32, 33}[trial%9]
			n := 16 + rng.IntN(55)
			k := []int{1, 3, 15, 16, 17, 31, 32, 33, 64, 100, 256, 257}[rng.IntN(12)]
			lda, ldb, ldc := k+rng.IntN(3), k+rng.IntN(3), n+rng.IntN(3)
			a := randSlice[float32](rng, (m-1)*lda+k, -1, 1)
			b := randSlice[float32](rng, (n-1)*ldb+k, -1, 1)
			c := randSlice[float32](rng, (m-1)*ldc+n+2, -1, 1)
			var bias []float32
			if trial&8 != 0 {
				bias = randSlice[float32](rng, n, -1, 1)
			}
			relu := trial&16 != 0
			alpha := []float32{1, -0.5, 2}[trial%3]
			beta := []float32{0, 1, 0.25}[trial/5%3]
			want := refEpilogue(false, true, m, n, k, float64(alpha), a, lda, b, ldb, float64(beta), c, ldc, bias, relu)
			if beta == 0 {
				for i := range c {
					c[i] = float32(math.NaN())
				}
			}
			before := clone(c)
			name := fmt.Sprintf("m=%d n=%d k=%d lda=%d ldb=%d ldc=%d alpha=%v beta=%v bias=%v relu=%v", m, n, k, lda, ldb, ldc, alpha, beta, bias != nil, relu)
			gemm(false, true, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, bias, relu)
			for i := range len(c) {
				r, j := i/ldc, i%ldc
				if r >= m || j >= n {
					if math.Float32bits(c[i]) != math.Float32bits(before[i]) {
						t.Fatalf("%s: element %d past the product written: %v", name, i, c[i])
					}
					continue
				}
				tol := 1e-6 * float64(k+2) * 4
				if d := math.Abs(float64(c[i]) - want[i]); !(d <= tol*math.Max(1, math.Abs(want[i]))) {
					t.Fatalf("%s: C[%d,%d] = %v, want %v", name, r, j, c[i], want[i])
				}
			}
		}
	})
}

// sampleShapes are the products of a character GPT of width 64 at batch 1
// (bench/models/gpt_sample.nn) in one sampling step (m = 1) and in a
// forward pass over its context of 16 (m = 16): x·Wᵀ + b for the
// attention's four 64×64 projections, the MLP's 64→256 and 256→64, and the
// 64→27 head.
var sampleShapes = []struct{ n, k int }{{64, 64}, {256, 64}, {64, 256}, {27, 64}}

// BenchmarkSampleLinear times x·Wᵀ + b for the shapes of sampleShapes at 1
// and 16 rows, as Linear computes it, in processor time per call
// (cpu-ns/op; the wall clock counts other programs on a shared machine).
func BenchmarkSampleLinear(b *testing.B) {
	for _, m := range []int{1, 16} {
		for _, s := range sampleShapes {
			rng := rand.New(rand.NewPCG(1, 2))
			x, w, bias := randSlice[float32](rng, m*s.k, -1, 1), randSlice[float32](rng, s.n*s.k, -1, 1), randSlice[float32](rng, s.n, -1, 1)
			y := make([]float32, m*s.n)
			b.Run(fmt.Sprintf("m=%d/n=%d/k=%d", m, s.n, s.k), func(b *testing.B) {
				testenv.ThreadCPU(b, func() error { Linear(y, x, w, bias, m, s.k, s.n, false); return nil })
			})
		}
	}
}
