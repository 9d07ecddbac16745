package kernels

import (
	"math/rand/v2"
	"slices"
	"testing"
)

// TestUpdatesMatchFusedOptimizers: the split update kernels of the IR
// (one tensor written each) compute exactly what the fused SGD, Adam and
// AdamW kernels compute in place, bit for bit, over several steps.
func TestUpdatesMatchFusedOptimizers(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	const n = 37
	rnd := func() []float32 {
		x := make([]float32, n)
		Uniform(x, -1, 1, rng)
		return x
	}
	for _, cfg := range []SGDConfig{
		{LR: 0.1},
		{LR: 0.05, Momentum: 0.9},
		{LR: 0.05, Momentum: 0.9, Dampening: 0.3, WeightDecay: 1e-2},
		{LR: 0.01, Momentum: 0.8, WeightDecay: 1e-3, Nesterov: true},
	} {
		p := rnd()
		fp, fbuf := slices.Clone(p), make([]float32, n)
		sp, sbuf := slices.Clone(p), make([]float32, n)
		nb, np := make([]float32, n), make([]float32, n)
		for step := 1; step <= 4; step++ {
			g := rnd()
			SGD(fp, g, fbuf, cfg, step == 1)
			var buf []float32
			if cfg.Momentum != 0 {
				SGDBuf(nb, sbuf, g, sp, cfg.Momentum, cfg.Dampening, cfg.WeightDecay, step == 1)
				buf = nb
			}
			SGDStep(np, sp, g, buf, cfg.LR, cfg.Momentum, cfg.WeightDecay, cfg.Nesterov)
			copy(sp, np)
			copy(sbuf, nb)
			if !slices.Equal(fp, sp) || (cfg.Momentum != 0 && !slices.Equal(fbuf, sbuf)) {
				t.Fatalf("SGD %+v step %d: split kernels differ from the fused one", cfg, step)
			}
		}
	}
	for _, decoupled := range []bool{false, true} {
		for _, cfg := range []AdamConfig{
			{LR: 1e-3, Beta1: 0.9, Beta2: 0.999, Eps: 1e-8},
			{LR: 1e-2, Beta1: 0.8, Beta2: 0.99, Eps: 1e-6, WeightDecay: 0.01},
			{LR: 1e-2, Beta1: 0.2, Beta2: 0.9, Eps: 1e-8, WeightDecay: 0.1},
		} {
			p := rnd()
			fp, fm, fv := slices.Clone(p), make([]float32, n), make([]float32, n)
			sp, sm, sv := slices.Clone(p), make([]float32, n), make([]float32, n)
			nm, nv, np := make([]float32, n), make([]float32, n), make([]float32, n)
			gradWD := cfg.WeightDecay
			if decoupled {
				gradWD = 0
			}
			for step := 1; step <= 4; step++ {
				g := rnd()
				if decoupled {
					AdamW(fp, g, fm, fv, step, cfg)
				} else {
					Adam(fp, g, fm, fv, step, cfg)
				}
				AdamM(nm, sm, g, sp, cfg.Beta1, gradWD)
				AdamV(nv, sv, g, sp, cfg.Beta2, gradWD)
				AdamStep(np, sp, nm, nv, step, cfg.LR, cfg.Beta1, cfg.Beta2, cfg.Eps, cfg.WeightDecay, decoupled)
				copy(sp, np)
				copy(sm, nm)
				copy(sv, nv)
				if !slices.Equal(fp, sp) || !slices.Equal(fm, sm) || !slices.Equal(fv, sv) {
					t.Fatalf("Adam %+v decoupled=%v step %d: split kernels differ from the fused one", cfg, decoupled, step)
				}
			}
		}
	}
}

func TestNLLLoss(t *testing.T) {
	logp := []float64{-0.1, -2.3, -1.2, -0.4}
	target := []int32{1, 0}
	d := make([]float64, 4)
	got := NLLLoss(d, logp, target, 2, 2, 2)
	if want := (2.3 + 1.2) / 2; got != want {
		t.Errorf("loss %v, want %v", got, want)
	}
	if want := []float64{0, -1, -1, 0}; !slices.Equal(d, want) {
		t.Errorf("gradient %v, want %v", d, want)
	}
}
