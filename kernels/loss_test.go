package kernels

import (
	"math"
	"testing"
)

func testCrossEntropy[T Float](t *testing.T) {
	rng := newRNG()
	n, c := 9, 4
	logits := randSlice[T](rng, n*c, -3, 3)
	target := make([]int32, n)
	for i := range target {
		target[i] = int32(rng.IntN(c))
	}
	// Row 0 has a tie between classes 1 and 3: argmax is 1.
	logits[0], logits[1], logits[2], logits[3] = 0, 2, 1, 2
	target[0] = 1
	wantLoss, wantCorrect := 0.0, 0
	wantGrad := make([]float64, n*c)
	for r := range n {
		row := to64(logits[r*c : (r+1)*c])
		p := refSoftmax(row)
		wantLoss -= math.Log(p[target[r]]) / float64(n)
		best := 0
		for j, v := range row {
			if v > row[best] {
				best = j
			}
		}
		if best == int(target[r]) {
			wantCorrect++
		}
		for j := range p {
			if j == int(target[r]) {
				p[j]--
			}
			wantGrad[r*c+j] = p[j] / float64(n)
		}
	}
	l0 := clone(logits)
	d := make([]T, n*c)
	loss, correct := CrossEntropy(d, logits, target, n, c)
	checkUnchanged(t, "logits", logits, l0)
	if !closeTo(loss, wantLoss, eps[T]()) || correct != wantCorrect {
		t.Errorf("CrossEntropy = %v, %d; want %v, %d", loss, correct, wantLoss, wantCorrect)
	}
	checkClose(t, "dlogits", d, wantGrad, eps[T]())
	if l, _ := CrossEntropy(nil, logits, target, n, c); l != loss {
		t.Errorf("CrossEntropy without gradient = %v, want %v", l, loss)
	}
	CrossEntropy(logits, logits, target, n, c)
	checkClose(t, "dlogits in place", logits, wantGrad, eps[T]())

	// Extreme logits stay finite.
	l, _ := CrossEntropy(nil, []T{1000, -1000}, []int32{1}, 1, 2)
	if !closeTo(l, 2000, 1e-12) {
		t.Errorf("CrossEntropy of extreme logits = %v, want 2000", l)
	}
	mustPanic(t, "bad target", func() { CrossEntropy(nil, logits, []int32{0, 0, 0, 0, 0, 0, 0, 0, 4}, n, c) })
	mustPanic(t, "short target", func() { CrossEntropy(nil, logits, target[1:], n, c) })
}

func TestCrossEntropy(t *testing.T) { both(t, testCrossEntropy[float32], testCrossEntropy[float64]) }

func TestCrossEntropyGradient(t *testing.T) {
	rng := newRNG()
	n, c := 5, 3
	x := randSlice[float64](rng, n*c, -2, 2)
	target := []int32{0, 2, 1, 1, 0}
	d := make([]float64, n*c)
	CrossEntropy(d, x, target, n, c)
	want := numGrad(x, func(x []float64) float64 {
		l, _ := CrossEntropy(nil, x, target, n, c)
		return l
	})
	checkClose(t, "CrossEntropy gradient", d, want, 1e-7)
}

func TestCheckTargets(t *testing.T) {
	for _, c := range []struct {
		target []int32
		want   int
	}{
		{[]int32{0, 1, 2}, -1},
		{[]int32{0, 3, -1}, 1},
		{[]int32{-1}, 0},
		{nil, -1},
	} {
		if got := CheckTargets(c.target, 3); got != c.want {
			t.Errorf("CheckTargets(%v, 3) = %d, want %d", c.target, got, c.want)
		}
	}
}

func TestArgmax(t *testing.T) {
	nan := math.NaN()
	x := []float64{1, 3, 3, 0, -1, -2, -1, -3, 5, nan, 7, nan}
	got := make([]int32, 3)
	Argmax(got, x, 3, 4)
	if want := []int32{1, 0, 1}; got[0] != want[0] || got[1] != want[1] || got[2] != want[2] {
		t.Errorf("Argmax = %v, want %v", got, want)
	}
}

func testMSE[T Float](t *testing.T) {
	rng := newRNG()
	p := randSlice[T](rng, 30, -2, 2)
	y := randSlice[T](rng, 30, -2, 2)
	want, grad := 0.0, make([]float64, len(p))
	for i := range p {
		d := float64(p[i]) - float64(y[i])
		want += d * d / 30
		grad[i] = 2 * d / 30
	}
	p0, y0 := clone(p), clone(y)
	d := make([]T, len(p))
	if got := MSE(d, p, y); !closeTo(got, want, eps[T]()) {
		t.Errorf("MSE = %v, want %v", got, want)
	}
	checkUnchanged(t, "pred", p, p0)
	checkUnchanged(t, "target", y, y0)
	checkClose(t, "MSE gradient", d, grad, eps[T]())
	mustPanic(t, "MSE", func() { MSE(nil, p, y[1:]) })
}

func TestMSE(t *testing.T) { both(t, testMSE[float32], testMSE[float64]) }

func testBCE[T Float](t *testing.T) {
	rng := newRNG()
	x := randSlice[T](rng, 30, -5, 5)
	y := randSlice[T](rng, 30, 0, 1)
	x = append(x, 100, -100)
	y = append(y, 0, 1)
	n := float64(len(x))
	want, grad := 0.0, make([]float64, len(x))
	for i := range x {
		xi, ti := float64(x[i]), float64(y[i])
		s := 1 / (1 + math.Exp(-xi))
		// -[t log σ(x) + (1-t) log(1-σ(x))], with log σ(x) = -log1p(e^-x).
		want += (ti*math.Log1p(math.Exp(-xi)) + (1-ti)*math.Log1p(math.Exp(xi))) / n
		grad[i] = (s - ti) / n
	}
	x0 := clone(x)
	d := make([]T, len(x))
	if got := BCEWithLogits(d, x, y); !closeTo(got, want, eps[T]()) {
		t.Errorf("BCEWithLogits = %v, want %v", got, want)
	}
	checkUnchanged(t, "logits", x, x0)
	checkClose(t, "BCEWithLogits gradient", d, grad, eps[T]())
	mustPanic(t, "BCEWithLogits", func() { BCEWithLogits(d[1:], x, y) })
}

func TestBCEWithLogits(t *testing.T) { both(t, testBCE[float32], testBCE[float64]) }

func TestLossGradients(t *testing.T) {
	rng := newRNG()
	x := randSlice[float64](rng, 12, -2, 2)
	y := randSlice[float64](rng, 12, 0, 1)
	for _, c := range []struct {
		name string
		f    func(d, x, y []float64) float64
	}{
		{"MSE", MSE[float64]},
		{"BCEWithLogits", BCEWithLogits[float64]},
	} {
		d := make([]float64, len(x))
		c.f(d, x, y)
		want := numGrad(x, func(x []float64) float64 { return c.f(nil, x, y) })
		checkClose(t, c.name+" gradient", d, want, 1e-7)
	}
}

func TestCrossEntropyAllocs(t *testing.T) {
	rng := newRNG()
	n, c := 64, 10
	x := randSlice[float32](rng, n*c, -2, 2)
	d := make([]float32, n*c)
	target := make([]int32, n)
	if a := testing.AllocsPerRun(10, func() { CrossEntropy(d, x, target, n, c) }); a != 0 {
		t.Errorf("CrossEntropy: %v allocations, want 0", a)
	}
}

// TestExpNeg checks the cross-entropy's float32 exponential against
// math.Exp over its domain.
func TestExpNeg(t *testing.T) {
	worst := 0.0
	for x := -120.0; x <= 0; x += 0.001 {
		got, want := expNeg(x), math.Exp(x)
		if d := math.Abs(got-want) / want; d > worst {
			worst = d
		}
	}
	if worst > 1e-8 {
		t.Errorf("expNeg: worst relative error %g, want below 1e-8", worst)
	}
	for _, x := range []float64{-745.2, -800, math.Inf(-1)} {
		if got := expNeg(x); got != 0 && math.Abs(got-math.Exp(x)) > 1e-300 {
			t.Errorf("expNeg(%v) = %v, want %v", x, got, math.Exp(x))
		}
	}
	if !math.IsNaN(expNeg(math.NaN())) {
		t.Errorf("expNeg(NaN) is not NaN")
	}
}

// TestCrossEntropyChunks checks the loss over many rows and classes (the
// logarithm is taken per chunk of rows) against a row-by-row float64 sum.
func TestCrossEntropyChunks(t *testing.T) {
	rng := newRNG()
	for _, c := range []int{2, 10, 1000} {
		n := 3*int(600/math.Log2(float64(c)+1)) + 7
		logits := randSlice[float32](rng, n*c, -30, 30)
		target := make([]int32, n)
		want := 0.0
		for r := range n {
			target[r] = int32(rng.IntN(c))
			row := to64(logits[r*c : (r+1)*c])
			m := row[0]
			for _, v := range row {
				m = math.Max(m, v)
			}
			s := 0.0
			for _, v := range row {
				s += math.Exp(v - m)
			}
			want += m + math.Log(s) - row[target[r]]
		}
		want /= float64(n)
		got, _ := CrossEntropy(nil, logits, target, n, c)
		if math.Abs(got-want) > 1e-7*math.Abs(want) {
			t.Errorf("c=%d n=%d: loss %v, want %v", c, n, got, want)
		}
	}
}
