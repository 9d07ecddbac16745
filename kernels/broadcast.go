package kernels

import "fmt"

// Op is a binary element-wise operation for Broadcast.
type Op uint8

// The operations of Broadcast.
const (
	OpAdd Op = iota // a + b
	OpSub           // a - b
	OpMul           // a * b
	OpDiv           // a / b
)

// String returns the operator's symbol.
func (op Op) String() string {
	switch op {
	case OpAdd:
		return "+"
	case OpSub:
		return "-"
	case OpMul:
		return "*"
	case OpDiv:
		return "/"
	}
	return fmt.Sprintf("Op(%d)", uint8(op))
}

// MaxRank is the largest number of dimensions Broadcast and ReduceTo accept.
const MaxRank = 8

// Broadcast computes dst = a op b with NumPy broadcasting. shape is the
// shape of dst; the shapes of a and b are aligned with it from the right,
// may have fewer dimensions, and have each dimension equal to dst's or 1.
// Each slice must hold exactly as many elements as its shape. dst may be
// the same slice as a or b when that operand has dst's shape.
//
// Same shapes, a scalar operand and operands broadcast along leading or
// trailing dimensions (such as a bias row added to every row) run as
// straight loops. Broadcast panics on mismatched shapes or lengths, on an
// unknown op, and beyond MaxRank dimensions.
func Broadcast[T Float](op Op, dst []T, shape []int, a []T, aShape []int, b []T, bShape []int) {
	n := volume("Broadcast", shape)
	same("Broadcast", "dst", len(dst), n)
	same("Broadcast", "a", len(a), volume("Broadcast", aShape))
	same("Broadcast", "b", len(b), volume("Broadcast", bShape))
	it := newIter("Broadcast", shape, aShape, bShape)
	switch {
	case len(a) == n && len(b) == n:
		vv("Broadcast", op, dst, a, b)
		return
	case len(b) == 1 && len(a) == n:
		vs(op, dst, a, b[0])
		return
	case len(a) == 1 && len(b) == n:
		sv(op, dst, a[0], b)
		return
	}
	it.each(func(o, ia, ib, l int) {
		d := dst[o : o+l]
		switch {
		case it.sa == 1 && it.sb == 1:
			vv("Broadcast", op, d, a[ia:ia+l], b[ib:ib+l])
		case it.sa == 1:
			vs(op, d, a[ia:ia+l], b[ib])
		case it.sb == 1:
			sv(op, d, a[ia], b[ib:ib+l])
		default:
			Fill(d, apply(op, a[ia], b[ib]))
		}
	})
}

// ReduceTo sums src over its broadcast dimensions into dst: the gradient of
// broadcasting an operand of shape dstShape to srcShape. dstShape is aligned
// with srcShape from the right, may have fewer dimensions, and has each
// dimension equal to srcShape's or 1. dst is overwritten. ReduceTo panics on
// mismatched shapes or lengths and beyond MaxRank dimensions.
func ReduceTo[T Float](dst []T, dstShape []int, src []T, srcShape []int) {
	same("ReduceTo", "dst", len(dst), volume("ReduceTo", dstShape))
	same("ReduceTo", "src", len(src), volume("ReduceTo", srcShape))
	if len(dst) == len(src) {
		copy(dst, src)
		return
	}
	clear(dst)
	if len(dst) == 1 {
		var s T
		for _, v := range src {
			s += v
		}
		dst[0] = s
		return
	}
	if w := len(dst); len(src)%w == 0 && trailing(dstShape, srcShape) {
		// The sum over leading dimensions (a bias gradient): rows of w
		// added up.
		if d32, ok := any(dst).([]float32); ok && colSum32(d32, any(src).([]float32)) {
			return
		}
		for r := 0; r < len(src); r += w {
			row := src[r : r+w : r+w]
			for j, v := range row {
				dst[j] += v
			}
		}
		return
	}
	it := newIter("ReduceTo", srcShape, dstShape, srcShape)
	it.each(func(o, id, _, l int) {
		s := src[o : o+l]
		if it.sa == 1 {
			AddTo(dst[id:id+l], s)
			return
		}
		var t T
		for _, v := range s {
			t += v
		}
		dst[id] += t
	})
}

// trailing reports whether dst, leading 1s aside, is the last dimensions
// of src.
func trailing(dst, src []int) bool {
	for len(dst) > 0 && dst[0] == 1 {
		dst = dst[1:]
	}
	if len(dst) > len(src) {
		return false
	}
	for i, d := range dst {
		if src[len(src)-len(dst)+i] != d {
			return false
		}
	}
	return true
}

// volume returns the number of elements of shape, panicking on a negative
// dimension or more than MaxRank of them.
func volume(fn string, shape []int) int {
	if len(shape) > MaxRank {
		panic(fmt.Sprintf("kernels.%s: rank %d exceeds MaxRank", fn, len(shape)))
	}
	n := 1
	for _, d := range shape {
		if d < 0 {
			panic(fmt.Sprintf("kernels.%s: negative dimension in %v", fn, shape))
		}
		n *= d
	}
	return n
}

// iter walks an output shape with two operands broadcast to it. Dimensions
// of size 1 are dropped and adjacent dimensions that are contiguous in all
// three are merged, so the innermost run is as long as possible.
type iter struct {
	rank   int
	dims   [MaxRank]int
	stA    [MaxRank]int // strides of a, 0 where broadcast
	stB    [MaxRank]int
	sa, sb int // strides of a and b along the innermost run: 0 or 1
}

// newIter prepares to walk shape with operands of shapes aShape and bShape,
// panicking unless they broadcast to it.
func newIter(fn string, shape, aShape, bShape []int) iter {
	var it iter
	var ra, rb [MaxRank]int
	rank := len(shape)
	stridesFor(fn, shape, aShape, ra[:rank])
	stridesFor(fn, shape, bShape, rb[:rank])
	// Collect dimensions from the innermost out, merging where possible.
	k := -1
	for i := rank - 1; i >= 0; i-- {
		d := shape[i]
		if d == 1 {
			continue
		}
		if k >= 0 && ra[i] == it.stA[k]*it.dims[k] && rb[i] == it.stB[k]*it.dims[k] {
			it.dims[k] *= d
			continue
		}
		k++
		it.dims[k], it.stA[k], it.stB[k] = d, ra[i], rb[i]
	}
	it.rank = k + 1
	it.sa, it.sb = it.stA[0], it.stB[0]
	return it
}

// stridesFor sets st to the strides of an operand of shape sub broadcast to
// shape (0 along broadcast dimensions), panicking unless it broadcasts.
func stridesFor(fn string, shape, sub []int, st []int) {
	off := len(shape) - len(sub)
	if off < 0 {
		panic(fmt.Sprintf("kernels.%s: shape %v does not broadcast to %v", fn, sub, shape))
	}
	s := 1
	for i := len(shape) - 1; i >= 0; i-- {
		d := 1
		if i >= off {
			d = sub[i-off]
		}
		switch {
		case d == shape[i]:
			st[i] = s
		case d == 1:
			st[i] = 0
		default:
			panic(fmt.Sprintf("kernels.%s: shape %v does not broadcast to %v", fn, sub, shape))
		}
		s *= d
	}
}

// each calls f for every innermost run of the walk with the offsets of the
// run in the output, a and b, and its length.
func (it *iter) each(f func(o, ia, ib, l int)) {
	if it.rank == 0 {
		f(0, 0, 0, 1)
		return
	}
	for _, d := range it.dims[:it.rank] {
		if d == 0 {
			return
		}
	}
	l := it.dims[0]
	var idx [MaxRank]int
	o, ia, ib := 0, 0, 0
	for {
		f(o, ia, ib, l)
		o += l
		// Advance the odometer over the outer dimensions.
		k := 1
		for ; k < it.rank; k++ {
			idx[k]++
			ia += it.stA[k]
			ib += it.stB[k]
			if idx[k] < it.dims[k] {
				break
			}
			ia -= it.stA[k] * it.dims[k]
			ib -= it.stB[k] * it.dims[k]
			idx[k] = 0
		}
		if k == it.rank {
			return
		}
	}
}

// apply returns x op y.
func apply[T Float](op Op, x, y T) T {
	switch op {
	case OpAdd:
		return x + y
	case OpSub:
		return x - y
	case OpMul:
		return x * y
	case OpDiv:
		return x / y
	}
	panic(fmt.Sprintf("kernels: unknown %v", op))
}

// vv sets dst[i] = a[i] op b[i] for fn, panicking unless a and b have
// len(dst) elements.
func vv[T Float](fn string, op Op, dst, a, b []T) {
	same(fn, "a", len(a), len(dst))
	same(fn, "b", len(b), len(dst))
	a, b = a[:len(dst)], b[:len(dst)]
	switch op {
	case OpAdd:
		// a + 1·b is a + b: the product is exact and rounded alone.
		if d32, ok := any(dst).([]float32); ok && axpy32(d32, any(a).([]float32), any(b).([]float32), 1) {
			return
		}
		for i := range dst {
			dst[i] = a[i] + b[i]
		}
	case OpSub:
		for i := range dst {
			dst[i] = a[i] - b[i]
		}
	case OpMul:
		for i := range dst {
			dst[i] = a[i] * b[i]
		}
	case OpDiv:
		for i := range dst {
			dst[i] = a[i] / b[i]
		}
	default:
		panic(fmt.Sprintf("kernels: unknown %v", op))
	}
}

// vs sets dst[i] = a[i] op s.
func vs[T Float](op Op, dst, a []T, s T) {
	a = a[:len(dst)]
	switch op {
	case OpAdd:
		for i, v := range a {
			dst[i] = v + s
		}
	case OpSub:
		for i, v := range a {
			dst[i] = v - s
		}
	case OpMul:
		for i, v := range a {
			dst[i] = v * s
		}
	case OpDiv:
		for i, v := range a {
			dst[i] = v / s
		}
	default:
		panic(fmt.Sprintf("kernels: unknown %v", op))
	}
}

// sv sets dst[i] = s op b[i].
func sv[T Float](op Op, dst []T, s T, b []T) {
	b = b[:len(dst)]
	switch op {
	case OpAdd:
		for i, v := range b {
			dst[i] = s + v
		}
	case OpSub:
		for i, v := range b {
			dst[i] = s - v
		}
	case OpMul:
		for i, v := range b {
			dst[i] = s * v
		}
	case OpDiv:
		for i, v := range b {
			dst[i] = s / v
		}
	default:
		panic(fmt.Sprintf("kernels: unknown %v", op))
	}
}
