package kernels

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestTranspose compares Transpose with a naive swap of two axes of
// tensors of rank 2 to 4, every pair of axes, sizes crossing the tile and beyond the L1 path ({70, 65}).
func TestTranspose(t *testing.T) {
	for _, shape := range [][]int{{3, 5}, {17, 33}, {2, 3, 4}, {2, 19, 18}, {2, 3, 4, 5}, {1, 2, 20, 17}, {70, 65}, {2, 33, 130}, {2, 5, 3, 16}} {
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

// TestTanh32 checks the float32 tanh of GELU's float32 path against
// math.Tanh (absolute error below 4e-7), at 0, ±Inf and NaN.
func TestTanh32(t *testing.T) {
	worst := 0.0
	for i := -1000000; i <= 1000000; i++ {
		u := float32(i) * 1e-5
		worst = max(worst, math.Abs(float64(tanh32(u))-math.Tanh(float64(u))))
	}
	if worst > 4e-7 {
		t.Errorf("tanh32's largest error on [-10, 10] is %g", worst)
	}
	for _, c := range []struct{ u, want float32 }{{0, 0}, {20, 1}, {-20, -1}, {float32(math.Inf(1)), 1}, {float32(math.Inf(-1)), -1}} {
		if got := tanh32(c.u); got != c.want {
			t.Errorf("tanh32(%v) = %v, want %v", c.u, got, c.want)
		}
	}
	if v := tanh32(float32(math.NaN())); v == v {
		t.Errorf("tanh32(NaN) = %v", v)
	}
	// The float32 path agrees with the float64 formula to within about
	// tanh32's error scaled by x.
	x := make([]float32, 4001)
	for i := range x {
		x[i] = float32(i-2000) * 3e-3
	}
	y, dx, dy := make([]float32, len(x)), make([]float32, len(x)), make([]float32, len(x))
	for i := range dy {
		dy[i] = 1
	}
	GeluTanh(y, x)
	GeluTanhBackward(dx, dy, x)
	for i, v := range x {
		f := []float64{float64(v)}
		w, dw := []float64{0}, []float64{0}
		GeluTanh(w, f)
		GeluTanhBackward(dw, []float64{1}, f)
		if d := math.Abs(float64(y[i]) - w[0]); d > 5e-7*math.Max(1, math.Abs(float64(v))) {
			t.Errorf("GeluTanh float32 at %v: %v, want %v", v, y[i], w[0])
		}
		if d := math.Abs(float64(dx[i]) - dw[0]); d > 1e-6*math.Max(1, math.Abs(float64(v))) {
			t.Errorf("GeluTanhBackward float32 at %v: %v, want %v", v, dx[i], dw[0])
		}
	}
}

// BenchmarkGeluTanh runs the forward and backward tanh-GELU on the example
// GPT's MLP activations (batch 32, context 16, width 256).
func BenchmarkGeluTanh(b *testing.B) {
	x := make([]float32, 32*16*256)
	for i := range x {
		x[i] = float32(i%97-48) * 0.05
	}
	y, dx := make([]float32, len(x)), make([]float32, len(x))
	for b.Loop() {
		GeluTanh(y, x)
		GeluTanhBackward(dx, y, x)
	}
}

// TestGeluTanhPaths checks that the AVX-512 loops of the float32 tanh GELU
// give the Go loops' bits, forward and backward, at every tail length and
// on NaN, ±Inf, ±0 and values whose cube overflows.
func TestGeluTanhPaths(t *testing.T) {
	if !hasAVX512 {
		t.Skip("no AVX-512: the Go loops are the only path")
	}
	rng := rand.New(rand.NewPCG(3, 4))
	special := []float32{0, float32(math.Copysign(0, -1)), float32(math.NaN()), float32(math.Inf(1)), float32(math.Inf(-1)), 1e20, -1e20, 8, -8, 7.9, -7.9, 1e-30}
	for n := 1; n <= 70; n++ {
		x, dy := make([]float32, n), make([]float32, n)
		for i := range x {
			x[i] = float32(rng.NormFloat64() * 3)
			dy[i] = float32(rng.NormFloat64())
		}
		copy(x, special[:min(n, len(special))])
		y1, y2, d1, d2 := make([]float32, n), make([]float32, n), make([]float32, n), make([]float32, n)
		GeluTanh(y1, x)
		GeluTanhBackward(d1, dy, x)
		hasAVX512 = false
		GeluTanh(y2, x)
		GeluTanhBackward(d2, dy, x)
		hasAVX512 = true
		for i := range x {
			if math.Float32bits(y1[i]) != math.Float32bits(y2[i]) {
				t.Errorf("n %d: GeluTanh(%v) = %v (AVX-512), %v (Go)", n, x[i], y1[i], y2[i])
			}
			if math.Float32bits(d1[i]) != math.Float32bits(d2[i]) {
				t.Errorf("n %d: GeluTanhBackward at %v: %v (AVX-512), %v (Go)", n, x[i], d1[i], d2[i])
			}
		}
	}
}
