package kernels

import "math/rand/v2"

// Uniform fills dst with values drawn uniformly from [lo, hi) in float64 by
// rng, one rng.Float64 per element, then rounded to T (which may round a
// value up to hi). PyTorch's default initialisation of Linear and Conv2d
// weights and biases is Uniform(w, -1/√fan_in, 1/√fan_in, rng).
func Uniform[T Float](dst []T, lo, hi float64, rng *rand.Rand) {
	for i := range dst {
		dst[i] = T(lo + (hi-lo)*rng.Float64())
	}
}

// Normal fills dst with values drawn from the normal distribution of the
// given mean and standard deviation by rng.NormFloat64, rounded to T.
func Normal[T Float](dst []T, mean, std float64, rng *rand.Rand) {
	for i := range dst {
		dst[i] = T(mean + std*rng.NormFloat64())
	}
}

// DropoutMask fills mask for Dropout with probability p of dropping an
// element, as torch.nn.functional.dropout in training mode: each element is
// 0 with probability p (when rng.Float64() < p) and 1/(1-p) otherwise, the
// inverted scaling that keeps the expected value. With p = 1 every element
// is 0.
func DropoutMask[T Float](mask []T, p float64, rng *rand.Rand) {
	if p >= 1 {
		clear(mask)
		return
	}
	scale := T(1 / (1 - p))
	for i := range mask {
		if rng.Float64() < p {
			mask[i] = 0
		} else {
			mask[i] = scale
		}
	}
}

// Dropout applies a mask made by DropoutMask: dst[i] = x[i]·mask[i]. It
// panics unless x and mask have len(dst) elements.
func Dropout[T Float](dst, x, mask []T) { vv("Dropout", OpMul, dst, x, mask) }

// DropoutBackward computes the gradient of Dropout with the same mask:
// dx[i] = dy[i]·mask[i]. It panics unless dy and mask have len(dx)
// elements.
func DropoutBackward[T Float](dx, dy, mask []T) { vv("DropoutBackward", OpMul, dx, dy, mask) }
