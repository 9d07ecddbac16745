package kernels

import (
	"math"
	"testing"
)

// TestTranspose compares Transpose with a naive swap of two axes of
// tensors of rank 2 to 4, every pair of axes, sizes crossing the tile and beyond the L1 path ({70, 65}).
func TestTranspose(t *testing.T) {
	for _, shape := range [][]int{{3, 5}, {17, 33}, {2, 3, 4}, {2, 19, 18}, {2, 3, 4, 5}, {1, 2, 20, 17}, {70, 65}, {2, 33, 130}} {
		n := 1
		for _, s := range shape {
			n *= s
		}
		x := make([]float32, n)
		for i := range x {
			x[i] = float32(i)
		}
		for d0 := 0; d0 < len(shape); d0++ {
			for d1 := d0 + 1; d1 < len(shape); d1++ {
				prod := func(s []int) int {
					p := 1
					for _, v := range s {
						p *= v
					}
					return p
				}
				got := make([]float32, n)
				Transpose(got, x, prod(shape[:d0]), shape[d0], prod(shape[d0+1:d1]), shape[d1], prod(shape[d1+1:]))
				out := append([]int(nil), shape...)
				out[d0], out[d1] = out[d1], out[d0]
				// Walk every index of x and find it in the result.
				idx := make([]int, len(shape))
				for flat := 0; flat < n; flat++ {
					r := flat
					for k := len(shape) - 1; k >= 0; k-- {
						idx[k] = r % shape[k]
						r /= shape[k]
					}
					j := append([]int(nil), idx...)
					j[d0], j[d1] = j[d1], j[d0]
					at := 0
					for k := range out {
						at = at*out[k] + j[k]
					}
					if got[at] != x[flat] {
						t.Fatalf("shape %v, axes %d %d: element %v is %v, want %v", shape, d0, d1, idx, got[at], x[flat])
					}
				}
			}
		}
	}
}

// TestGeluTanh checks the tanh form of GELU at a few points against its
// formula and its derivative against a central difference.
func TestGeluTanh(t *testing.T) {
	x := []float64{-4, -1.5, -0.3, 0, 0.2, 1, 2.5, 6}
	y := make([]float64, len(x))
	GeluTanh(y, x)
	for i, v := range x {
		want := 0.5 * v * (1 + math.Tanh(math.Sqrt(2/math.Pi)*(v+0.044715*v*v*v)))
		if math.Abs(y[i]-want) > 1e-15 {
			t.Errorf("GeluTanh(%v) = %v, want %v", v, y[i], want)
		}
	}
	dy := make([]float64, len(x))
	for i := range dy {
		dy[i] = float64(i) - 2.5
	}
	dx := make([]float64, len(x))
	GeluTanhBackward(dx, dy, x)
	const h = 1e-6
	for i, v := range x {
		p, m := []float64{0}, []float64{0}
		GeluTanh(p, []float64{v + h})
		GeluTanh(m, []float64{v - h})
		want := dy[i] * (p[0] - m[0]) / (2 * h)
		if math.Abs(dx[i]-want) > 1e-8*math.Max(1, math.Abs(want)) {
			t.Errorf("GeluTanhBackward at %v: %v, want %v", v, dx[i], want)
		}
	}
	one := []float64{0}
	GeluTanh(one, []float64{1})
	if math.Abs(one[0]-0.8411919906082768) > 1e-12 { // torch: gelu(1., approximate="tanh") in f64
		t.Errorf("GeluTanh(1) = %v", one[0])
	}
}

// BenchmarkTranspose moves the heads of the example GPT's batch (batch 32,
// context 16, 4 heads of width 16): into heads (axes 1 and 2 of
// [32, 16, 4, 16]), and the last two axes of [32, 4, 16, 16].
func BenchmarkTranspose(b *testing.B) {
	x := make([]float32, 32*16*4*16)
	dst := make([]float32, len(x))
	b.Run("heads", func(b *testing.B) {
		b.SetBytes(int64(8 * len(x)))
		for i := 0; i < b.N; i++ {
			Transpose(dst, x, 32, 16, 1, 4, 16)
		}
	})
	b.Run("last2", func(b *testing.B) {
		b.SetBytes(int64(8 * len(x)))
		for i := 0; i < b.N; i++ {
			Transpose(dst, x, 32*4, 16, 1, 16, 1)
		}
	})
}
