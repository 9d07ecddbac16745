package kernels

import "math"

// QAdd is TFLite's quantized ADD over uint8 values of one shape: a and b
// each with its own scale and zero point, the sum requantized to outScale
// and outZP, clamped to [outZP, 255] when relu is set (the ReLU fused)
// else to [0, 255]. The arithmetic is TFLite's, integer only: both inputs
// shifted left by 20 bits and scaled to twice the larger input scale by
// fixed-point multipliers, summed, and the sum scaled to the output, each
// product rounded as gemmlowp's SaturatingRoundingDoublingHighMul and
// RoundingDivideByPOT do; so the result does not depend on the path, and
// is what a TFLite runtime computes from the same parameters.
func QAdd(dst, a, b []uint8, aScale float64, aZP int, bScale float64, bZP int, outScale float64, outZP int, relu bool) {
	same("QAdd", "a", len(a), len(dst))
	same("QAdd", "b", len(b), len(dst))
	p := newQAddParams(aScale, aZP, bScale, bZP, outScale, outZP, relu)
	for i := range dst {
		dst[i] = p.add(a[i], b[i])
	}
}

// qaddLeftShift is TFLite's left shift of 8-bit ADD inputs.
const qaddLeftShift = 20

// qaddParams are QAdd's fixed-point multipliers, as TFLite's Prepare of
// ADD computes them.
type qaddParams struct {
	aZP, bZP, outZP        int32
	aMult, bMult, outMult  int32
	aShift, bShift, oShift int
	lo, hi                 int32
}

func newQAddParams(aScale float64, aZP int, bScale float64, bZP int, outScale float64, outZP int, relu bool) qaddParams {
	twiceMax := 2 * max(aScale, bScale)
	p := qaddParams{aZP: int32(aZP), bZP: int32(bZP), outZP: int32(outZP), lo: 0, hi: 255}
	p.aMult, p.aShift = quantizeMultiplier(aScale / twiceMax)
	p.bMult, p.bShift = quantizeMultiplier(bScale / twiceMax)
	p.outMult, p.oShift = quantizeMultiplier(twiceMax / (float64(1<<qaddLeftShift) * outScale))
	if relu {
		p.lo = int32(outZP)
	}
	return p
}

func (p *qaddParams) add(a, b uint8) uint8 {
	x := multiplyByQuantizedMultiplier((int32(a)-p.aZP)<<qaddLeftShift, p.aMult, p.aShift)
	y := multiplyByQuantizedMultiplier((int32(b)-p.bZP)<<qaddLeftShift, p.bMult, p.bShift)
	s := multiplyByQuantizedMultiplier(x+y, p.outMult, p.oShift) + p.outZP
	return uint8(min(max(s, p.lo), p.hi))
}

// quantizeMultiplier writes the real multiplier m as a Q31 fixed-point
// multiplier and a power-of-two exponent, m ≈ q·2^(shift−31), as TFLite's
// QuantizeMultiplier does.
func quantizeMultiplier(m float64) (q int32, shift int) {
	if m == 0 {
		return 0, 0
	}
	frac, shift := math.Frexp(m)
	// C's round: half away from zero.
	f := int64(math.Round(frac * (1 << 31)))
	if f == 1<<31 {
		f /= 2
		shift++
	}
	if shift < -31 {
		return 0, 0
	}
	if shift > 30 {
		return math.MaxInt32, 30
	}
	return int32(f), shift
}

// multiplyByQuantizedMultiplier is TFLite's MultiplyByQuantizedMultiplier:
// x·q·2^(shift−31), rounded.
func multiplyByQuantizedMultiplier(x, q int32, shift int) int32 {
	left, right := max(shift, 0), max(-shift, 0)
	return roundingDivideByPOT(saturatingRoundingDoublingHighMul(x*(1<<left), q), right)
}

// saturatingRoundingDoublingHighMul is gemmlowp's: the high 32 bits of
// 2·a·b, rounded half away from zero, saturated for MinInt32².
func saturatingRoundingDoublingHighMul(a, b int32) int32 {
	if a == math.MinInt32 && b == math.MinInt32 {
		return math.MaxInt32
	}
	ab := int64(a) * int64(b)
	nudge := int64(1 << 30)
	if ab < 0 {
		nudge = 1 - 1<<30
	}
	return int32((ab + nudge) / (1 << 31))
}

// roundingDivideByPOT is gemmlowp's: x/2^e rounded half away from zero.
func roundingDivideByPOT(x int32, e int) int32 {
	if e == 0 {
		return x
	}
	mask := int32(1)<<e - 1
	rem := x & mask
	threshold := mask >> 1
	if x < 0 {
		threshold++
	}
	r := x >> e
	if rem > threshold {
		r++
	}
	return r
}
