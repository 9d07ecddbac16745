package kernels

import (
	"math"
	"testing"
)

// refSGD is torch.optim.SGD's update, written out in float64.
func refSGD(p, g, buf []float64, c SGDConfig, first bool) {
	for i := range p {
		d := g[i] + c.WeightDecay*p[i]
		if c.Momentum != 0 {
			if first {
				buf[i] = d
			} else {
				buf[i] = c.Momentum*buf[i] + (1-c.Dampening)*d
			}
			if c.Nesterov {
				d += c.Momentum * buf[i]
			} else {
				d = buf[i]
			}
		}
		p[i] -= c.LR * d
	}
}

// refAdam is torch.optim.Adam's update (AdamW's when decoupled), written
// out in float64.
func refAdam(p, g, m, v []float64, step int, c AdamConfig, decoupled bool) {
	bc1 := 1 - math.Pow(c.Beta1, float64(step))
	bc2 := 1 - math.Pow(c.Beta2, float64(step))
	for i := range p {
		gi := g[i]
		if decoupled {
			p[i] *= 1 - c.LR*c.WeightDecay
		} else {
			gi += c.WeightDecay * p[i]
		}
		m[i] = c.Beta1*m[i] + (1-c.Beta1)*gi
		v[i] = c.Beta2*v[i] + (1-c.Beta2)*gi*gi
		mhat := m[i] / bc1
		denom := math.Sqrt(v[i])/math.Sqrt(bc2) + c.Eps
		p[i] -= c.LR * mhat / denom
	}
}

// gradAt returns a deterministic gradient for step s that depends on p.
func gradAt[T Float](p []T, s int) []T {
	g := make([]T, len(p))
	for i, v := range p {
		g[i] = T(math.Sin(float64(i+s))) + v/2
	}
	return g
}

func testSGD[T Float](t *testing.T) {
	rng := newRNG()
	tol := 1e-14
	if eps[T]() > 1e-9 {
		tol = 1e-6
	}
	for _, c := range []SGDConfig{
		{LR: 0.01},
		{LR: 0.1, Momentum: 0.9},
		{LR: 0.05, Momentum: 0.9, Dampening: 0.5, WeightDecay: 1e-2},
		{LR: 0.05, Momentum: 0.8, WeightDecay: 1e-3, Nesterov: true},
	} {
		p := randSlice[T](rng, 17, -1, 1)
		buf := make([]T, len(p))
		if c.Momentum == 0 {
			buf = nil
		}
		rp, rbuf := to64(p), make([]float64, len(p))
		for s := range 5 {
			g := gradAt(p, s)
			g0 := clone(g)
			SGD(p, g, buf, c, s == 0)
			checkUnchanged(t, "grad", g, g0)
			refSGD(rp, to64(g), rbuf, c, s == 0)
			checkClose(t, "SGD param", p, rp, tol)
		}
	}
	mustPanic(t, "SGD buf", func() { SGD([]T{1}, []T{1}, nil, SGDConfig{LR: 1, Momentum: 0.9}, true) })
}

func TestSGD(t *testing.T) { both(t, testSGD[float32], testSGD[float64]) }

func testAdam[T Float](t *testing.T) {
	rng := newRNG()
	tol := 1e-13
	if eps[T]() > 1e-9 {
		tol = 1e-5
	}
	for _, c := range []AdamConfig{
		{LR: 1e-3, Beta1: 0.9, Beta2: 0.999, Eps: 1e-8},
		{LR: 1e-2, Beta1: 0.8, Beta2: 0.99, Eps: 1e-6, WeightDecay: 0.1},
		{LR: 1e-2, Beta1: 0.3, Beta2: 0.9, Eps: 1e-8, WeightDecay: 0.01},
	} {
		for _, decoupled := range []bool{false, true} {
			p := randSlice[T](rng, 17, -1, 1)
			m, v := make([]T, len(p)), make([]T, len(p))
			rp, rm, rv := to64(p), make([]float64, len(p)), make([]float64, len(p))
			for step := 1; step <= 6; step++ {
				g := gradAt(p, step)
				g0 := clone(g)
				if decoupled {
					AdamW(p, g, m, v, step, c)
				} else {
					Adam(p, g, m, v, step, c)
				}
				checkUnchanged(t, "grad", g, g0)
				refAdam(rp, to64(g), rm, rv, step, c, decoupled)
				checkClose(t, "Adam m", m, rm, tol)
				checkClose(t, "Adam v", v, rv, tol)
				checkClose(t, "Adam param", p, rp, tol)
			}
		}
	}
	mustPanic(t, "Adam v", func() { Adam([]T{1}, []T{1}, []T{0}, nil, 1, AdamConfig{LR: 1}) })
}

func TestAdam(t *testing.T) { both(t, testAdam[float32], testAdam[float64]) }

// TestAdamFirstStep checks one step against values worked out by hand: on
// the first step m̂ = g and v̂ = g², so the update is lr·g/(|g|+eps).
func TestAdamFirstStep(t *testing.T) {
	p := []float64{1, -2}
	g := []float64{0.5, -4}
	m, v := make([]float64, 2), make([]float64, 2)
	Adam(p, g, m, v, 1, AdamConfig{LR: 0.1, Beta1: 0.9, Beta2: 0.999, Eps: 1e-8})
	want := []float64{1 - 0.1*0.5/(0.5+1e-8), -2 + 0.1*4/(4+1e-8)}
	checkClose(t, "param", p, want, 1e-15)
	checkClose(t, "m", m, []float64{0.05, -0.4}, 1e-15)
	checkClose(t, "v", v, []float64{0.00025, 0.016}, 1e-15)
}
