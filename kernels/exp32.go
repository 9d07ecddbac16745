package kernels

import "math"

// expNeg32 returns e^x for x ≤ 0 (NaN for NaN, 0 below -87.3, where e^x
// leaves float32's normal range) in float32 arithmetic, within 2 ulp: x =
// k·ln2 + r with |r| ≤ ln2/2 (k rounded by adding and subtracting 1.5·2²³,
// ln2 split in two so that k·ln2hi is exact), e^r by its Taylor polynomial
// of degree 7, times 2^k. expNeg in float64 cost the attention of a small
// GPT (examples/names.nn) more than all its matrix products; this costs
// about a third of it. Every operation is rounded to float32 by an
// explicit conversion, which the compiler may not fuse into an FMA, so
// that the result is the same on every machine and build.
func expNeg32(x float32) float32 {
	if !(x > expCut) {
		return expNeg32Tail(x)
	}
	k := float32(float32(x*log2e)+round) - round
	r := float32(x - float32(k*ln2hi))
	r = float32(r - float32(k*ln2lo))
	p := float32(1.0/5040*r) + 1.0/720
	p = float32(p*r) + 1.0/120
	p = float32(p*r) + 1.0/24
	p = float32(p*r) + 1.0/6
	p = float32(p*r) + 0.5
	p = float32(p*r) + 1
	p = float32(p*r) + 1
	return p * math.Float32frombits(uint32(int32(k)+127)<<23)
}

// The constants of expNeg32.
const (
	log2e  = 1.44269504
	ln2hi  = 0.693359375
	ln2lo  = -2.12194440e-4
	round  = 12582912 // 1.5·2²³: adding it rounds to an integer
	expCut = -87.3
)

// expNeg32Consts are expNeg32's constants as float32, in the order that
// the assembly softmax (ssoftmaxRows16) reads them.
var expNeg32Consts = [12]float32{log2e, round, ln2hi, ln2lo, 1.0 / 5040, 1.0 / 720, 1.0 / 120, 1.0 / 24, 1.0 / 6, 0.5, 1, expCut}

// expNeg32Tail is expNeg32 below -87.3 and for NaN, out of line so that
// expNeg32 stays within the inliner's budget.
func expNeg32Tail(x float32) float32 {
	if x != x {
		return x
	}
	return 0
}
