package kernels

import "math"

// Softmax computes softmax along the middle axis of x, an outer×dim×inner
// tensor (see Sum for how an axis maps to those sizes), into dst of the same
// shape: dst[o,d,i] = exp(x[o,d,i] - m) / Σ_k exp(x[o,k,i] - m), with m the
// maximum along the axis so that no exponential overflows. Sums are
// accumulated in float64. dst may be x. Softmax panics unless both slices
// hold outer*dim*inner elements.
func Softmax[T Float](dst, x []T, outer, dim, inner int) {
	n := axis("Softmax", outer, dim, inner)
	same("Softmax", "x", len(x), n)
	same("Softmax", "dst", len(dst), n)
	for o := range outer {
		for i := range inner {
			base := o*dim*inner + i
			m := maxAlong(x, base, dim, inner)
			s := 0.0
			for k := range dim {
				j := base + k*inner
				e := math.Exp(float64(x[j]) - m)
				dst[j] = T(e)
				s += e
			}
			inv := 1 / s
			for k := range dim {
				j := base + k*inner
				dst[j] = T(float64(dst[j]) * inv)
			}
		}
	}
}

// LogSoftmax computes log(softmax(x)) along the middle axis of x, with the
// shapes of Softmax, as x - m - log(Σ exp(x - m)). dst may be x.
func LogSoftmax[T Float](dst, x []T, outer, dim, inner int) {
	n := axis("LogSoftmax", outer, dim, inner)
	same("LogSoftmax", "x", len(x), n)
	same("LogSoftmax", "dst", len(dst), n)
	for o := range outer {
		for i := range inner {
			base := o*dim*inner + i
			m := maxAlong(x, base, dim, inner)
			s := 0.0
			for k := range dim {
				s += math.Exp(float64(x[base+k*inner]) - m)
			}
			lse := m + math.Log(s)
			for k := range dim {
				j := base + k*inner
				dst[j] = T(float64(x[j]) - lse)
			}
		}
	}
}

// maxAlong returns the maximum of x[base+k*stride] for k < n, NaN if one of
// them is NaN, and 0 when n is 0.
func maxAlong[T Float](x []T, base, n, stride int) float64 {
	if n == 0 {
		return 0
	}
	m := x[base]
	for k := 1; k < n; k++ {
		v := x[base+k*stride]
		if v > m || v != v {
			m = v
			if v != v {
				break
			}
		}
	}
	return float64(m)
}

// SoftmaxBackward computes the gradient of Softmax from y, its output, and
// dy, the gradient of y: dx = y·(dy - Σ_k dy·y) along the axis, with the
// shapes of Softmax. dx may be dy.
func SoftmaxBackward[T Float](dx, dy, y []T, outer, dim, inner int) {
	n := axis("SoftmaxBackward", outer, dim, inner)
	same("SoftmaxBackward", "y", len(y), n)
	same("SoftmaxBackward", "dy", len(dy), n)
	same("SoftmaxBackward", "dx", len(dx), n)
	for o := range outer {
		for i := range inner {
			base := o*dim*inner + i
			s := 0.0
			for k := range dim {
				j := base + k*inner
				s += float64(dy[j]) * float64(y[j])
			}
			for k := range dim {
				j := base + k*inner
				dx[j] = T(float64(y[j]) * (float64(dy[j]) - s))
			}
		}
	}
}

// LogSoftmaxBackward computes the gradient of LogSoftmax from y, its
// output, and dy, the gradient of y: dx = dy - exp(y)·Σ_k dy along the
// axis, with the shapes of Softmax. dx may be dy.
func LogSoftmaxBackward[T Float](dx, dy, y []T, outer, dim, inner int) {
	n := axis("LogSoftmaxBackward", outer, dim, inner)
	same("LogSoftmaxBackward", "y", len(y), n)
	same("LogSoftmaxBackward", "dy", len(dy), n)
	same("LogSoftmaxBackward", "dx", len(dx), n)
	for o := range outer {
		for i := range inner {
			base := o*dim*inner + i
			s := 0.0
			for k := range dim {
				s += float64(dy[base+k*inner])
			}
			for k := range dim {
				j := base + k*inner
				dx[j] = T(float64(dy[j]) - math.Exp(float64(y[j]))*s)
			}
		}
	}
}
