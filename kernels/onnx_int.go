package kernels

import "math"

// Integer arithmetic and bool logic of the ONNX op set (issue 13), exact:
// int64 results wrap around as Go's (and two's complement C's) do, integer
// division truncates toward zero, and a division or remainder by zero is 0
// (ONNX leaves it undefined; nnc must not panic).

// BroadcastAddI64 sets dst to a + b.
func BroadcastAddI64(dst []int64, shape []int, a []int64, aShape []int, b []int64, bShape []int) {
	bcast2("BroadcastAddI64", dst, shape, a, aShape, b, bShape, func(x, y int64) int64 { return x + y })
}

// BroadcastSubI64 sets dst to a - b.
func BroadcastSubI64(dst []int64, shape []int, a []int64, aShape []int, b []int64, bShape []int) {
	bcast2("BroadcastSubI64", dst, shape, a, aShape, b, bShape, func(x, y int64) int64 { return x - y })
}

// BroadcastMulI64 sets dst to a·b.
func BroadcastMulI64(dst []int64, shape []int, a []int64, aShape []int, b []int64, bShape []int) {
	bcast2("BroadcastMulI64", dst, shape, a, aShape, b, bShape, func(x, y int64) int64 { return x * y })
}

// BroadcastDivI64 sets dst to a / b truncated toward zero.
func BroadcastDivI64(dst []int64, shape []int, a []int64, aShape []int, b []int64, bShape []int) {
	bcast2("BroadcastDivI64", dst, shape, a, aShape, b, bShape, divI64)
}

// divI64 is x/y; MinInt64/-1 wraps to MinInt64 as Go defines it.
func divI64(x, y int64) int64 {
	if y == 0 {
		return 0
	}
	return x / y
}

// BroadcastMinI64 sets dst to the smaller of a and b.
func BroadcastMinI64(dst []int64, shape []int, a []int64, aShape []int, b []int64, bShape []int) {
	bcast2("BroadcastMinI64", dst, shape, a, aShape, b, bShape, func(x, y int64) int64 { return min(x, y) })
}

// BroadcastMaxI64 sets dst to the larger of a and b.
func BroadcastMaxI64(dst []int64, shape []int, a []int64, aShape []int, b []int64, bShape []int) {
	bcast2("BroadcastMaxI64", dst, shape, a, aShape, b, bShape, func(x, y int64) int64 { return max(x, y) })
}

// BroadcastModI64 sets dst to a mod b with the sign of b (Python's %,
// ONNX's Mod with fmod 0).
func BroadcastModI64(dst []int64, shape []int, a []int64, aShape []int, b []int64, bShape []int) {
	bcast2("BroadcastModI64", dst, shape, a, aShape, b, bShape, func(x, y int64) int64 {
		if y == 0 {
			return 0
		}
		r := x % y
		if r != 0 && (r < 0) != (y < 0) {
			r += y
		}
		return r
	})
}

// BroadcastFmodI64 sets dst to a mod b with the sign of a (C's fmod,
// ONNX's Mod with fmod 1).
func BroadcastFmodI64(dst []int64, shape []int, a []int64, aShape []int, b []int64, bShape []int) {
	bcast2("BroadcastFmodI64", dst, shape, a, aShape, b, bShape, func(x, y int64) int64 {
		if y == 0 {
			return 0
		}
		return x % y
	})
}

// BroadcastFmod sets dst to fmod(a, b): the remainder of a/b truncated,
// with the sign of a.
func BroadcastFmod[T Float](dst []T, shape []int, a []T, aShape []int, b []T, bShape []int) {
	bcast2("BroadcastFmod", dst, shape, a, aShape, b, bShape, func(x, y T) T { return T(math.Mod(float64(x), float64(y))) })
}

// NegI64 sets dst to -x.
func NegI64(dst, x []int64) {
	same("NegI64", "x", len(x), len(dst))
	for i, v := range x {
		dst[i] = -v
	}
}

// AbsI64 sets dst to |x| (MinInt64 stays itself, as in two's complement).
func AbsI64(dst, x []int64) {
	same("AbsI64", "x", len(x), len(dst))
	for i, v := range x {
		if v < 0 {
			v = -v
		}
		dst[i] = v
	}
}

// BroadcastAnd sets dst to a ∧ b.
func BroadcastAnd(dst []bool, shape []int, a []bool, aShape []int, b []bool, bShape []int) {
	bcast2("BroadcastAnd", dst, shape, a, aShape, b, bShape, func(x, y bool) bool { return x && y })
}

// BroadcastOr sets dst to a ∨ b.
func BroadcastOr(dst []bool, shape []int, a []bool, aShape []int, b []bool, bShape []int) {
	bcast2("BroadcastOr", dst, shape, a, aShape, b, bShape, func(x, y bool) bool { return x || y })
}

// BroadcastXor sets dst to a ⊕ b.
func BroadcastXor(dst []bool, shape []int, a []bool, aShape []int, b []bool, bShape []int) {
	bcast2("BroadcastXor", dst, shape, a, aShape, b, bShape, func(x, y bool) bool { return x != y })
}

// GatherElements sets dst, of shape idsShape, to ONNX's GatherElements of
// x (shape xShape) along axis: dst[i0, ..., ik, ...] = x[i0, ..., ids[i0,
// ..., ik, ...], ...] with ik at axis, a negative id counting from the
// end. ids has x's rank and no dimension larger than x's but at axis; an
// id out of range panics with an *IDError.
func GatherElements[T Float](dst []T, x []T, xShape []int, ids []int64, idsShape []int, axis int) {
	gatherElements("GatherElements", dst, x, xShape, ids, idsShape, axis)
}

// GatherElementsI64 is GatherElements over int64 tensors.
func GatherElementsI64(dst []int64, x []int64, xShape []int, ids []int64, idsShape []int, axis int) {
	gatherElements("GatherElementsI64", dst, x, xShape, ids, idsShape, axis)
}

func gatherElements[E elem](fn string, dst, x []E, xShape []int, ids []int64, idsShape []int, axis int) {
	r := len(xShape)
	if len(idsShape) != r || axis < 0 || axis >= r || r > MaxRank {
		panic(fn + ": ids of another rank than x, or axis out of range")
	}
	same(fn, "x", len(x), volume(fn, xShape))
	same(fn, "ids", len(ids), volume(fn, idsShape))
	same(fn, "dst", len(dst), len(ids))
	for k := range r {
		if k != axis && idsShape[k] > xShape[k] {
			panic(fn + ": ids larger than x off the axis")
		}
	}
	d := int64(xShape[axis])
	for j, id := range ids {
		if id < -d || id >= d {
			panic(&IDError{Pos: j, ID: id, Num: int(d)})
		}
	}
	var stride, idx [MaxRank]int
	s := 1
	for k := r - 1; k >= 0; k-- {
		stride[k] = s
		s *= xShape[k]
	}
	off := 0 // x's offset of idx, leaving out the axis
	for j, id := range ids {
		if id < 0 {
			id += d
		}
		dst[j] = x[off+int(id)*stride[axis]]
		for k := r - 1; k >= 0; k-- {
			idx[k]++
			if k != axis {
				off += stride[k]
			}
			if idx[k] < idsShape[k] {
				break
			}
			if k != axis {
				off -= idx[k] * stride[k]
			}
			idx[k] = 0
		}
	}
}
