package kernels

import (
	"math"
	"testing"
)

func testLinear[T Float](t *testing.T) {
	rng := newRNG()
	for _, s := range [][3]int{{1, 1, 1}, {100, 10, 10}, {7, 13, 5}, {64, 784, 128}, {3, 0, 4}} {
		n, in, out := s[0], s[1], s[2]
		x := randSlice[T](rng, n*in, -1, 1)
		w := randSlice[T](rng, out*in, -1, 1)
		b := randSlice[T](rng, out, -1, 1)
		for _, relu := range []bool{false, true} {
			for _, bias := range [][]T{b, nil} {
				want := make([]float64, n*out)
				for i := range n {
					for j := range out {
						s := 0.0
						if bias != nil {
							s = float64(bias[j])
						}
						for p := range in {
							s += float64(x[i*in+p]) * float64(w[j*in+p])
						}
						if relu {
							s = math.Max(s, 0)
						}
						want[i*out+j] = s
					}
				}
				dst := make([]T, n*out)
				for i := range dst {
					dst[i] = T(math.NaN())
				}
				Linear(dst, x, w, bias, n, in, out, relu)
				checkClose(t, "Linear", dst, want, eps[T]()*float64(in+1))
			}
		}
	}
	mustPanic(t, "short w", func() { Linear(make([]T, 4), make([]T, 4), make([]T, 3), nil, 2, 2, 2, false) })
	mustPanic(t, "short b", func() { Linear(make([]T, 4), make([]T, 4), make([]T, 4), make([]T, 1), 2, 2, 2, false) })
}

func TestLinear(t *testing.T) { both(t, testLinear[float32], testLinear[float64]) }

func TestLinearBackward(t *testing.T) {
	rng := newRNG()
	n, in, out := 5, 4, 3
	x := randSlice[float64](rng, n*in, -1, 1)
	w := randSlice[float64](rng, out*in, -1, 1)
	b := randSlice[float64](rng, out, -1, 1)
	dy := randSlice[float64](rng, n*out, -1, 1)
	x0, w0, dy0 := clone(x), clone(w), clone(dy)
	dx, dw, db := make([]float64, n*in), make([]float64, out*in), make([]float64, out)
	LinearBackward(dx, dw, db, dy, x, w, n, in, out)
	checkUnchanged(t, "x", x, x0)
	checkUnchanged(t, "w", w, w0)
	checkUnchanged(t, "dy", dy, dy0)
	loss := func(x, w, b []float64) float64 {
		y := make([]float64, n*out)
		Linear(y, x, w, b, n, in, out, false)
		return dotWith(dy, y)
	}
	checkClose(t, "dx", dx, numGrad(x, func(v []float64) float64 { return loss(v, w, b) }), 1e-7)
	checkClose(t, "dw", dw, numGrad(w, func(v []float64) float64 { return loss(x, v, b) }), 1e-7)
	checkClose(t, "db", db, numGrad(b, func(v []float64) float64 { return loss(x, w, v) }), 1e-7)
	// Any output may be skipped.
	dx2 := make([]float64, n*in)
	LinearBackward(dx2, nil, nil, dy, x, w, n, in, out)
	checkClose(t, "dx alone", dx2, dx, 0)
}

func TestLinearAllocs(t *testing.T) {
	rng := newRNG()
	for _, s := range [][3]int{{100, 10, 10}, {64, 784, 128}} {
		n, in, out := s[0], s[1], s[2]
		x := randSlice[float32](rng, n*in, -1, 1)
		w := randSlice[float32](rng, out*in, -1, 1)
		b := randSlice[float32](rng, out, -1, 1)
		dst := make([]float32, n*out)
		if a := testing.AllocsPerRun(10, func() { Linear(dst, x, w, b, n, in, out, true) }); a != 0 {
			t.Errorf("Linear %v: %v allocations, want 0", s, a)
		}
	}
}
