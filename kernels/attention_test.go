package kernels

import (
	"fmt"
	"math"
	"testing"
)

// attentionRef computes scaled dot-product attention in float64 the plain
// way: the scores, −Inf above the diagonal when causal, their softmax p,
// then p v.
func attentionRef(q, k, v []float64, count, l, s, e, ev int, causal bool) (out, p []float64) {
	out, p = make([]float64, count*l*ev), make([]float64, count*l*s)
	for i := range count {
		for r := range l {
			row := p[(i*l+r)*s : (i*l+r+1)*s]
			m := math.Inf(-1)
			for j := range s {
				d := 0.0
				for x := range e {
					d += q[(i*l+r)*e+x] * k[(i*s+j)*e+x]
				}
				row[j] = d / math.Sqrt(float64(e))
				if causal && j > r {
					row[j] = math.Inf(-1)
				}
				m = math.Max(m, row[j])
			}
			sum := 0.0
			for j := range row {
				row[j] = math.Exp(row[j] - m)
				sum += row[j]
			}
			for j := range row {
				row[j] /= sum
				for x := range ev {
					out[(i*l+r)*ev+x] += row[j] * v[(i*s+j)*ev+x]
				}
			}
		}
	}
	return out, p
}

func testAttention[T Float](t *testing.T) {
	rng := newRNG()
	for _, c := range []struct{ count, l, s, e, ev int }{{3, 4, 5, 3, 2}, {2, 6, 6, 8, 8}, {1, 5, 2, 4, 3}, {2, 1, 1, 1, 1}} {
		for _, causal := range []bool{false, true} {
			q := randSlice[T](rng, c.count*c.l*c.e, -2, 2)
			k := randSlice[T](rng, c.count*c.s*c.e, -2, 2)
			v := randSlice[T](rng, c.count*c.s*c.ev, -2, 2)
			q0, k0, v0 := clone(q), clone(k), clone(v)
			out, p := make([]T, c.count*c.l*c.ev), make([]T, c.count*c.l*c.s)
			for i := range p {
				p[i] = T(math.NaN()) // every element is written
			}
			Attention(out, p, q, k, v, c.count, c.l, c.s, c.e, c.ev, causal)
			wantOut, wantP := attentionRef(to64(q), to64(k), to64(v), c.count, c.l, c.s, c.e, c.ev, causal)
			checkClose(t, "out", out, wantOut, 10*eps[T]())
			checkClose(t, "p", p, wantP, 10*eps[T]())
			checkUnchanged(t, "q", q, q0)
			checkUnchanged(t, "k", k, k0)
			checkUnchanged(t, "v", v, v0)
			if causal {
				for i := range c.count * c.l {
					for j := i%c.l + 1; j < c.s; j++ {
						if p[i*c.s+j] != 0 {
							t.Fatalf("%v causal: p[%d, %d] = %v above the diagonal", c, i, j, p[i*c.s+j])
						}
					}
				}
			}
		}
	}
}

func TestAttention(t *testing.T) { both(t, testAttention[float32], testAttention[float64]) }

// TestAttentionBackward checks the backward kernels against finite
// differences of w·Attention(q, k, v): dv = AttentionBackwardV, and
// dq = ds k, dk = dsᵀ q with ds from AttentionBackwardScores.
func TestAttentionBackward(t *testing.T) {
	rng := newRNG()
	for _, causal := range []bool{false, true} {
		const count, l, s, e, ev = 2, 3, 4, 3, 2
		q, k, v := awayFromZero(rng, count*l*e), awayFromZero(rng, count*s*e), awayFromZero(rng, count*s*ev)
		w := awayFromZero(rng, count*l*ev)
		out, p := make([]float64, count*l*ev), make([]float64, count*l*s)
		f := func(q, k, v []float64) float64 {
			Attention(out, p, q, k, v, count, l, s, e, ev, causal)
			return dotWith(w, out)
		}
		numQ := numGrad(q, func(x []float64) float64 { return f(x, k, v) })
		numK := numGrad(k, func(x []float64) float64 { return f(q, x, v) })
		numV := numGrad(v, func(x []float64) float64 { return f(q, k, x) })

		f(q, k, v) // p for q, k, v
		dv, ds := make([]float64, len(v)), make([]float64, count*l*s)
		AttentionBackwardV(dv, w, p, count, l, s, ev)
		AttentionBackwardScores(ds, w, v, p, count, l, s, e, ev)
		dq, dk := make([]float64, len(q)), make([]float64, len(k))
		MatMulBatched(count, false, false, l, e, s, ds, s, l*s, k, e, s*e, dq, e, l*e)
		MatMulBatched(count, true, false, s, e, l, ds, s, l*s, q, e, l*e, dk, e, s*e)
		checkClose(t, "dq", dq, numQ, 1e-6)
		checkClose(t, "dk", dk, numK, 1e-6)
		checkClose(t, "dv", dv, numV, 1e-6)
	}
}

func TestAttentionPanics(t *testing.T) {
	q, k, v := make([]float32, 2*3*4), make([]float32, 2*5*4), make([]float32, 2*5*2)
	out, p := make([]float32, 2*3*2), make([]float32, 2*3*5)
	Attention(out, p, q, k, v, 2, 3, 5, 4, 2, true)
	mustPanic(t, "short out", func() { Attention(out[1:], p, q, k, v, 2, 3, 5, 4, 2, true) })
	mustPanic(t, "short p", func() { Attention(out, p[1:], q, k, v, 2, 3, 5, 4, 2, true) })
	mustPanic(t, "short v", func() { Attention(out, p, q, k, v[1:], 2, 3, 5, 4, 2, false) })
	mustPanic(t, "zero e", func() { Attention(out, p, q, k, v, 2, 3, 5, 0, 2, false) })
	mustPanic(t, "negative count", func() { Attention(out, p, q, k, v, -1, 3, 5, 4, 2, false) })
	mustPanic(t, "short dy", func() { AttentionBackwardV(v, out[1:], p, 2, 3, 5, 2) })
	mustPanic(t, "short ds", func() { AttentionBackwardScores(p[1:], out, v, p, 2, 3, 5, 4, 2) })
}

func TestAttentionNoAllocs(t *testing.T) {
	rng := newRNG()
	const count, l, s, e, ev = 8, 16, 16, 16, 16
	q, k, v := randSlice[float32](rng, count*l*e, -1, 1), randSlice[float32](rng, count*s*e, -1, 1), randSlice[float32](rng, count*s*ev, -1, 1)
	out, p, ds, dv := make([]float32, count*l*ev), make([]float32, count*l*s), make([]float32, count*l*s), make([]float32, count*s*ev)
	a := testing.AllocsPerRun(5, func() {
		Attention(out, p, q, k, v, count, l, s, e, ev, true)
		AttentionBackwardV(dv, out, p, count, l, s, ev)
		AttentionBackwardScores(ds, out, v, p, count, l, s, e, ev)
	})
	if a != 0 {
		t.Errorf("%v allocations, want 0", a)
	}
}

// TestSoftmaxRow32Paths checks the float32 softmax of Attention against
// float64 for every row length to 20 and width, with scores far apart
// (exponentials below the cut), and, bit for bit, the AVX-512 kernel of
// heads with rows up to 16 (softmaxRows16, causal or not) against the Go
// loop row by row, NaN included.
func TestSoftmaxRow32Paths(t *testing.T) {
	rng := newRNG()
	for s := 1; s <= 20; s++ {
		for n := 1; n <= s; n++ {
			for _, scale := range []float64{1, 30, 200} {
				x := randSlice[float32](rng, s, -scale, scale)
				got := append([]float32(nil), x...)
				softmaxRow32(got, n)
				m := math.Inf(-1)
				for _, v := range x[:n] {
					m = max(m, float64(v))
				}
				sum := 0.0
				for _, v := range x[:n] {
					sum += math.Exp(float64(v) - m)
				}
				for j, v := range got {
					want := 0.0
					if j < n {
						want = math.Exp(float64(x[j])-m) / sum
					}
					// x - max is rounded to float32: half an ulp of it
					// is a relative error of the exponential.
					tol := want * (1e-6 + 6e-8*math.Abs(float64(x[min(j, n-1)])-m))
					if math.Abs(float64(v)-want) > tol+1e-30 {
						t.Fatalf("s=%d n=%d: softmax[%d] = %v, want %v", s, n, j, v, want)
					}
				}
			}
		}
	}
	if !hasAVX512 {
		t.Skip("no AVX-512: the Go loop is the only path")
	}
	bits := func(x []float32) []uint32 {
		b := make([]uint32, len(x))
		for i, v := range x {
			b[i] = math.Float32bits(v)
			if v != v {
				b[i] = 0x7fc00000 // any NaN
			}
		}
		return b
	}
	for s := 1; s <= 16; s++ {
		for _, causal := range []bool{false, true} {
			for _, scale := range []float64{1, 30, 200} {
				rows := s + 2
				x := randSlice[float32](rng, rows*s, -scale, scale)
				if scale == 200 {
					x[len(x)/2] = float32(math.NaN())
				}
				goRows := append([]float32(nil), x...)
				for r := range rows {
					softmaxRow32(goRows[r*s:(r+1)*s], attnWidth(r, s, causal))
				}
				vecRows := append([]float32(nil), x...)
				if !softmaxRows16(vecRows, rows, s, causal) {
					t.Fatalf("softmaxRows16 did not run for s=%d", s)
				}
				if fmt.Sprint(bits(goRows)) != fmt.Sprint(bits(vecRows)) {
					t.Fatalf("s=%d causal=%v scale %v: vector %v, Go %v", s, causal, scale, vecRows, goRows)
				}
			}
		}
	}
}

// TestAttnGradRowsPaths checks the row loop of AttentionBackwardScores
// in float32 with AVX-512 (rows of up to 16 in one vector) bit for bit
// against its Go loop, on causal probabilities (zeros above the diagonal).
func TestAttnGradRowsPaths(t *testing.T) {
	rng := newRNG()
	defer func(h bool) { hasAVX512 = h }(hasAVX512)
	avx := hasAVX512
	for _, s := range []int{1, 5, 16, 17} {
		const rows = 7
		dp := randSlice[float32](rng, rows*s, -1, 1)
		p := randSlice[float32](rng, rows*s, 0, 1)
		for r := range rows {
			clear(p[r*s+min(r+1, s) : (r+1)*s])
		}
		run := func(vec bool) []float32 {
			hasAVX512 = vec && avx
			ds := append([]float32(nil), dp...)
			attnGradRows(ds, p, rows, s, 0.25)
			return ds
		}
		goDS, vecDS := run(false), run(true)
		for i := range goDS {
			if math.Float32bits(goDS[i]) != math.Float32bits(vecDS[i]) {
				t.Fatalf("s=%d: ds[%d] = %v with AVX-512, %v in Go", s, i, vecDS[i], goDS[i])
			}
		}
	}
}
