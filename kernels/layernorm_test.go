package kernels

import (
	"math"
	"testing"
)

// refLayerNorm is LayerNorm in float64 from its definition, in two passes:
// the output and each row's mean and 1/std. A nil weight or bias counts as
// ones or zeros.
func refLayerNorm(x, w, b []float64, rows, d int, eps float64) (out, mean, rstd []float64) {
	out, mean, rstd = make([]float64, rows*d), make([]float64, rows), make([]float64, rows)
	for i := range rows {
		row := x[i*d : (i+1)*d]
		mu := 0.0
		for _, v := range row {
			mu += v
		}
		mu /= float64(d)
		vr := 0.0
		for _, v := range row {
			vr += (v - mu) * (v - mu)
		}
		vr /= float64(d)
		mean[i], rstd[i] = mu, 1/math.Sqrt(vr+eps)
		for j, v := range row {
			y := (v - mu) * rstd[i]
			if w != nil {
				y *= w[j]
			}
			if b != nil {
				y += b[j]
			}
			out[i*d+j] = y
		}
	}
	return out, mean, rstd
}

// refLayerNormBackward is LayerNormBackward in float64, written from the
// chain rule on the two-pass definition rather than from its formula: dx
// sums the paths through x̂ directly, through the mean and through the
// variance.
func refLayerNormBackward(dy, x, w []float64, rows, d int, eps float64) (dx, dw, db []float64) {
	dx, dw, db = make([]float64, rows*d), make([]float64, d), make([]float64, d)
	_, mean, rstd := refLayerNorm(x, nil, nil, rows, d, eps)
	n := float64(d)
	for i := range rows {
		mu, r := mean[i], rstd[i]
		g := make([]float64, d) // ∂L/∂x̂
		for j := range d {
			g[j] = dy[i*d+j]
			if w != nil {
				g[j] *= w[j]
			}
			xh := (x[i*d+j] - mu) * r
			dw[j] += dy[i*d+j] * xh
			db[j] += dy[i*d+j]
		}
		// x̂ = (x - μ)·(v + eps)^(-1/2): ∂L/∂v = Σ g·(x - μ)·(-1/2)·r³,
		// ∂L/∂μ = -Σ g·r (the path through v vanishes: Σ (x - μ) = 0).
		dv, dmu := 0.0, 0.0
		for j := range d {
			dv += g[j] * (x[i*d+j] - mu) * -0.5 * r * r * r
			dmu -= g[j] * r
		}
		for j := range d {
			dx[i*d+j] = g[j]*r + dv*2*(x[i*d+j]-mu)/n + dmu/n
		}
	}
	return dx, dw, db
}

var lnSizes = [][2]int{{1, 1}, {3, 5}, {4, 16}, {2, 130}, {0, 4}}

func testLayerNorm[T Float](t *testing.T) {
	rng := newRNG()
	for _, sz := range lnSizes {
		rows, d := sz[0], sz[1]
		x := randSlice[T](rng, rows*d, -2, 3)
		w := randSlice[T](rng, d, 0.5, 1.5)
		b := randSlice[T](rng, d, -1, 1)
		for _, affine := range []bool{true, false} {
			wt, bt := w, b
			var w64, b64 []float64
			if affine {
				w64, b64 = to64(w), to64(b)
			} else {
				wt, bt = nil, nil
			}
			want, wantMean, wantRstd := refLayerNorm(to64(x), w64, b64, rows, d, 1e-5)
			out, mean, rstd := make([]T, rows*d), make([]T, rows), make([]T, rows)
			x0, w0, b0 := clone(x), clone(w), clone(b)
			LayerNorm(out, x, wt, bt, mean, rstd, rows, d, 1e-5)
			checkUnchanged(t, "x", x, x0)
			checkUnchanged(t, "weight", w, w0)
			checkUnchanged(t, "bias", b, b0)
			// A row of one value normalises to 0 (var 0), so rstd is
			// 1/sqrt(eps) there, and out = bias.
			checkClose(t, "LayerNorm", out, want, eps[T]()*10)
			checkClose(t, "mean", mean, wantMean, eps[T]())
			checkClose(t, "rstd", rstd, wantRstd, eps[T]())

			// Without mean and rstd, and in place: the same output.
			in := clone(x)
			LayerNorm(in, in, wt, bt, nil, nil, rows, d, 1e-5)
			checkUnchanged(t, "in place", in, out)
		}
	}
	x := []T{1, 2, 3, 4}
	mustPanic(t, "short x", func() { LayerNorm(x, x[:3], nil, nil, nil, nil, 2, 2, 1e-5) })
	mustPanic(t, "short out", func() { LayerNorm(x[:3], x, nil, nil, nil, nil, 2, 2, 1e-5) })
	mustPanic(t, "short weight", func() { LayerNorm(x, x, x[:1], nil, nil, nil, 2, 2, 1e-5) })
	mustPanic(t, "short bias", func() { LayerNorm(x, x, nil, x[:1], nil, nil, 2, 2, 1e-5) })
	mustPanic(t, "short mean", func() { LayerNorm(x, x, nil, nil, x[:1], nil, 2, 2, 1e-5) })
	mustPanic(t, "short rstd", func() { LayerNorm(x, x, nil, nil, nil, x[:1], 2, 2, 1e-5) })
	mustPanic(t, "d = 0", func() { LayerNorm(x, x, nil, nil, nil, nil, 2, 0, 1e-5) })
}

func TestLayerNorm(t *testing.T) { both(t, testLayerNorm[float32], testLayerNorm[float64]) }

// TestLayerNormConstantRow: a row whose values are all equal (here large,
// so that a one-pass E[x²] - E[x]² would lose everything) normalises to
// exactly the bias.
func TestLayerNormConstantRow(t *testing.T) {
	x := []float32{1e4, 1e4, 1e4, 1e4 + 1, 1e4 - 1, 1e4}
	out, mean, rstd := make([]float32, 6), make([]float32, 2), make([]float32, 2)
	LayerNorm(out, x, nil, []float32{0.5, -0.5, 2}, mean, rstd, 2, 3, 1e-5)
	for j, want := range []float32{0.5, -0.5, 2} {
		if out[j] != want {
			t.Errorf("out[%d] = %v, want %v", j, out[j], want)
		}
	}
	// Row 2: 1e4+1, 1e4-1, 1e4: var 2/3.
	wantR := 1 / math.Sqrt(2.0/3+1e-5)
	if mean[1] != 1e4 || !closeTo(float64(rstd[1]), wantR, 1e-7) {
		t.Errorf("mean %v, rstd %v; want 1e4, %v", mean[1], rstd[1], wantR)
	}
}

func testLayerNormBackward[T Float](t *testing.T) {
	rng := newRNG()
	for _, sz := range lnSizes {
		rows, d := sz[0], sz[1]
		x := randSlice[T](rng, rows*d, -2, 3)
		w := randSlice[T](rng, d, 0.5, 1.5)
		b := randSlice[T](rng, d, -1, 1)
		dy := randSlice[T](rng, rows*d, -1, 1)
		mean, rstd := make([]T, rows), make([]T, rows)
		LayerNorm(make([]T, rows*d), x, w, b, mean, rstd, rows, d, 1e-5)
		for _, affine := range []bool{true, false} {
			wt, w64 := w, to64(w)
			if !affine {
				wt, w64 = nil, nil
			}
			wantDx, wantDw, wantDb := refLayerNormBackward(to64(dy), to64(x), w64, rows, d, 1e-5)
			dx, dw, db := make([]T, rows*d), make([]T, d), make([]T, d)
			for i := range dw {
				dw[i], db[i] = 9, 9 // overwritten, not accumulated
			}
			x0, dy0, w0 := clone(x), clone(dy), clone(w)
			LayerNormBackward(dx, dw, db, dy, x, wt, mean, rstd, rows, d)
			checkUnchanged(t, "x", x, x0)
			checkUnchanged(t, "dy", dy, dy0)
			checkUnchanged(t, "weight", w, w0)
			// The reference differs by its statistics in float64 where T's
			// are rounded, and, for d = 1, where dx cancels to rounding noise
			// of size rstd·ε = 300ε.
			tol := eps[T]() * 10
			if d == 1 {
				tol *= 1000
			}
			checkClose(t, "dx", dx, wantDx, tol)
			checkClose(t, "dweight", dw, wantDw, eps[T]()*10)
			checkClose(t, "dbias", db, wantDb, eps[T]()*10)

			// Each output alone gives the same values.
			dx1, dw1, db1 := make([]T, rows*d), make([]T, d), make([]T, d)
			LayerNormBackward(dx1, nil, nil, dy, x, wt, mean, rstd, rows, d)
			LayerNormBackward(nil, dw1, nil, dy, x, wt, mean, rstd, rows, d)
			LayerNormBackward(nil, nil, db1, dy, x, wt, mean, rstd, rows, d)
			checkUnchanged(t, "dx alone", dx1, dx)
			checkUnchanged(t, "dweight alone", dw1, dw)
			checkUnchanged(t, "dbias alone", db1, db)
		}
	}
	x := []T{1, 2, 3, 4}
	s := []T{1, 1}
	mustPanic(t, "short dy", func() { LayerNormBackward(x, s, s, x[:3], x, s, s, s, 2, 2) })
	mustPanic(t, "short dx", func() { LayerNormBackward(x[:3], s, s, x, x, s, s, s, 2, 2) })
	mustPanic(t, "short dweight", func() { LayerNormBackward(x, s[:1], s, x, x, s, s, s, 2, 2) })
	mustPanic(t, "short dbias", func() { LayerNormBackward(x, s, s[:1], x, x, s, s, s, 2, 2) })
	mustPanic(t, "short mean", func() { LayerNormBackward(x, s, s, x, x, s, s[:1], s, 2, 2) })
	mustPanic(t, "short rstd", func() { LayerNormBackward(x, s, s, x, x, s, s, s[:1], 2, 2) })
	mustPanic(t, "short weight", func() { LayerNormBackward(x, s, s, x, x, s[:1], s, s, 2, 2) })
}

func TestLayerNormBackward(t *testing.T) {
	both(t, testLayerNormBackward[float32], testLayerNormBackward[float64])
}

// TestLayerNormGradient checks LayerNormBackward against central finite
// differences of LayerNorm, on rows of values spread over [-2, 3] (no
// variance near zero), with weights away from zero, and with more columns
// than the block of column sums.
func TestLayerNormGradient(t *testing.T) {
	rng := newRNG()
	for _, sz := range [][2]int{{3, 5}, {2, 70}} {
		rows, d := sz[0], sz[1]
		x := randSlice[float64](rng, rows*d, -2, 3)
		w := randSlice[float64](rng, d, 0.5, 1.5)
		b := randSlice[float64](rng, d, -1, 1)
		dy := randSlice[float64](rng, rows*d, -1, 1)
		fwd := func(x, w, b []float64) float64 {
			out := make([]float64, len(x))
			LayerNorm(out, x, w, b, nil, nil, rows, d, 1e-5)
			return dotWith(dy, out)
		}
		mean, rstd := make([]float64, rows), make([]float64, rows)
		LayerNorm(make([]float64, rows*d), x, w, b, mean, rstd, rows, d, 1e-5)
		dx, dw, db := make([]float64, rows*d), make([]float64, d), make([]float64, d)
		LayerNormBackward(dx, dw, db, dy, x, w, mean, rstd, rows, d)
		checkClose(t, "dx", dx, numGrad(x, func(v []float64) float64 { return fwd(v, w, b) }), 1e-7)
		checkClose(t, "dweight", dw, numGrad(w, func(v []float64) float64 { return fwd(x, v, b) }), 1e-7)
		checkClose(t, "dbias", db, numGrad(b, func(v []float64) float64 { return fwd(x, w, v) }), 1e-7)
	}
}

func TestLayerNormAllocs(t *testing.T) {
	rng := newRNG()
	rows, d := 8, 100
	x := randSlice[float32](rng, rows*d, -1, 1)
	w, b := randSlice[float32](rng, d, -1, 1), randSlice[float32](rng, d, -1, 1)
	out, mean, rstd := make([]float32, rows*d), make([]float32, rows), make([]float32, rows)
	dx, dw, db := make([]float32, rows*d), make([]float32, d), make([]float32, d)
	if n := testing.AllocsPerRun(10, func() {
		LayerNorm(out, x, w, b, mean, rstd, rows, d, 1e-5)
		LayerNormBackward(dx, dw, db, out, x, w, mean, rstd, rows, d)
	}); n != 0 {
		t.Errorf("%v allocations per forward and backward", n)
	}
}

// TestLayerNormVectorMatchesGo runs the float32 layer-norm kernels with
// and without AVX-512 on the same input, on widths with and without a
// partial vector: the output and input gradient round the same float64
// operations (their sums taken in another order), so they agree to a few
// units in the last place; the weight gradient sums each column in row
// order in both, so it agrees bit for bit.
func TestLayerNormVectorMatchesGo(t *testing.T) {
	if !hasAVX512 {
		t.Skip("no AVX-512: the Go loops are the only path")
	}
	rng := newRNG()
	for _, sz := range [][2]int{{1, 1}, {5, 7}, {9, 16}, {7, 64}, {3, 70}, {33, 130}} {
		rows, d := sz[0], sz[1]
		x := randSlice[float32](rng, rows*d, -2, 3)
		w := randSlice[float32](rng, d, 0.5, 1.5)
		b := randSlice[float32](rng, d, -1, 1)
		dy := randSlice[float32](rng, rows*d, -1, 1)
		run := func() (out, mean, rstd, dx, dw []float32) {
			out, mean, rstd = make([]float32, rows*d), make([]float32, rows), make([]float32, rows)
			dx, dw = make([]float32, rows*d), make([]float32, d)
			LayerNorm(out, x, w, b, mean, rstd, rows, d, 1e-5)
			LayerNormGradInput(dx, dy, x, w, mean, rstd, rows, d)
			LayerNormGradWeight(dw, dy, x, mean, rstd, rows, d)
			return
		}
		out, mean, rstd, dx, dw := run()
		hasAVX512 = false
		goOut, goMean, goRstd, goDx, _ := run()
		// The weight gradient from the vector path's statistics.
		goDw := make([]float32, d)
		LayerNormGradWeight(goDw, dy, x, mean, rstd, rows, d)
		hasAVX512 = true
		checkClose(t, "out", out, to64(goOut), 1e-6)
		checkClose(t, "mean", mean, to64(goMean), 1e-6)
		checkClose(t, "rstd", rstd, to64(goRstd), 1e-6)
		checkClose(t, "dx", dx, to64(goDx), 1e-5)
		for j := range dw {
			if math.Float32bits(dw[j]) != math.Float32bits(goDw[j]) {
				t.Errorf("%d×%d: dweight[%d] = %v (AVX-512), %v (Go)", rows, d, j, dw[j], goDw[j])
			}
		}
	}
}

// BenchmarkLayerNorm times the forward and the two backward kernels on the
// character GPT's rows (batch 32 × context 16, width 64), on the AVX-512
// path and on the Go loops.
func BenchmarkLayerNorm(b *testing.B) {
	rows, d := 512, 64
	rng := newRNG()
	x := randSlice[float32](rng, rows*d, -2, 3)
	w, bias := randSlice[float32](rng, d, 0.5, 1.5), randSlice[float32](rng, d, -1, 1)
	dy := randSlice[float32](rng, rows*d, -1, 1)
	out, mean, rstd := make([]float32, rows*d), make([]float32, rows), make([]float32, rows)
	dx, dw := make([]float32, rows*d), make([]float32, d)
	for _, path := range []string{"avx512", "go"} {
		b.Run(path, func(b *testing.B) {
			if path == "avx512" && !hasAVX512 {
				b.Skip("no AVX-512")
			}
			defer func(h bool) { hasAVX512 = h }(hasAVX512)
			hasAVX512 = path == "avx512"
			for b.Loop() {
				LayerNorm(out, x, w, bias, mean, rstd, rows, d, 1e-5)
				LayerNormGradInput(dx, dy, x, w, mean, rstd, rows, d)
				LayerNormGradWeight(dw, dy, x, mean, rstd, rows, d)
			}
		})
	}
}
