package kernels

import (
	"math"
	"testing"
)

// refConv is a direct convolution in float64.
func refConv(x, w, b []float64, s ConvShape) []float64 {
	oh, ow := s.OutH(), s.OutW()
	out := make([]float64, s.N*s.K*oh*ow)
	for n := range s.N {
		for k := range s.K {
			for i := range oh {
				for j := range ow {
					v := 0.0
					if b != nil {
						v = b[k]
					}
					for c := range s.C {
						for kh := range s.KH {
							for kw := range s.KW {
								h, q := i*s.Stride-s.Pad+kh, j*s.Stride-s.Pad+kw
								if h >= 0 && h < s.H && q >= 0 && q < s.W {
									v += x[((n*s.C+c)*s.H+h)*s.W+q] * w[((k*s.C+c)*s.KH+kh)*s.KW+kw]
								}
							}
						}
					}
					out[((n*s.K+k)*oh+i)*ow+j] = v
				}
			}
		}
	}
	return out
}

var convShapes = []ConvShape{
	{N: 2, C: 3, H: 7, W: 6, K: 4, KH: 3, KW: 2, Stride: 2, Pad: 1},
	{N: 1, C: 2, H: 5, W: 5, K: 3, KH: 3, KW: 3, Stride: 1, Pad: 0},
	{N: 2, C: 1, H: 28, W: 28, K: 6, KH: 5, KW: 5, Stride: 1, Pad: 2},
	{N: 1, C: 1, H: 1, W: 1, K: 1, KH: 1, KW: 1, Stride: 1, Pad: 0},
	{N: 1, C: 2, H: 3, W: 3, K: 2, KH: 5, KW: 5, Stride: 1, Pad: 2},
	{N: 1, C: 1, H: 8, W: 9, K: 2, KH: 2, KW: 3, Stride: 3, Pad: 2},
}

func testConv2d[T Float](t *testing.T) {
	rng := newRNG()
	for _, s := range convShapes {
		x := randSlice[T](rng, s.N*s.C*s.H*s.W, -1, 1)
		w := randSlice[T](rng, s.K*s.C*s.KH*s.KW, -1, 1)
		b := randSlice[T](rng, s.K, -1, 1)
		col := make([]T, s.ColSize())
		dst := make([]T, s.N*s.K*s.OutH()*s.OutW())
		for _, bias := range [][]T{b, nil} {
			var b64 []float64
			if bias != nil {
				b64 = to64(bias)
			}
			want := refConv(to64(x), to64(w), b64, s)
			x0, w0 := clone(x), clone(w)
			Conv2d(dst, x, w, bias, col, s)
			checkUnchanged(t, "x", x, x0)
			checkUnchanged(t, "w", w, w0)
			checkClose(t, "Conv2d", dst, want, eps[T]()*10)
		}
		mustPanic(t, "short col", func() { Conv2d(dst, x, w, b, col[1:], s) })
	}
	mustPanic(t, "kernel too big", func() {
		Conv2d[T](nil, nil, nil, nil, nil, ConvShape{N: 1, C: 1, H: 2, W: 2, K: 1, KH: 3, KW: 3, Stride: 1})
	})
}

func TestConv2d(t *testing.T) { both(t, testConv2d[float32], testConv2d[float64]) }

func TestConv2dBackward(t *testing.T) {
	rng := newRNG()
	for _, s := range convShapes[:2] {
		x := randSlice[float64](rng, s.N*s.C*s.H*s.W, -1, 1)
		w := randSlice[float64](rng, s.K*s.C*s.KH*s.KW, -1, 1)
		b := randSlice[float64](rng, s.K, -1, 1)
		dy := randSlice[float64](rng, s.N*s.K*s.OutH()*s.OutW(), -1, 1)
		col := make([]float64, s.ColSize())
		dx, dw, db := make([]float64, len(x)), make([]float64, len(w)), make([]float64, len(b))
		for i := range dx {
			dx[i] = math.NaN()
		}
		x0, w0, dy0 := clone(x), clone(w), clone(dy)
		Conv2dBackward(dx, dw, db, dy, x, w, col, s)
		checkUnchanged(t, "x", x, x0)
		checkUnchanged(t, "w", w, w0)
		checkUnchanged(t, "dy", dy, dy0)
		loss := func(x, w, b []float64) float64 {
			out := make([]float64, len(dy))
			Conv2d(out, x, w, b, make([]float64, s.ColSize()), s)
			return dotWith(dy, out)
		}
		checkClose(t, "dx", dx, numGrad(x, func(v []float64) float64 { return loss(v, w, b) }), 1e-7)
		checkClose(t, "dw", dw, numGrad(w, func(v []float64) float64 { return loss(x, v, b) }), 1e-7)
		checkClose(t, "db", db, numGrad(b, func(v []float64) float64 { return loss(x, w, v) }), 1e-7)
		dw2 := make([]float64, len(w))
		Conv2dBackward(nil, dw2, nil, dy, x, w, col, s)
		checkClose(t, "dw alone", dw2, dw, 0)
	}
}

func testMaxPool2d[T Float](t *testing.T) {
	rng := newRNG()
	for _, s := range []PoolShape{
		{N: 2, C: 3, H: 6, W: 6, Kernel: 2, Stride: 2},
		{N: 1, C: 2, H: 7, W: 5, Kernel: 3, Stride: 2},
		{N: 1, C: 1, H: 5, W: 5, Kernel: 2, Stride: 2},
		{N: 2, C: 2, H: 4, W: 70, Kernel: 2, Stride: 2},
		{N: 1, C: 3, H: 9, W: 37, Kernel: 2, Stride: 2},
	} {
		x := randSlice[T](rng, s.N*s.C*s.H*s.W, -1, 1)
		oh, ow := s.OutH(), s.OutW()
		want := make([]float64, s.N*s.C*oh*ow)
		wantIdx := make([]int32, len(want))
		for p := range s.N * s.C {
			for i := range oh {
				for j := range ow {
					o := (p*oh+i)*ow + j
					want[o] = math.Inf(-1)
					for h := i * s.Stride; h < i*s.Stride+s.Kernel; h++ {
						for q := j * s.Stride; q < j*s.Stride+s.Kernel; q++ {
							if v := float64(x[(p*s.H+h)*s.W+q]); v > want[o] {
								want[o], wantIdx[o] = v, int32(h*s.W+q)
							}
						}
					}
				}
			}
		}
		dst, idx := make([]T, len(want)), make([]int32, len(want))
		x0 := clone(x)
		MaxPool2d(dst, idx, x, s)
		checkUnchanged(t, "x", x, x0)
		checkClose(t, "MaxPool2d", dst, want, 0)
		for i := range idx {
			if idx[i] != wantIdx[i] {
				t.Fatalf("idx[%d] = %d, want %d", i, idx[i], wantIdx[i])
			}
		}
		MaxPool2d(dst, nil, x, s)
		checkClose(t, "MaxPool2d without indices", dst, want, 0)
	}
	// NaN wins wherever it is in a window (the first NaN, by index), as in
	// torch; the 2×2 path and the general loop (a 2×2 window written as
	// kernel 2, stride 2 versus the same through Kernel 3's code) agree.
	for at := range 4 {
		for second := range 5 {
			x := []T{1, 2, 3, 0}
			x[at] = T(math.NaN())
			if second < 4 && second != at {
				x[second] = T(math.NaN())
			}
			dst, idx := make([]T, 1), make([]int32, 1)
			MaxPool2d(dst, idx, x, PoolShape{N: 1, C: 1, H: 2, W: 2, Kernel: 2, Stride: 2})
			first := at
			if second < at && second != at {
				first = second
			}
			if !math.IsNaN(float64(dst[0])) || int(idx[0]) != first {
				t.Fatalf("NaN at %d and %d: max %v at %d, want NaN at %d", at, second, dst[0], idx[0], first)
			}
		}
	}
	// Ties go to the first element of the window.
	dst, idx := make([]T, 1), make([]int32, 1)
	MaxPool2d(dst, idx, []T{1, 2, 2, 0}, PoolShape{N: 1, C: 1, H: 2, W: 2, Kernel: 2, Stride: 2})
	if idx[0] != 1 {
		t.Errorf("tie: idx = %d, want 1", idx[0])
	}
	mustPanic(t, "MaxPool2d", func() { MaxPool2d(dst, idx, []T{1, 2, 3}, PoolShape{N: 1, C: 1, H: 2, W: 2, Kernel: 2, Stride: 2}) })
}

func TestMaxPool2d(t *testing.T) {
	gemmPaths(t, func(t *testing.T) { both(t, testMaxPool2d[float32], testMaxPool2d[float64]) })
}

func TestMaxPool2dBackward(t *testing.T) {
	rng := newRNG()
	s := PoolShape{N: 2, C: 2, H: 7, W: 5, Kernel: 3, Stride: 2}
	// Distinct values far apart, so no finite-difference step changes the
	// maximum of a window.
	x := make([]float64, s.N*s.C*s.H*s.W)
	for i, j := range rng.Perm(len(x)) {
		x[i] = float64(j) / 10
	}
	dy := randSlice[float64](rng, s.N*s.C*s.OutH()*s.OutW(), -1, 1)
	idx := make([]int32, len(dy))
	MaxPool2d(make([]float64, len(dy)), idx, x, s)
	dx := make([]float64, len(x))
	dy0 := clone(dy)
	MaxPool2dBackward(dx, dy, idx, s)
	checkUnchanged(t, "dy", dy, dy0)
	want := numGrad(x, func(x []float64) float64 {
		out := make([]float64, len(dy))
		MaxPool2d(out, nil, x, s)
		return dotWith(dy, out)
	})
	checkClose(t, "MaxPool2dBackward", dx, want, 1e-7)
}
