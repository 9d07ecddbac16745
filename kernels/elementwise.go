package kernels

import "math"

// Add sets dst[i] = a[i] + b[i]. It panics unless a and b have len(dst)
// elements.
func Add[T Float](dst, a, b []T) { vv("Add", OpAdd, dst, a, b) }

// Sub sets dst[i] = a[i] - b[i]. It panics unless a and b have len(dst)
// elements.
func Sub[T Float](dst, a, b []T) { vv("Sub", OpSub, dst, a, b) }

// Mul sets dst[i] = a[i] * b[i]. It panics unless a and b have len(dst)
// elements.
func Mul[T Float](dst, a, b []T) { vv("Mul", OpMul, dst, a, b) }

// Div sets dst[i] = a[i] / b[i]. It panics unless a and b have len(dst)
// elements.
func Div[T Float](dst, a, b []T) { vv("Div", OpDiv, dst, a, b) }

// AddTo accumulates x into dst: dst[i] += x[i]. It panics unless x has
// len(dst) elements.
func AddTo[T Float](dst, x []T) {
	same("AddTo", "x", len(x), len(dst))
	for i, v := range x {
		dst[i] += v
	}
}

// Axpy accumulates alpha times x into dst: dst[i] += alpha*x[i]. It panics
// unless x has len(dst) elements.
func Axpy[T Float](dst []T, alpha T, x []T) {
	same("Axpy", "x", len(x), len(dst))
	for i, v := range x {
		dst[i] += alpha * v
	}
}

// Fill sets every element of dst to v.
func Fill[T Float](dst []T, v T) {
	for i := range dst {
		dst[i] = v
	}
}

// Neg sets dst[i] = -x[i]. It panics unless x has len(dst) elements.
func Neg[T Float](dst, x []T) {
	same("Neg", "x", len(x), len(dst))
	for i, v := range x {
		dst[i] = -v
	}
}

// Scale sets dst[i] = s * x[i]. It panics unless x has len(dst) elements.
func Scale[T Float](dst []T, s T, x []T) {
	same("Scale", "x", len(x), len(dst))
	for i, v := range x {
		dst[i] = s * v
	}
}

// Relu sets dst[i] = max(x[i], 0); NaN stays NaN, as in PyTorch. It panics
// unless x has len(dst) elements.
func Relu[T Float](dst, x []T) {
	same("Relu", "x", len(x), len(dst))
	if d32, ok := any(dst).([]float32); ok && relu32(d32, any(x).([]float32)) {
		return
	}
	for i, v := range x {
		if v < 0 {
			v = 0
		}
		dst[i] = v
	}
}

// ReluBackward sets dx[i] = dy[i] where x[i] > 0 and 0 elsewhere, so the
// gradient at 0 is 0 as in PyTorch. x is the input of Relu; its output
// gives the same mask. It panics unless dy and x have len(dx) elements.
func ReluBackward[T Float](dx, dy, x []T) {
	same("ReluBackward", "dy", len(dy), len(dx))
	same("ReluBackward", "x", len(x), len(dx))
	done := 0
	if dx32, ok := any(dx).([]float32); ok {
		done = reluGrad32(dx32, any(dy).([]float32), any(x).([]float32))
	}
	for i := done; i < len(x); i++ {
		if x[i] > 0 {
			dx[i] = dy[i]
		} else {
			dx[i] = 0
		}
	}
}

// Sigmoid sets dst[i] = 1/(1+exp(-x[i])), evaluated without overflow for
// large |x|. It panics unless x has len(dst) elements.
func Sigmoid[T Float](dst, x []T) {
	same("Sigmoid", "x", len(x), len(dst))
	for i, v := range x {
		dst[i] = T(sigmoid(float64(v)))
	}
}

// sigmoid returns 1/(1+exp(-x)) without overflow.
func sigmoid(x float64) float64 {
	if x >= 0 {
		return 1 / (1 + math.Exp(-x))
	}
	e := math.Exp(x)
	return e / (1 + e)
}

// SigmoidBackward sets dx[i] = dy[i]*y[i]*(1-y[i]) from y, the output of
// Sigmoid. It panics unless dy and y have len(dx) elements.
func SigmoidBackward[T Float](dx, dy, y []T) {
	same("SigmoidBackward", "dy", len(dy), len(dx))
	same("SigmoidBackward", "y", len(y), len(dx))
	for i, v := range y {
		dx[i] = dy[i] * v * (1 - v)
	}
}

// Tanh sets dst[i] = tanh(x[i]). It panics unless x has len(dst) elements.
func Tanh[T Float](dst, x []T) {
	same("Tanh", "x", len(x), len(dst))
	for i, v := range x {
		dst[i] = T(math.Tanh(float64(v)))
	}
}

// TanhBackward sets dx[i] = dy[i]*(1-y[i]²) from y, the output of Tanh. It
// panics unless dy and y have len(dx) elements.
func TanhBackward[T Float](dx, dy, y []T) {
	same("TanhBackward", "dy", len(dy), len(dx))
	same("TanhBackward", "y", len(y), len(dx))
	for i, v := range y {
		dx[i] = dy[i] * (1 - v*v)
	}
}

// Gelu sets dst[i] = x[i]·Φ(x[i]), where Φ is the standard normal CDF
// computed with erf: the exact GELU, torch.nn.functional.gelu's default. It
// panics unless x has len(dst) elements.
func Gelu[T Float](dst, x []T) {
	same("Gelu", "x", len(x), len(dst))
	for i, v := range x {
		f := float64(v)
		dst[i] = T(0.5 * f * (1 + math.Erf(f/math.Sqrt2)))
	}
}

// GeluBackward sets dx[i] = dy[i]·(Φ(x[i]) + x[i]·φ(x[i])) from x, the input
// of Gelu, where φ is the standard normal density. It panics unless dy and
// x have len(dx) elements.
func GeluBackward[T Float](dx, dy, x []T) {
	same("GeluBackward", "dy", len(dy), len(dx))
	same("GeluBackward", "x", len(x), len(dx))
	const invSqrt2Pi = 0.3989422804014327 // 1/√(2π)
	for i, v := range x {
		f := float64(v)
		cdf := 0.5 * (1 + math.Erf(f/math.Sqrt2))
		pdf := invSqrt2Pi * math.Exp(-0.5*f*f)
		dx[i] = dy[i] * T(cdf+f*pdf)
	}
}
