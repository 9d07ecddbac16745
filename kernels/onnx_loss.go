package kernels

import "math"

// The reductions of ONNX's NegativeLogLikelihoodLoss, as the reduction
// argument of its kernels.
const (
	LossNone = 0 // the loss of each target
	LossSum  = 1 // their sum
	LossMean = 2 // their weighted mean: the sum over the sum of the weights
)

// NoIgnoreIndex is the ignore argument of NegativeLogLikelihoodLoss when no
// target is ignored.
const NoIgnoreIndex = math.MinInt64

// NegativeLogLikelihoodLoss is ONNX's NegativeLogLikelihoodLoss of the
// log-probabilities x [n, c, inner...] (the classes along axis 1) and the
// targets [n, inner...]: the loss of target t at (i, j) is
// −x[i, t, j]·weight[t] (weight 1 when weight is nil), and 0 with weight 0
// where t is ignore. dst holds the losses (LossNone, n·inner of them) or
// their sum or weighted mean (one value); the mean of no weight is NaN, as
// in ONNX's reference. A target outside [0, c) that is not ignored panics
// with an *IDError.
func NegativeLogLikelihoodLoss[T Float](dst, x []T, target []int64, weight []T, n, c, inner, reduction, ignore int) {
	checkNLL("NegativeLogLikelihoodLoss", len(x), len(target), len(weight), n, c, inner)
	if reduction == LossNone {
		same("NegativeLogLikelihoodLoss", "dst", len(dst), n*inner)
	} else {
		same("NegativeLogLikelihoodLoss", "dst", len(dst), 1)
	}
	var sum, wsum float64
	for i := range n {
		for j := range inner {
			k := i*inner + j
			t, w := nllTarget(target, weight, k, c, ignore)
			l := 0.0
			if w != 0 {
				l = -float64(x[(i*c+t)*inner+j]) * w
			}
			if reduction == LossNone {
				dst[k] = T(l)
			}
			sum += l
			wsum += w
		}
	}
	switch reduction {
	case LossSum:
		dst[0] = T(sum)
	case LossMean:
		dst[0] = T(sum / wsum)
	}
}

// NegativeLogLikelihoodLossBackward sets dx, of x's shape, to the gradient
// of NegativeLogLikelihoodLoss given dy, the gradient of its value:
// −weight[t]·dy at each target's entry (over the sum of the weights for
// LossMean), 0 elsewhere.
func NegativeLogLikelihoodLossBackward[T Float](dx, dy []T, target []int64, weight []T, n, c, inner, reduction, ignore int) {
	checkNLL("NegativeLogLikelihoodLossBackward", len(dx), len(target), len(weight), n, c, inner)
	if reduction == LossNone {
		same("NegativeLogLikelihoodLossBackward", "dy", len(dy), n*inner)
	} else {
		same("NegativeLogLikelihoodLossBackward", "dy", len(dy), 1)
	}
	clear(dx)
	scale := 1.0
	if reduction == LossMean {
		wsum := 0.0
		for k := range target {
			_, w := nllTarget(target, weight, k, c, ignore)
			wsum += w
		}
		scale = 1 / wsum
	}
	for i := range n {
		for j := range inner {
			k := i*inner + j
			t, w := nllTarget(target, weight, k, c, ignore)
			if w == 0 {
				continue
			}
			g := float64(dy[0])
			if reduction == LossNone {
				g = float64(dy[k])
			}
			dx[(i*c+t)*inner+j] = T(-w * g * scale)
		}
	}
}

func checkNLL(fn string, lx, lt, lw, n, c, inner int) {
	same(fn, "x", lx, n*c*inner)
	same(fn, "target", lt, n*inner)
	if lw != 0 {
		same(fn, "weight", lw, c)
	}
}

// nllTarget returns target k and its weight, 0 when it is ignored.
func nllTarget[T Float](target []int64, weight []T, k, c, ignore int) (int, float64) {
	t := target[k]
	if ignore != NoIgnoreIndex && t == int64(ignore) {
		return 0, 0
	}
	if t < 0 || t >= int64(c) {
		panic(&IDError{Pos: k, ID: t, Num: c})
	}
	if weight == nil {
		return int(t), 1
	}
	return int(t), float64(weight[t])
}
