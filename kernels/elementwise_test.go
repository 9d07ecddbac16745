package kernels

import (
	"math"
	"testing"
)

// unaryCase is an element-wise kernel with its float64 reference.
type unaryCase[T Float] struct {
	name string
	f    func(dst, x []T)
	ref  func(float64) float64
}

func testUnary[T Float](t *testing.T) {
	rng := newRNG()
	cases := []unaryCase[T]{
		{"Neg", Neg[T], func(x float64) float64 { return -x }},
		{"Scale", func(d, x []T) { Scale(d, 1.5, x) }, func(x float64) float64 { return 1.5 * x }},
		{"Relu", Relu[T], func(x float64) float64 { return math.Max(x, 0) }},
		{"Sigmoid", Sigmoid[T], func(x float64) float64 { return 1 / (1 + math.Exp(-x)) }},
		{"Tanh", Tanh[T], math.Tanh},
		{"Gelu", Gelu[T], func(x float64) float64 { return x * 0.5 * math.Erfc(-x/math.Sqrt2) }},
	}
	x := randSlice[T](rng, 257, -6, 6)
	x = append(x, 0, -800, 800)
	want := make([]float64, len(x))
	for _, c := range cases {
		for i, v := range x {
			want[i] = c.ref(float64(v))
		}
		x0 := clone(x)
		dst := make([]T, len(x))
		c.f(dst, x)
		checkUnchanged(t, c.name+" x", x, x0)
		checkClose(t, c.name, dst, want, eps[T]())
		c.f(x0, x0) // in place
		checkClose(t, c.name+" in place", x0, want, eps[T]())
		mustPanic(t, c.name, func() { c.f(dst[:3], x) })
	}
	if r := []T{T(math.NaN())}; true {
		Relu(r, r)
		if !math.IsNaN(float64(r[0])) {
			t.Errorf("Relu(NaN) = %v, want NaN", r[0])
		}
	}
}

func TestUnary(t *testing.T) { both(t, testUnary[float32], testUnary[float64]) }

func testBinary[T Float](t *testing.T) {
	rng := newRNG()
	a := randSlice[T](rng, 33, -2, 2)
	b := randSlice[T](rng, 33, 0.5, 2)
	for _, c := range []struct {
		name string
		f    func(dst, a, b []T)
		ref  func(x, y float64) float64
	}{
		{"Add", Add[T], func(x, y float64) float64 { return x + y }},
		{"Sub", Sub[T], func(x, y float64) float64 { return x - y }},
		{"Mul", Mul[T], func(x, y float64) float64 { return x * y }},
		{"Div", Div[T], func(x, y float64) float64 { return x / y }},
	} {
		want := make([]float64, len(a))
		for i := range a {
			want[i] = c.ref(float64(a[i]), float64(b[i]))
		}
		dst := make([]T, len(a))
		c.f(dst, a, b)
		checkClose(t, c.name, dst, want, eps[T]())
		mustPanic(t, c.name, func() { c.f(dst, a, b[1:]) })
	}
	acc := clone(a)
	AddTo(acc, b)
	Axpy(acc, -2, b)
	want := make([]float64, len(a))
	for i := range a {
		want[i] = float64(a[i]) - float64(b[i])
	}
	checkClose(t, "AddTo+Axpy", acc, want, eps[T]())
	Fill(acc, 3)
	for i, v := range acc {
		if v != 3 {
			t.Fatalf("Fill: acc[%d] = %v", i, v)
		}
	}
}

func TestBinary(t *testing.T) { both(t, testBinary[float32], testBinary[float64]) }

// checkUnaryGrad checks a backward kernel against finite differences of
// the forward one, with dy random and x away from kinks.
func checkUnaryGrad(t *testing.T, name string, fwd func(dst, x []float64), bwd func(dx, dy, x, y []float64)) {
	t.Helper()
	rng := newRNG()
	x := awayFromZero(rng, 40)
	dy := randSlice[float64](rng, len(x), -1, 1)
	y := make([]float64, len(x))
	fwd(y, x)
	x0, y0, dy0 := clone(x), clone(y), clone(dy)
	dx := make([]float64, len(x))
	bwd(dx, dy, x, y)
	checkUnchanged(t, name+" x", x, x0)
	checkUnchanged(t, name+" y", y, y0)
	checkUnchanged(t, name+" dy", dy, dy0)
	want := numGrad(x, func(x []float64) float64 {
		out := make([]float64, len(x))
		fwd(out, x)
		return dotWith(dy, out)
	})
	checkClose(t, name, dx, want, 1e-7)
}

func TestUnaryBackward(t *testing.T) {
	checkUnaryGrad(t, "ReluBackward", Relu[float64], func(dx, dy, x, _ []float64) { ReluBackward(dx, dy, x) })
	checkUnaryGrad(t, "SigmoidBackward", Sigmoid[float64], func(dx, dy, _, y []float64) { SigmoidBackward(dx, dy, y) })
	checkUnaryGrad(t, "TanhBackward", Tanh[float64], func(dx, dy, _, y []float64) { TanhBackward(dx, dy, y) })
	checkUnaryGrad(t, "GeluBackward", Gelu[float64], func(dx, dy, x, _ []float64) { GeluBackward(dx, dy, x) })
	dx := []float32{5, 5}
	ReluBackward(dx, []float32{1, 1}, []float32{0, 1})
	if dx[0] != 0 || dx[1] != 1 {
		t.Errorf("ReluBackward at 0 and 1 = %v, want [0 1]", dx)
	}
	// The backward kernels of float32 agree with those of float64.
	rng := newRNG()
	x64 := randSlice[float64](rng, 50, -3, 3)
	dy64 := randSlice[float64](rng, 50, -1, 1)
	x32, dy32 := make([]float32, 50), make([]float32, 50)
	for i := range x64 {
		x32[i], dy32[i] = float32(x64[i]), float32(dy64[i])
		x64[i], dy64[i] = float64(x32[i]), float64(dy32[i])
	}
	for _, c := range []struct {
		name string
		f32  func(dx, dy, x []float32)
		f64  func(dx, dy, x []float64)
	}{
		{"ReluBackward", ReluBackward[float32], ReluBackward[float64]},
		{"SigmoidBackward", SigmoidBackward[float32], SigmoidBackward[float64]},
		{"TanhBackward", TanhBackward[float32], TanhBackward[float64]},
		{"GeluBackward", GeluBackward[float32], GeluBackward[float64]},
	} {
		d32, d64 := make([]float32, 50), make([]float64, 50)
		c.f32(d32, dy32, x32)
		c.f64(d64, dy64, x64)
		checkClose(t, c.name+" float32", d32, d64, 1e-5)
	}
}

// TestAddFloat32Exact checks float32 Add (AVX-512's a + 1·b where it runs)
// against the sum of each pair, bit for bit, on every length up to 70 and
// on signed zeros and infinities.
func TestAddFloat32Exact(t *testing.T) {
	rng := newRNG()
	special := []float32{0, float32(math.Copysign(0, -1)), float32(math.Inf(1)), float32(math.Inf(-1)), 1e-45, -3e38, 3e38}
	for n := 1; n <= 70; n++ {
		a, b := randSlice[float32](rng, n, -4, 4), randSlice[float32](rng, n, -1e-3, 1e-3)
		copy(a, special[:min(n, len(special))])
		copy(b, special[len(special)-min(n, len(special)):])
		dst := make([]float32, n)
		Add(dst, a, b)
		for i := range dst {
			if want := a[i] + b[i]; math.Float32bits(dst[i]) != math.Float32bits(want) {
				t.Fatalf("n %d: Add(%v, %v) = %v, want %v", n, a[i], b[i], dst[i], want)
			}
		}
	}
}
