package kernels

import "math"

// The optimizer updates of the IR, one kernel per tensor written, so that a
// training step stays a pure function: each reads the old state and writes
// the new one to dst (which may be the old state's slice). Together they
// compute exactly what SGD, Adam and AdamW compute, element by element in
// the same order of operations.

// SGDBuf writes torch.optim.SGD's new momentum buffer:
//
//	d = grad + weightDecay·param
//	dst = d on the first step, else momentum·buf + (1-dampening)·d
//
// It panics unless every slice has len(dst) elements.
func SGDBuf[T Float](dst, buf, grad, param []T, momentum, dampening, weightDecay float64, first bool) {
	for _, s := range [][]T{buf, grad, param} {
		same("SGDBuf", "input", len(s), len(dst))
	}
	wd, mom, damp := T(weightDecay), T(momentum), T(1-dampening)
	for i, g := range grad {
		if wd != 0 {
			g += wd * param[i]
		}
		if first {
			dst[i] = g
		} else {
			dst[i] = buf[i]*mom + damp*g
		}
	}
}

// SGDStep writes torch.optim.SGD's new parameter given the gradient and,
// when momentum ≠ 0, the new momentum buffer from SGDBuf:
//
//	d = grad + weightDecay·param
//	d = d + momentum·buf if nesterov, else buf   (momentum ≠ 0)
//	dst = param - lr·d
func SGDStep[T Float](dst, param, grad, buf []T, lr, momentum, weightDecay float64, nesterov bool) {
	same("SGDStep", "param", len(param), len(dst))
	same("SGDStep", "grad", len(grad), len(dst))
	if momentum != 0 {
		same("SGDStep", "buf", len(buf), len(dst))
	}
	wd, mom, neg := T(weightDecay), T(momentum), T(-lr)
	if wd == 0 && mom == 0 {
		// Plain SGD, the common case, without the tests of each element.
		if d32, ok := any(dst).([]float32); ok && axpy32(d32, any(param).([]float32), any(grad).([]float32), float32(neg)) {
			return
		}
		param = param[:len(dst)]
		grad = grad[:len(dst)]
		for i := range dst {
			dst[i] = param[i] + neg*grad[i]
		}
		return
	}
	for i, g := range grad {
		p := param[i]
		if wd != 0 {
			g += wd * p
		}
		if mom != 0 {
			if nesterov {
				g += mom * buf[i]
			} else {
				g = buf[i]
			}
		}
		dst[i] = p + neg*g
	}
}

// AdamM writes Adam's new first moment, torch.lerp(m, g, 1-beta1) with
// g = grad + weightDecay·param (weightDecay is 0 for AdamW).
func AdamM[T Float](dst, m, grad, param []T, beta1, weightDecay float64) {
	for _, s := range [][]T{m, grad, param} {
		same("AdamM", "input", len(s), len(dst))
	}
	w, weight := T(weightDecay), T(1-beta1)
	small := math.Abs(1-beta1) < 0.5
	done := 0
	if d32, ok := any(dst).([]float32); ok && w == 0 && small {
		done = adamM32(d32, any(m).([]float32), any(grad).([]float32), float32(weight))
	}
	for i := done; i < len(grad); i++ {
		g := grad[i]
		if w != 0 {
			g += w * param[i]
		}
		mi := m[i]
		if small {
			mi += weight * (g - mi)
		} else {
			mi = g - (g-mi)*(1-weight)
		}
		dst[i] = mi
	}
}

// AdamV writes Adam's new second moment, beta2·v + (1-beta2)·g² with
// g = grad + weightDecay·param.
func AdamV[T Float](dst, v, grad, param []T, beta2, weightDecay float64) {
	for _, s := range [][]T{v, grad, param} {
		same("AdamV", "input", len(s), len(dst))
	}
	w, b2, one := T(weightDecay), T(beta2), T(1-beta2)
	done := 0
	if d32, ok := any(dst).([]float32); ok && w == 0 {
		done = adamV32(d32, any(v).([]float32), any(grad).([]float32), float32(b2), float32(one))
	}
	for i := done; i < len(grad); i++ {
		g := grad[i]
		if w != 0 {
			g += w * param[i]
		}
		dst[i] = v[i]*b2 + one*g*g
	}
}

// AdamStep writes the new parameter of step number step (1 for the first)
// from the new moments m and v:
//
//	param = param·(1 - lr·weightDecay)   (AdamW: decoupled)
//	dst = param - (lr/(1-beta1^step))·m / (sqrt(v)/sqrt(1-beta2^step) + eps)
func AdamStep[T Float](dst, param, m, v []T, step int, lr, beta1, beta2, eps, weightDecay float64, decoupled bool) {
	for _, s := range [][]T{param, m, v} {
		same("AdamStep", "input", len(s), len(dst))
	}
	s := float64(step)
	bc1 := 1 - math.Pow(beta1, s)
	bc2Sqrt := T(math.Sqrt(1 - math.Pow(beta2, s)))
	negStep, e := T(-(lr / bc1)), T(eps)
	decay := decoupled && weightDecay != 0
	f := T(1 - lr*weightDecay)
	done := 0
	if d32, ok := any(dst).([]float32); ok {
		// Without decay the factor 1 leaves p exactly as it is.
		fd := float32(1)
		if decay {
			fd = float32(f)
		}
		done = adamStep32(d32, any(param).([]float32), any(m).([]float32), any(v).([]float32), float32(negStep), float32(bc2Sqrt), float32(e), fd)
	}
	for i := done; i < len(param); i++ {
		p := param[i]
		if decay {
			p *= f
		}
		denom := T(math.Sqrt(float64(v[i])))/bc2Sqrt + e
		dst[i] = p + negStep*m[i]/denom
	}
}

// NLLLoss returns the mean negative log-likelihood of the log-probabilities
// logp (n×c) at the class indices target, like torch.nn.functional.nll_loss,
// accumulated in float64. When dlogp is not nil it receives the gradient
// times dloss: -dloss/n at each target, 0 elsewhere. It panics on a target
// outside [0, c).
func NLLLoss[T Float](dlogp, logp []T, target []int32, n, c int, dloss float64) float64 {
	need("NLLLoss", "logp", len(logp), n*c)
	need("NLLLoss", "target", len(target), n)
	total := 0.0
	for r := range n {
		t := int(target[r])
		if t < 0 || t >= c {
			panic("kernels.NLLLoss: target outside [0, c)")
		}
		total -= float64(logp[r*c+t])
	}
	if dlogp != nil {
		need("NLLLoss", "dlogp", len(dlogp), n*c)
		clear(dlogp[:n*c])
		g := T(-dloss / float64(n))
		for r := range n {
			dlogp[r*c+int(target[r])] = g
		}
	}
	return total / float64(n)
}
