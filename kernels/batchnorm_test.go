package kernels

import (
	"math"
	"testing"
)

func testBatchNorm[T Float](t *testing.T) {
	rng := newRNG()
	for _, sz := range [][3]int{{8, 3, 1}, {2, 4, 5}} {
		n, c, hw := sz[0], sz[1], sz[2]
		x := randSlice[T](rng, n*c*hw, -2, 3)
		w := randSlice[T](rng, c, 0.5, 1.5)
		b := randSlice[T](rng, c, -1, 1)
		rm := randSlice[T](rng, c, -1, 1)
		rv := randSlice[T](rng, c, 0.5, 2)
		wantRM, wantRV := make([]float64, c), make([]float64, c)
		want := make([]float64, len(x))
		wantEval := make([]float64, len(x))
		m := float64(n * hw)
		for ch := range c {
			mu, ss := 0.0, 0.0
			for i := range n {
				for j := range hw {
					mu += float64(x[(i*c+ch)*hw+j]) / m
				}
			}
			for i := range n {
				for j := range hw {
					d := float64(x[(i*c+ch)*hw+j]) - mu
					ss += d * d
				}
			}
			for i := range n {
				for j := range hw {
					k := (i*c+ch)*hw + j
					xv := float64(x[k])
					want[k] = (xv-mu)/math.Sqrt(ss/m+1e-5)*float64(w[ch]) + float64(b[ch])
					wantEval[k] = (xv-float64(rm[ch]))/math.Sqrt(float64(rv[ch])+1e-5)*float64(w[ch]) + float64(b[ch])
				}
			}
			wantRM[ch] = 0.9*float64(rm[ch]) + 0.1*mu
			wantRV[ch] = 0.9*float64(rv[ch]) + 0.1*ss/(m-1)
		}
		dst := make([]T, len(x))
		BatchNormEval(dst, x, w, b, rm, rv, n, c, hw, 1e-5)
		checkClose(t, "BatchNormEval", dst, wantEval, eps[T]()*10)
		mean, invStd := make([]T, c), make([]T, c)
		x0 := clone(x)
		BatchNormTrain(dst, x, w, b, rm, rv, mean, invStd, n, c, hw, 0.1, 1e-5)
		checkUnchanged(t, "x", x, x0)
		checkClose(t, "BatchNormTrain", dst, want, eps[T]()*10)
		checkClose(t, "running_mean", rm, wantRM, eps[T]())
		checkClose(t, "running_var", rv, wantRV, eps[T]())
		mustPanic(t, "short mean", func() { BatchNormTrain(dst, x, w, b, rm, rv, mean[1:], invStd, n, c, hw, 0.1, 1e-5) })
	}
	one := []T{1}
	mustPanic(t, "one value", func() { BatchNormTrain(one, one, one, one, one, one, one, one, 1, 1, 1, 0.1, 1e-5) })
}

func TestBatchNorm(t *testing.T) { both(t, testBatchNorm[float32], testBatchNorm[float64]) }

func TestBatchNormBackward(t *testing.T) {
	rng := newRNG()
	n, c, hw := 3, 2, 4
	x := randSlice[float64](rng, n*c*hw, -2, 2)
	w := randSlice[float64](rng, c, 0.5, 1.5)
	b := randSlice[float64](rng, c, -1, 1)
	dy := randSlice[float64](rng, len(x), -1, 1)
	fwd := func(x, w, b []float64) float64 {
		out := make([]float64, len(x))
		BatchNormTrain(out, x, w, b, make([]float64, c), make([]float64, c), make([]float64, c), make([]float64, c), n, c, hw, 0.1, 1e-5)
		return dotWith(dy, out)
	}
	mean, invStd := make([]float64, c), make([]float64, c)
	BatchNormTrain(make([]float64, len(x)), x, w, b, make([]float64, c), make([]float64, c), mean, invStd, n, c, hw, 0.1, 1e-5)
	dx, dw, db := make([]float64, len(x)), make([]float64, c), make([]float64, c)
	x0, dy0 := clone(x), clone(dy)
	BatchNormBackward(dx, dw, db, dy, x, w, mean, invStd, n, c, hw)
	checkUnchanged(t, "x", x, x0)
	checkUnchanged(t, "dy", dy, dy0)
	checkClose(t, "dx", dx, numGrad(x, func(v []float64) float64 { return fwd(v, w, b) }), 1e-6)
	checkClose(t, "dweight", dw, numGrad(w, func(v []float64) float64 { return fwd(x, v, b) }), 1e-7)
	checkClose(t, "dbias", db, numGrad(b, func(v []float64) float64 { return fwd(x, w, v) }), 1e-7)
}
