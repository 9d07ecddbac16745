package kernels

import (
	"math"
	"slices"
	"testing"
)

// TestAttentionStep: the attention of the query of position pos over the
// rows up to it is row pos of causal Attention (to rounding: a product of
// one row sums in its own order), whatever the rows past pos hold (NaN:
// they are not read), on every float32 path (the AVX-512 kernels take
// rows of sixteen, those past under a mask) and in float64.
func TestAttentionStep(t *testing.T) {
	sizes := [][4]int{{3, 7, 5, 4}, {2, 16, 16, 16}, {1, 5, 17, 33}, {2, 3, 1, 1}, {1, 4, 40, 3}, {1, 23, 3, 2}}
	t.Run("float64", func(t *testing.T) {
		for _, z := range sizes {
			testAttentionStep[float64](t, z[0], z[1], z[2], z[3])
		}
	})
	gemmPaths(t, func(t *testing.T) {
		for _, z := range sizes {
			testAttentionStep[float32](t, z[0], z[1], z[2], z[3])
		}
	})
}

func testAttentionStep[T Float](t *testing.T, count, s, e, ev int) {
	rng := newRNG()
	// Scores from about ±1 to about ±1000 (probabilities that underflow).
	amp := []float64{1, 30, 1000}[(count+s+e)%3]
	q := randSlice[T](rng, count*s*e, -amp, amp)
	k := randSlice[T](rng, count*s*e, -1, 1)
	v := randSlice[T](rng, count*s*ev, -1, 1)
	want, p := make([]T, count*s*ev), make([]T, count*s*s)
	Attention(want, p, q, k, v, count, s, s, e, ev, true)
	for pos := range s {
		qr := make([]T, count*e)
		for i := range count {
			copy(qr[i*e:], q[(i*s+pos)*e:(i*s+pos+1)*e])
		}
		// Rows past pos hold garbage: they change nothing.
		kc, vc := slices.Clone(k), slices.Clone(v)
		for i := range count {
			for r := pos + 1; r < s; r++ {
				for j := range e {
					kc[(i*s+r)*e+j] = T(math.NaN())
				}
				for j := range ev {
					vc[(i*s+r)*ev+j] = T(math.NaN())
				}
			}
		}
		out, ps := make([]T, count*ev), make([]T, count*s)
		AttentionStep(out, ps, qr, kc, vc, []int64{int64(pos)}, count, s, e, ev)
		for i := range count {
			for j := range ev {
				got, w := float64(out[i*ev+j]), float64(want[(i*s+pos)*ev+j])
				if !(math.Abs(got-w) <= 1e-5) {
					t.Fatalf("count=%d s=%d e=%d ev=%d, pos %d, index %d, column %d: %v, want %v", count, s, e, ev, pos, i, j, got, w)
				}
			}
			for j := 0; j <= pos; j++ {
				got, w := float64(ps[i*s+j]), float64(p[(i*s+pos)*s+j])
				if !(math.Abs(got-w) <= 1e-6) {
					t.Fatalf("count=%d s=%d e=%d ev=%d, pos %d, index %d: probability of row %d %v, want %v", count, s, e, ev, pos, i, j, got, w)
				}
			}
			for j := pos + 1; j < s; j++ {
				if ps[i*s+j] != 0 {
					t.Fatalf("pos %d: probability of later row %d is %v", pos, j, ps[i*s+j])
				}
			}
		}
	}
}

// TestKVCacheWrite: the row at pos is replaced, the others copied, and at
// position 0 cleared; a position outside the cache panics.
func TestKVCacheWrite(t *testing.T) {
	const count, s, e = 2, 3, 2
	cache := []float32{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}
	x := []float32{-1, -2, -3, -4}
	out := make([]float32, len(cache))
	KVCacheWrite(out, cache, x, []int64{1}, count, s, e)
	if want := []float32{1, 2, -1, -2, 5, 6, 7, 8, -3, -4, 11, 12}; !slices.Equal(out, want) {
		t.Errorf("pos 1: %v, want %v", out, want)
	}
	KVCacheWrite(out, cache, x, []int64{0}, count, s, e)
	if want := []float32{-1, -2, 0, 0, 0, 0, -3, -4, 0, 0, 0, 0}; !slices.Equal(out, want) {
		t.Errorf("pos 0: %v, want %v", out, want)
	}
	for _, pos := range []int64{-1, s} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("position %d: no panic", pos)
				}
			}()
			KVCacheWrite(out, cache, x, []int64{pos}, count, s, e)
		}()
	}
	if a := testing.AllocsPerRun(10, func() {
		KVCacheWrite(out, cache, x, []int64{2}, count, s, e)
	}); a != 0 {
		t.Errorf("KVCacheWrite allocates %v times", a)
	}
}

// TestSoftmaxRowPaths checks the softmax of attention rows (softmaxRow) on
// every float32 path against float64, at lengths around the AVX-512
// kernel's eight lanes, with spreads of scores up to ±2000 (exponentials
// that underflow), -Inf (probability 0) and NaN (all NaN).
func TestSoftmaxRowPaths(t *testing.T) {
	gemmPaths(t, func(t *testing.T) {
		rng := newRNG()
		for _, n := range []int{1, 2, 7, 8, 9, 16, 17, 40} {
			for _, amp := range []float64{1, 50, 2000} {
				x := randSlice[float32](rng, n+3, -amp, amp)
				if n > 2 {
					x[1] = float32(math.Inf(-1))
				}
				want := to64(x)
				softmaxRow(want, n)
				got := slices.Clone(x)
				softmaxRow(got, n)
				for j := range n + 3 {
					if !(math.Abs(float64(got[j])-want[j]) <= 1e-6) {
						t.Fatalf("n=%d amp=%v: p[%d] = %v, want %v", n, amp, j, got[j], want[j])
					}
				}
				x[n-1] = float32(math.NaN())
				softmaxRow(x, n)
				for j := range n {
					if !math.IsNaN(float64(x[j])) {
						t.Fatalf("n=%d: a NaN score gave p[%d] = %v", n, j, x[j])
					}
				}
			}
		}
	})
}
