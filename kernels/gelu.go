package kernels

// The tanh form of GELU in float32 (issue 14's GPT spends most of a
// training step here when tanh is math.Tanh in float64): tanh by a
// rational function in float32, the same operations, in the same order and
// each rounded, in the AVX-512 loops of gelu_amd64.s and in the Go loops
// below, so every build gives the same bits.

// The coefficients of tanh32's rational function (Eigen's and XLA's fast
// float tanh: an odd polynomial of degree 13 over an even one of degree 6,
// inputs clamped to ±tanhClamp, where it reaches 1 in float32). Its
// absolute error is below 4e-7, a few units in the last place of float32,
// as PyTorch's vectorised float32 tanh is within one or two.
const (
	tanhClamp = float32(7.90531110763549805)
	tanhA1    = float32(4.89352455891786e-03)
	tanhA3    = float32(6.37261928875436e-04)
	tanhA5    = float32(1.48572235717979e-05)
	tanhA7    = float32(5.12229709037114e-08)
	tanhA9    = float32(-8.60467152213735e-11)
	tanhA11   = float32(2.00018790482477e-13)
	tanhA13   = float32(-2.76076847742355e-16)
	tanhB0    = float32(4.89352518554385e-03)
	tanhB2    = float32(2.26843463243900e-03)
	tanhB4    = float32(1.18534705686654e-04)
	tanhB6    = float32(1.19825839466702e-06)

	geluKappa32  = float32(geluKappa)
	geluBeta32   = float32(geluBeta)
	gelu3Kappa32 = float32(3 * geluKappa)
)

// tanh32 returns tanh(u) in float32 by the rational function above. NaN
// gives NaN; ±Inf, ±1.
func tanh32(u float32) float32 {
	if u > tanhClamp {
		u = tanhClamp
	}
	if u < -tanhClamp {
		u = -tanhClamp
	}
	// Each product is converted to float32 so that no multiply-add is
	// fused: the assembly rounds after every operation too.
	u2 := float32(u * u)
	p := float32(u2*tanhA13) + tanhA11
	p = float32(p*u2) + tanhA9
	p = float32(p*u2) + tanhA7
	p = float32(p*u2) + tanhA5
	p = float32(p*u2) + tanhA3
	p = float32(p*u2) + tanhA1
	p = float32(p * u)
	q := float32(u2*tanhB6) + tanhB4
	q = float32(q*u2) + tanhB2
	q = float32(q*u2) + tanhB0
	return p / q
}

// geluInner returns x², u = √(2/π)·(x + 0.044715·x³) and t = tanh(u), in
// float32 as gelu_amd64.s computes them.
func geluInner(x float32) (x2, t float32) {
	x2 = float32(x * x)
	k := float32(float32(geluKappa32*x2) * x)
	u := float32(geluBeta32 * float32(x+k))
	return x2, tanh32(u)
}

// geluTanh32 is GeluTanh in float32: dst[i] = (0.5·x)·(1 + t). The slices
// have the same length.
func geluTanh32(dst, x []float32) {
	done := geluTanhAsm(dst, x)
	for i := done; i < len(dst); i++ {
		v := x[i]
		_, t := geluInner(v)
		dst[i] = float32(0.5*v) * float32(1+t)
	}
}

// geluTanhBackward32 is GeluTanhBackward in float32:
// dx[i] = dy[i]·(0.5·(1 + t) + (0.5·x)·(1 − t·t)·(√(2/π)·(1 + 3·0.044715·x²))).
// The slices have the same length.
func geluTanhBackward32(dx, dy, x []float32) {
	done := geluTanhGradAsm(dx, dy, x)
	for i := done; i < len(dx); i++ {
		v := x[i]
		x2, t := geluInner(v)
		a := float32(0.5 * float32(1+t))
		b := float32(1 - float32(t*t))
		c := float32(geluBeta32 * float32(1+float32(gelu3Kappa32*x2)))
		d := a + float32(float32(float32(0.5*v)*b)*c)
		dx[i] = dy[i] * d
	}
}
