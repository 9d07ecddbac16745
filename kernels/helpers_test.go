package kernels

import (
	"math"
	"math/rand/v2"
	"testing"

	"gonum.org/v1/gonum/diff/fd"
)

// newRNG returns the seeded generator every test starts from.
func newRNG() *rand.Rand { return rand.New(rand.NewPCG(1, 1)) }

// randSlice returns n values drawn uniformly from [lo, hi).
func randSlice[T Float](rng *rand.Rand, n int, lo, hi float64) []T {
	x := make([]T, n)
	for i := range x {
		x[i] = T(lo + (hi-lo)*rng.Float64())
	}
	return x
}

// awayFromZero returns n values uniform in ±[0.1, 2), so that kinks at zero
// are never within a finite-difference step.
func awayFromZero(rng *rand.Rand, n int) []float64 {
	x := make([]float64, n)
	for i := range x {
		x[i] = 0.1 + 1.9*rng.Float64()
		if rng.IntN(2) == 0 {
			x[i] = -x[i]
		}
	}
	return x
}

// eps returns the tolerance to use for T: a few units in the last place.
func eps[T Float]() float64 {
	var z T
	if _, ok := any(z).(float32); ok {
		return 1e-5
	}
	return 1e-12
}

// closeTo reports whether got and want agree to a relative tolerance tol,
// measured against max(1, |want|).
func closeTo(got, want, tol float64) bool {
	if math.IsNaN(got) || math.IsNaN(want) {
		return math.IsNaN(got) && math.IsNaN(want)
	}
	return math.Abs(got-want) <= tol*math.Max(1, math.Abs(want))
}

// checkClose fails t at the first element where got and want differ by more
// than tol relative to max(1, |want|).
func checkClose[T Float](t *testing.T, name string, got []T, want []float64, tol float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: len %d, want %d", name, len(got), len(want))
	}
	for i := range got {
		if !closeTo(float64(got[i]), want[i], tol) {
			t.Fatalf("%s[%d] = %v, want %v (tol %g)", name, i, got[i], want[i], tol)
		}
	}
}

// checkUnchanged fails t if x differs from its copy before the call.
func checkUnchanged[T Float](t *testing.T, name string, x, before []T) {
	t.Helper()
	for i := range x {
		if x[i] != before[i] && !(x[i] != x[i] && before[i] != before[i]) {
			t.Fatalf("%s was modified at %d: %v, was %v", name, i, x[i], before[i])
		}
	}
}

// to64 converts x to float64.
func to64[T Float](x []T) []float64 {
	y := make([]float64, len(x))
	for i, v := range x {
		y[i] = float64(v)
	}
	return y
}

// clone returns a copy of x.
func clone[T any](x []T) []T { return append([]T(nil), x...) }

// numGrad returns the gradient of f at x by central finite differences.
func numGrad(x []float64, f func([]float64) float64) []float64 {
	g := make([]float64, len(x))
	fd.Gradient(g, f, x, &fd.Settings{Formula: fd.Central, Step: 1e-6})
	return g
}

// dotWith returns Σ w[i]·y[i], the scalar whose gradient with respect to y
// is w: finite differences of it check a backward kernel given dy = w.
func dotWith(w, y []float64) float64 {
	s := 0.0
	for i := range w {
		s += w[i] * y[i]
	}
	return s
}

// mustPanic fails t unless f panics.
func mustPanic(t *testing.T, name string, f func()) {
	t.Helper()
	defer func() {
		if recover() == nil {
			t.Errorf("%s: no panic", name)
		}
	}()
	f()
}

// both runs test for float32 and float64.
func both(t *testing.T, f32 func(*testing.T), f64 func(*testing.T)) {
	t.Run("float32", f32)
	t.Run("float64", f64)
}
