package kernels

import "math"

// Gradient clipping as torch.nn.utils.clip_grad_norm_ does it: the total
// norm of all gradients, then every gradient scaled by
// min(1, maxNorm / (total + 1e-6)). The running sum of squares is a
// float64 carried between calls as its bits in a one-element []int64.

// GradSqNorm sets dst[0] to the bits of acc's float64 (0 when acc is nil)
// plus the sum of the squares of grad, summed in float64.
func GradSqNorm[T Float](dst []float64, grad []T, acc []float64) {
	s := 0.0
	if acc != nil {
		s = acc[0]
	}
	for _, g := range grad {
		s += float64(g) * float64(g)
	}
	dst[0] = s
}

// ClipGrad writes grad scaled for a total norm sqrt(total): by
// maxNorm / (norm + 1e-6), converted to T, when that is below 1; else a
// copy.
func ClipGrad[T Float](dst, grad []T, total []float64, maxNorm float64) {
	same("ClipGrad", "grad", len(grad), len(dst))
	norm := math.Sqrt(total[0])
	coef := maxNorm / (norm + 1e-6)
	if !(coef < 1) {
		copy(dst, grad)
		return
	}
	c := T(coef)
	grad = grad[:len(dst)]
	for i, g := range grad {
		dst[i] = g * c
	}
}
