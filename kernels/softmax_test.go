package kernels

import (
	"math"
	"testing"
)

// axisShapes are (outer, dim, inner) sizes covering the contiguous and the
// strided layouts.
var axisShapes = [][3]int{{1, 1, 1}, {3, 7, 1}, {2, 5, 3}, {1, 4, 6}, {4, 1, 2}}

// refAxis applies f to each line along the middle axis of x and returns the
// results in x's layout.
func refAxis(x []float64, outer, dim, inner int, f func(line []float64) []float64) []float64 {
	out := make([]float64, len(x))
	line := make([]float64, dim)
	for o := range outer {
		for i := range inner {
			for k := range dim {
				line[k] = x[(o*dim+k)*inner+i]
			}
			for k, v := range f(line) {
				out[(o*dim+k)*inner+i] = v
			}
		}
	}
	return out
}

func refSoftmax(line []float64) []float64 {
	out := make([]float64, len(line))
	s := 0.0
	for k, v := range line {
		out[k] = math.Exp(v)
		s += out[k]
	}
	for k := range out {
		out[k] /= s
	}
	return out
}

func refLogSoftmax(line []float64) []float64 {
	out := refSoftmax(line)
	for k := range out {
		out[k] = math.Log(out[k])
	}
	return out
}

func testSoftmax[T Float](t *testing.T) {
	rng := newRNG()
	for _, s := range axisShapes {
		outer, dim, inner := s[0], s[1], s[2]
		x := randSlice[T](rng, outer*dim*inner, -5, 5)
		x0 := clone(x)
		for _, c := range []struct {
			name string
			f    func(dst, x []T, outer, dim, inner int)
			ref  func([]float64) []float64
		}{
			{"Softmax", Softmax[T], refSoftmax},
			{"LogSoftmax", LogSoftmax[T], refLogSoftmax},
		} {
			want := refAxis(to64(x), outer, dim, inner, c.ref)
			dst := make([]T, len(x))
			c.f(dst, x, outer, dim, inner)
			checkUnchanged(t, "x", x, x0)
			checkClose(t, c.name, dst, want, eps[T]())
			in := clone(x)
			c.f(in, in, outer, dim, inner)
			checkClose(t, c.name+" in place", in, want, eps[T]())
			mustPanic(t, c.name, func() { c.f(dst[1:], x, outer, dim, inner) })
		}
	}
	// Large logits do not overflow.
	big := []T{1000, 1000, -1000}
	Softmax(big, big, 1, 3, 1)
	checkClose(t, "Softmax of large values", big, []float64{0.5, 0.5, 0}, eps[T]())
}

func TestSoftmax(t *testing.T) { both(t, testSoftmax[float32], testSoftmax[float64]) }

func TestSoftmaxBackward(t *testing.T) {
	rng := newRNG()
	for _, s := range axisShapes {
		outer, dim, inner := s[0], s[1], s[2]
		x := randSlice[float64](rng, outer*dim*inner, -3, 3)
		dy := randSlice[float64](rng, len(x), -1, 1)
		for _, c := range []struct {
			name string
			fwd  func(dst, x []float64, outer, dim, inner int)
			bwd  func(dx, dy, y []float64, outer, dim, inner int)
		}{
			{"SoftmaxBackward", Softmax[float64], SoftmaxBackward[float64]},
			{"LogSoftmaxBackward", LogSoftmax[float64], LogSoftmaxBackward[float64]},
		} {
			y := make([]float64, len(x))
			c.fwd(y, x, outer, dim, inner)
			y0, dy0 := clone(y), clone(dy)
			dx := make([]float64, len(x))
			c.bwd(dx, dy, y, outer, dim, inner)
			checkUnchanged(t, "y", y, y0)
			checkUnchanged(t, "dy", dy, dy0)
			want := numGrad(x, func(x []float64) float64 {
				out := make([]float64, len(x))
				c.fwd(out, x, outer, dim, inner)
				return dotWith(dy, out)
			})
			checkClose(t, c.name, dx, want, 1e-7)
		}
	}
}

func testSum[T Float](t *testing.T) {
	rng := newRNG()
	for _, s := range append(axisShapes, [3]int{2, 0, 3}) {
		outer, dim, inner := s[0], s[1], s[2]
		x := randSlice[T](rng, outer*dim*inner, -5, 5)
		x0 := clone(x)
		want := make([]float64, outer*inner)
		for o := range outer {
			for k := range dim {
				for i := range inner {
					want[o*inner+i] += float64(x[(o*dim+k)*inner+i])
				}
			}
		}
		dst := make([]T, outer*inner)
		Sum(dst, x, outer, dim, inner)
		checkUnchanged(t, "x", x, x0)
		checkClose(t, "Sum", dst, want, eps[T]()*10)
		for i := range want {
			want[i] /= float64(dim)
		}
		Mean(dst, x, outer, dim, inner)
		checkClose(t, "Mean", dst, want, eps[T]()*10)
		mustPanic(t, "Sum", func() { Sum(dst, x[1:], outer, dim, inner) })
	}
	mustPanic(t, "negative", func() { Sum([]T{}, []T{}, -1, 1, 1) })
}

func TestSum(t *testing.T) { both(t, testSum[float32], testSum[float64]) }

func TestSumBackward(t *testing.T) {
	rng := newRNG()
	for _, s := range axisShapes {
		outer, dim, inner := s[0], s[1], s[2]
		x := randSlice[float64](rng, outer*dim*inner, -3, 3)
		dy := randSlice[float64](rng, outer*inner, -1, 1)
		for _, c := range []struct {
			name string
			fwd  func(dst, x []float64, outer, dim, inner int)
			bwd  func(dx, dy []float64, outer, dim, inner int)
		}{
			{"SumBackward", Sum[float64], SumBackward[float64]},
			{"MeanBackward", Mean[float64], MeanBackward[float64]},
		} {
			dy0 := clone(dy)
			dx := make([]float64, len(x))
			c.bwd(dx, dy, outer, dim, inner)
			checkUnchanged(t, "dy", dy, dy0)
			want := numGrad(x, func(x []float64) float64 {
				out := make([]float64, len(dy))
				c.fwd(out, x, outer, dim, inner)
				return dotWith(dy, out)
			})
			checkClose(t, c.name, dx, want, 1e-7)
			mustPanic(t, c.name, func() { c.bwd(dx[1:], dy, outer, dim, inner) })
		}
	}
}
