package kernels

import "math"

// Element-wise kernels of the ONNX op set (issue 13), with ONNX's
// definitions and attribute names. Each computes in float64 and rounds once
// to the element type. The backward kernels share one signature, (dx, dy,
// x, alpha, beta), so that one IR op (UnaryGrad) lowers to any of them;
// ops without parameters ignore alpha and beta.

// mapTo sets dst[i] to f(x[i]).
func mapTo[T Float](fn string, dst, x []T, f func(float64) float64) {
	same(fn, "x", len(x), len(dst))
	for i, v := range x {
		dst[i] = T(f(float64(v)))
	}
}

// mapGrad sets dx[i] to dy[i]·f'(x[i]), f' given as d.
func mapGrad[T Float](fn string, dx, dy, x []T, d func(float64) float64) {
	same(fn, "dy", len(dy), len(dx))
	same(fn, "x", len(x), len(dx))
	for i, v := range x {
		dx[i] = T(float64(dy[i]) * d(float64(v)))
	}
}

// Exp sets dst to eˣ.
func Exp[T Float](dst, x []T) { mapTo("Exp", dst, x, math.Exp) }

// ExpBackward sets dx to dy·eˣ.
func ExpBackward[T Float](dx, dy, x []T, _, _ float64) { mapGrad("ExpBackward", dx, dy, x, math.Exp) }

// Log sets dst to the natural logarithm of x.
func Log[T Float](dst, x []T) { mapTo("Log", dst, x, math.Log) }

// LogBackward sets dx to dy/x.
func LogBackward[T Float](dx, dy, x []T, _, _ float64) {
	mapGrad("LogBackward", dx, dy, x, func(v float64) float64 { return 1 / v })
}

// Sqrt sets dst to √x.
func Sqrt[T Float](dst, x []T) { mapTo("Sqrt", dst, x, math.Sqrt) }

// SqrtBackward sets dx to dy/(2√x).
func SqrtBackward[T Float](dx, dy, x []T, _, _ float64) {
	mapGrad("SqrtBackward", dx, dy, x, func(v float64) float64 { return 0.5 / math.Sqrt(v) })
}

// Abs sets dst to |x|.
func Abs[T Float](dst, x []T) { mapTo("Abs", dst, x, math.Abs) }

// AbsBackward sets dx to dy·sign(x), 0 at 0 as torch.
func AbsBackward[T Float](dx, dy, x []T, _, _ float64) {
	mapGrad("AbsBackward", dx, dy, x, func(v float64) float64 {
		switch {
		case v > 0:
			return 1
		case v < 0:
			return -1
		}
		return 0
	})
}

// Erf sets dst to the error function of x.
func Erf[T Float](dst, x []T) { mapTo("Erf", dst, x, math.Erf) }

// ErfBackward sets dx to dy·2/√π·exp(−x²).
func ErfBackward[T Float](dx, dy, x []T, _, _ float64) {
	mapGrad("ErfBackward", dx, dy, x, func(v float64) float64 { return 2 / math.SqrtPi * math.Exp(-v*v) })
}

func softplus(v float64) float64 { return math.Max(v, 0) + math.Log1p(math.Exp(-math.Abs(v))) }

// Softplus sets dst to log(1 + eˣ), computed without overflow.
func Softplus[T Float](dst, x []T) { mapTo("Softplus", dst, x, softplus) }

// SoftplusBackward sets dx to dy·sigmoid(x).
func SoftplusBackward[T Float](dx, dy, x []T, _, _ float64) {
	mapGrad("SoftplusBackward", dx, dy, x, sigmoid)
}

// Softsign sets dst to x/(1 + |x|).
func Softsign[T Float](dst, x []T) {
	mapTo("Softsign", dst, x, func(v float64) float64 { return v / (1 + math.Abs(v)) })
}

// SoftsignBackward sets dx to dy/(1 + |x|)².
func SoftsignBackward[T Float](dx, dy, x []T, _, _ float64) {
	mapGrad("SoftsignBackward", dx, dy, x, func(v float64) float64 { d := 1 + math.Abs(v); return 1 / (d * d) })
}

// LeakyRelu sets dst to x, or alpha·x where x < 0.
func LeakyRelu[T Float](dst, x []T, alpha float64) {
	mapTo("LeakyRelu", dst, x, func(v float64) float64 {
		if v < 0 {
			return alpha * v
		}
		return v
	})
}

// LeakyReluBackward sets dx to dy, or alpha·dy where x < 0.
func LeakyReluBackward[T Float](dx, dy, x []T, alpha, _ float64) {
	mapGrad("LeakyReluBackward", dx, dy, x, func(v float64) float64 {
		if v < 0 {
			return alpha
		}
		return 1
	})
}

func elu(v, alpha float64) float64 {
	if v > 0 {
		return v
	}
	return alpha * math.Expm1(v)
}

func eluGrad(v, alpha float64) float64 {
	if v > 0 {
		return 1
	}
	return alpha * math.Exp(v)
}

// Elu sets dst to x where x > 0, else alpha·(eˣ − 1).
func Elu[T Float](dst, x []T, alpha float64) {
	mapTo("Elu", dst, x, func(v float64) float64 { return elu(v, alpha) })
}

// EluBackward is Elu's gradient.
func EluBackward[T Float](dx, dy, x []T, alpha, _ float64) {
	mapGrad("EluBackward", dx, dy, x, func(v float64) float64 { return eluGrad(v, alpha) })
}

// Selu sets dst to gamma·elu(x, alpha).
func Selu[T Float](dst, x []T, alpha, gamma float64) {
	mapTo("Selu", dst, x, func(v float64) float64 { return gamma * elu(v, alpha) })
}

// SeluBackward is Selu's gradient (alpha, gamma).
func SeluBackward[T Float](dx, dy, x []T, alpha, gamma float64) {
	mapGrad("SeluBackward", dx, dy, x, func(v float64) float64 { return gamma * eluGrad(v, alpha) })
}

// HardSigmoid sets dst to max(0, min(1, alpha·x + beta)).
func HardSigmoid[T Float](dst, x []T, alpha, beta float64) {
	mapTo("HardSigmoid", dst, x, func(v float64) float64 { return math.Max(0, math.Min(1, alpha*v+beta)) })
}

// HardSigmoidBackward sets dx to alpha·dy where 0 < alpha·x + beta < 1,
// else 0.
func HardSigmoidBackward[T Float](dx, dy, x []T, alpha, beta float64) {
	mapGrad("HardSigmoidBackward", dx, dy, x, func(v float64) float64 {
		if y := alpha*v + beta; y > 0 && y < 1 {
			return alpha
		}
		return 0
	})
}

// HardSwish sets dst to x·max(0, min(1, x/6 + 1/2)).
func HardSwish[T Float](dst, x []T) {
	mapTo("HardSwish", dst, x, func(v float64) float64 { return v * math.Max(0, math.Min(1, v/6+0.5)) })
}

// HardSwishBackward is HardSwish's gradient, as torch's: 0 below −3, 1
// above 3, (2x + 3)/6 between.
func HardSwishBackward[T Float](dx, dy, x []T, _, _ float64) {
	mapGrad("HardSwishBackward", dx, dy, x, func(v float64) float64 {
		switch {
		case v < -3:
			return 0
		case v > 3:
			return 1
		}
		return (2*v + 3) / 6
	})
}

// Clip sets dst to x limited to [lo, hi]. A NaN stays NaN.
func Clip[T Float](dst, x []T, lo, hi float64) {
	same("Clip", "x", len(x), len(dst))
	l, h := T(lo), T(hi)
	for i, v := range x {
		switch {
		case v < l:
			v = l
		case v > h:
			v = h
		}
		dst[i] = v
	}
}

// ClipBackward sets dx to dy where lo ≤ x ≤ hi, else 0.
func ClipBackward[T Float](dx, dy, x []T, lo, hi float64) {
	mapGrad("ClipBackward", dx, dy, x, func(v float64) float64 {
		if v >= lo && v <= hi {
			return 1
		}
		return 0
	})
}

// Reciprocal sets dst to 1/x.
func Reciprocal[T Float](dst, x []T) {
	mapTo("Reciprocal", dst, x, func(v float64) float64 { return 1 / v })
}

// ReciprocalBackward sets dx to −dy/x².
func ReciprocalBackward[T Float](dx, dy, x []T, _, _ float64) {
	mapGrad("ReciprocalBackward", dx, dy, x, func(v float64) float64 { return -1 / (v * v) })
}

// Floor sets dst to ⌊x⌋.
func Floor[T Float](dst, x []T) { mapTo("Floor", dst, x, math.Floor) }

// FloorBackward sets dx to 0, as torch does.
func FloorBackward[T Float](dx, dy, x []T, _, _ float64) {
	mapGrad("FloorBackward", dx, dy, x, func(float64) float64 { return 0 })
}

// Ceil sets dst to ⌈x⌉.
func Ceil[T Float](dst, x []T) { mapTo("Ceil", dst, x, math.Ceil) }

// CeilBackward sets dx to 0, as torch does.
func CeilBackward[T Float](dx, dy, x []T, _, _ float64) {
	mapGrad("CeilBackward", dx, dy, x, func(float64) float64 { return 0 })
}

// Not sets dst to the logical negation of x.
func Not(dst, x []bool) {
	same("Not", "x", len(x), len(dst))
	for i, v := range x {
		dst[i] = !v
	}
}
