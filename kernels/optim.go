package kernels

import "math"

// SGDConfig holds the hyper-parameters of torch.optim.SGD.
type SGDConfig struct {
	LR          float64
	Momentum    float64
	Dampening   float64
	WeightDecay float64
	Nesterov    bool
}

// SGD applies one step of torch.optim.SGD to param given its gradient grad,
// with the arithmetic of PyTorch's single-tensor implementation:
//
//	d = grad + WeightDecay·param
//	if Momentum ≠ 0:
//		buf = d on the first step, else Momentum·buf + (1-Dampening)·d
//		d = d + Momentum·buf if Nesterov, else buf
//	param = param - LR·d
//
// Scalar factors are computed in float64, as Python does, then rounded to
// T. buf is the momentum buffer, which the caller keeps between steps; it
// may be nil when Momentum is 0. first says this is the buffer's first
// step. grad is not modified. SGD panics unless grad and a used buf have
// len(param) elements.
func SGD[T Float](param, grad, buf []T, cfg SGDConfig, first bool) {
	same("SGD", "grad", len(grad), len(param))
	if cfg.Momentum != 0 {
		same("SGD", "buf", len(buf), len(param))
	}
	wd, mom, damp, lr := T(cfg.WeightDecay), T(cfg.Momentum), T(1-cfg.Dampening), T(-cfg.LR)
	for i, g := range grad {
		p := param[i]
		if wd != 0 {
			g += wd * p
		}
		if mom != 0 {
			b := g
			if !first {
				b = buf[i]*mom + damp*g
			}
			buf[i] = b
			if cfg.Nesterov {
				g += mom * b
			} else {
				g = b
			}
		}
		param[i] = p + lr*g
	}
}

// AdamConfig holds the hyper-parameters of torch.optim.Adam and AdamW.
// PyTorch's defaults are LR 1e-3, Beta1 0.9, Beta2 0.999 and Eps 1e-8, with
// WeightDecay 0 for Adam and 1e-2 for AdamW.
type AdamConfig struct {
	LR          float64
	Beta1       float64
	Beta2       float64
	Eps         float64
	WeightDecay float64
}

// Adam applies step number step (1 for the first) of torch.optim.Adam to
// param given its gradient grad and the moment estimates m and v, which the
// caller keeps between steps (zero before the first), with the arithmetic of
// PyTorch's single-tensor implementation:
//
//	g = grad + WeightDecay·param
//	m = m + (g - m)·(1-Beta1)   (torch.lerp)
//	v = Beta2·v + (1-Beta2)·g·g
//	param = param - (LR/(1-Beta1^step))·m / (sqrt(v)/sqrt(1-Beta2^step) + Eps)
//
// Scalar factors are computed in float64, as Python does, then rounded to
// T. grad is not modified. Adam panics unless grad, m and v have
// len(param) elements.
func Adam[T Float](param, grad, m, v []T, step int, cfg AdamConfig) {
	adam("Adam", param, grad, m, v, step, cfg, cfg.WeightDecay)
}

// AdamW applies step number step of torch.optim.AdamW: like Adam, except
// that weight decay is decoupled from the gradient: param is first
// multiplied by 1 - LR·WeightDecay, then Adam's update runs without weight
// decay.
func AdamW[T Float](param, grad, m, v []T, step int, cfg AdamConfig) {
	same("AdamW", "grad", len(grad), len(param))
	if cfg.WeightDecay != 0 {
		f := T(1 - cfg.LR*cfg.WeightDecay)
		for i := range param {
			param[i] *= f
		}
	}
	adam("AdamW", param, grad, m, v, step, cfg, 0)
}

// adam is the update shared by Adam and AdamW, with weight decay wd added
// to the gradient.
func adam[T Float](fn string, param, grad, m, v []T, step int, cfg AdamConfig, wd float64) {
	same(fn, "grad", len(grad), len(param))
	same(fn, "m", len(m), len(param))
	same(fn, "v", len(v), len(param))
	s := float64(step)
	bc1 := 1 - math.Pow(cfg.Beta1, s)
	bc2 := 1 - math.Pow(cfg.Beta2, s)
	var (
		w         = T(wd)
		weight    = T(1 - cfg.Beta1)
		small     = math.Abs(1-cfg.Beta1) < 0.5
		beta2     = T(cfg.Beta2)
		oneMinus2 = T(1 - cfg.Beta2)
		bc2Sqrt   = T(math.Sqrt(bc2))
		eps       = T(cfg.Eps)
		negStep   = T(-(cfg.LR / bc1))
	)
	for i, g := range grad {
		p := param[i]
		if w != 0 {
			g += w * p
		}
		// torch.lerp(m, g, weight), evaluated from the nearer end.
		mi := m[i]
		if small {
			mi += weight * (g - mi)
		} else {
			mi = g - (g-mi)*(1-weight)
		}
		m[i] = mi
		vi := v[i]*beta2 + oneMinus2*g*g
		v[i] = vi
		denom := T(math.Sqrt(float64(vi)))/bc2Sqrt + eps
		param[i] = p + negStep*mi/denom
	}
}
