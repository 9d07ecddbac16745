package kernels

import (
	"fmt"
	"math"
)

// Broadcasting, reductions and data movement of the ONNX op set (issue 13).
// Shapes are given as []int, outermost first, each slice holding exactly as
// many elements as its shape; index-like tensors (Gather's ids, shapes
// computed in a graph) are int64 and have kernels of their own, suffixed
// I64. All of them panic on mismatched shapes and beyond MaxRank
// dimensions, as Broadcast does.

// elem is an element type the data-movement kernels copy.
type elem interface {
	~float32 | ~float64 | ~int64
}

// walker walks an output shape in row-major order, keeping the offset of up
// to three operands whose strides along each output dimension are st (0
// along a broadcast dimension).
type walker struct {
	rank int
	dims [MaxRank]int
	st   [3][MaxRank]int
	idx  [MaxRank]int
	off  [3]int
}

// newWalker walks shape with operands of the shapes subs broadcast to it.
func newWalker(fn string, shape []int, subs ...[]int) walker {
	var w walker
	w.rank = len(shape)
	copy(w.dims[:], shape)
	for k, s := range subs {
		stridesFor(fn, shape, s, w.st[k][:w.rank])
	}
	return w
}

// next moves to the next element.
func (w *walker) next() {
	for i := w.rank - 1; i >= 0; i-- {
		w.idx[i]++
		for k := range w.off {
			w.off[k] += w.st[k][i]
		}
		if w.idx[i] < w.dims[i] {
			return
		}
		for k := range w.off {
			w.off[k] -= w.st[k][i] * w.dims[i]
		}
		w.idx[i] = 0
	}
}

// bcast2 sets dst, of shape shape, to f(a, b) with NumPy broadcasting.
func bcast2[A, B, D any](fn string, dst []D, shape []int, a []A, aShape []int, b []B, bShape []int, f func(A, B) D) {
	n := volume(fn, shape)
	same(fn, "dst", len(dst), n)
	same(fn, "a", len(a), volume(fn, aShape))
	same(fn, "b", len(b), volume(fn, bShape))
	if len(a) == n && len(b) == n {
		for i := range dst {
			dst[i] = f(a[i], b[i])
		}
		return
	}
	w := newWalker(fn, shape, aShape, bShape)
	for i := range dst {
		dst[i] = f(a[w.off[0]], b[w.off[1]])
		w.next()
	}
}

// BroadcastPow sets dst to aᵇ.
func BroadcastPow[T Float](dst []T, shape []int, a []T, aShape []int, b []T, bShape []int) {
	bcast2("BroadcastPow", dst, shape, a, aShape, b, bShape, func(x, y T) T { return T(math.Pow(float64(x), float64(y))) })
}

// BroadcastMin sets dst to the smaller of a and b; a NaN wins, as in torch.
func BroadcastMin[T Float](dst []T, shape []int, a []T, aShape []int, b []T, bShape []int) {
	bcast2("BroadcastMin", dst, shape, a, aShape, b, bShape, func(x, y T) T {
		if x < y || x != x {
			return x
		}
		return y
	})
}

// BroadcastMax sets dst to the larger of a and b; a NaN wins, as in torch.
func BroadcastMax[T Float](dst []T, shape []int, a []T, aShape []int, b []T, bShape []int) {
	bcast2("BroadcastMax", dst, shape, a, aShape, b, bShape, func(x, y T) T {
		if x > y || x != x {
			return x
		}
		return y
	})
}

// BroadcastPRelu sets dst to x, or slope·x where x < 0; slope broadcasts
// to x.
func BroadcastPRelu[T Float](dst []T, shape []int, x []T, xShape []int, slope []T, sShape []int) {
	bcast2("BroadcastPRelu", dst, shape, x, xShape, slope, sShape, func(v, s T) T {
		if v < 0 {
			return s * v
		}
		return v
	})
}

// BroadcastEqual sets dst to a == b.
func BroadcastEqual[T Float](dst []bool, shape []int, a []T, aShape []int, b []T, bShape []int) {
	bcast2("BroadcastEqual", dst, shape, a, aShape, b, bShape, func(x, y T) bool { return x == y })
}

// BroadcastLess sets dst to a < b.
func BroadcastLess[T Float](dst []bool, shape []int, a []T, aShape []int, b []T, bShape []int) {
	bcast2("BroadcastLess", dst, shape, a, aShape, b, bShape, func(x, y T) bool { return x < y })
}

// BroadcastGreater sets dst to a > b.
func BroadcastGreater[T Float](dst []bool, shape []int, a []T, aShape []int, b []T, bShape []int) {
	bcast2("BroadcastGreater", dst, shape, a, aShape, b, bShape, func(x, y T) bool { return x > y })
}

// BroadcastEqualI64 sets dst to a == b.
func BroadcastEqualI64(dst []bool, shape []int, a []int64, aShape []int, b []int64, bShape []int) {
	bcast2("BroadcastEqualI64", dst, shape, a, aShape, b, bShape, func(x, y int64) bool { return x == y })
}

// BroadcastLessI64 sets dst to a < b.
func BroadcastLessI64(dst []bool, shape []int, a []int64, aShape []int, b []int64, bShape []int) {
	bcast2("BroadcastLessI64", dst, shape, a, aShape, b, bShape, func(x, y int64) bool { return x < y })
}

// BroadcastGreaterI64 sets dst to a > b.
func BroadcastGreaterI64(dst []bool, shape []int, a []int64, aShape []int, b []int64, bShape []int) {
	bcast2("BroadcastGreaterI64", dst, shape, a, aShape, b, bShape, func(x, y int64) bool { return x > y })
}

// BroadcastToI64 repeats x, of shape xShape, over dst of shape shape.
func BroadcastToI64(dst []int64, shape []int, x []int64, xShape []int) {
	var zero [1]int64
	bcast2("BroadcastToI64", dst, shape, x, xShape, zero[:], nil, func(v, _ int64) int64 { return v })
}

func where[E elem](fn string, dst []E, shape []int, c []bool, cShape []int, a []E, aShape []int, b []E, bShape []int) {
	n := volume(fn, shape)
	same(fn, "dst", len(dst), n)
	same(fn, "cond", len(c), volume(fn, cShape))
	same(fn, "a", len(a), volume(fn, aShape))
	same(fn, "b", len(b), volume(fn, bShape))
	if len(c) == n && len(a) == n && len(b) == n {
		for i, ci := range c {
			if ci {
				dst[i] = a[i]
			} else {
				dst[i] = b[i]
			}
		}
		return
	}
	w := newWalker(fn, shape, cShape, aShape, bShape)
	for i := range dst {
		if c[w.off[0]] {
			dst[i] = a[w.off[1]]
		} else {
			dst[i] = b[w.off[2]]
		}
		w.next()
	}
}

// Where sets dst to a where c holds, else b; the three broadcast to dst.
func Where[T Float](dst []T, shape []int, c []bool, cShape []int, a []T, aShape []int, b []T, bShape []int) {
	where("Where", dst, shape, c, cShape, a, aShape, b, bShape)
}

// WhereI64 is Where over int64 tensors.
func WhereI64(dst []int64, shape []int, c []bool, cShape []int, a []int64, aShape []int, b []int64, bShape []int) {
	where("WhereI64", dst, shape, c, cShape, a, aShape, b, bShape)
}

// Casts. A float becomes an integer by truncation toward zero, as NumPy's
// astype and ONNX's Cast; a number becomes a bool by comparison with 0.

// CastToI64 sets dst to x truncated toward zero.
func CastToI64[T Float](dst []int64, x []T) {
	same("CastToI64", "x", len(x), len(dst))
	for i, v := range x {
		dst[i] = int64(v)
	}
}

// CastFromI64 sets dst to x as floats.
func CastFromI64[T Float](dst []T, x []int64) {
	same("CastFromI64", "x", len(x), len(dst))
	for i, v := range x {
		dst[i] = T(v)
	}
}

// CastFromI32 sets dst to x as floats.
func CastFromI32[T Float](dst []T, x []int32) {
	same("CastFromI32", "x", len(x), len(dst))
	for i, v := range x {
		dst[i] = T(v)
	}
}

// CastI32ToI64 sets dst to x.
func CastI32ToI64(dst []int64, x []int32) {
	same("CastI32ToI64", "x", len(x), len(dst))
	for i, v := range x {
		dst[i] = int64(v)
	}
}

// CastToBool sets dst to x != 0.
func CastToBool[T Float](dst []bool, x []T) {
	same("CastToBool", "x", len(x), len(dst))
	for i, v := range x {
		dst[i] = v != 0
	}
}

// CastFromBool sets dst to 1 where x holds, else 0.
func CastFromBool[T Float](dst []T, x []bool) {
	same("CastFromBool", "x", len(x), len(dst))
	for i, v := range x {
		dst[i] = 0
		if v {
			dst[i] = 1
		}
	}
}

// CastI64ToBool sets dst to x != 0.
func CastI64ToBool(dst []bool, x []int64) {
	same("CastI64ToBool", "x", len(x), len(dst))
	for i, v := range x {
		dst[i] = v != 0
	}
}

// CastBoolToI64 sets dst to 1 where x holds, else 0.
func CastBoolToI64(dst []int64, x []bool) {
	same("CastBoolToI64", "x", len(x), len(dst))
	for i, v := range x {
		dst[i] = 0
		if v {
			dst[i] = 1
		}
	}
}

// CopyI64 copies x into dst.
func CopyI64(dst, x []int64) {
	same("CopyI64", "x", len(x), len(dst))
	copy(dst, x)
}

// CopyBool copies x into dst.
func CopyBool(dst, x []bool) {
	same("CopyBool", "x", len(x), len(dst))
	copy(dst, x)
}

// Reductions over a set of axes, given as a bit mask of xShape's
// dimensions (bit i for dimension i). dst holds x's shape with those
// dimensions removed (or kept as 1: the layout is the same).

// reduceWalker walks xShape with dst's offset in w.off[0].
func reduceWalker(fn string, dst int, xShape []int, axes int) walker {
	var w walker
	w.rank = len(xShape)
	copy(w.dims[:], xShape)
	n := 1
	for i := w.rank - 1; i >= 0; i-- {
		if axes&(1<<i) == 0 {
			w.st[0][i] = n
			n *= xShape[i]
		}
	}
	same(fn, "dst", dst, n)
	return w
}

// contiguous returns the sizes outer×dim×inner of xShape around its axes
// when they are adjacent (or none), as Sum and Mean take them.
func contiguous(xShape []int, axes int) (outer, dim, inner int, ok bool) {
	outer, dim, inner = 1, 1, 1
	first, last := -1, -1
	for i, d := range xShape {
		switch {
		case axes&(1<<i) == 0 && first < 0:
			outer *= d
		case axes&(1<<i) != 0:
			if last >= 0 && last != i-1 {
				return 0, 0, 0, false
			}
			if first < 0 {
				first = i
			}
			last = i
			dim *= d
		default:
			inner *= d
		}
	}
	return outer, dim, inner, true
}

func reduceAxes[E elem](fn string, dst, x []E, xShape []int, axes int, init E, f func(acc, v E) E) {
	same(fn, "x", len(x), volume(fn, xShape))
	if outer, dim, inner, ok := contiguous(xShape, axes); ok {
		// Adjacent axes: blocks, as Sum walks them (the same order of
		// additions as the walk below).
		same(fn, "dst", len(dst), outer*inner)
		for i := range dst {
			dst[i] = init
		}
		for o := 0; o < outer; o++ {
			d := dst[o*inner : (o+1)*inner]
			for k := 0; k < dim; k++ {
				row := x[(o*dim+k)*inner:][:inner]
				for i, v := range row {
					d[i] = f(d[i], v)
				}
			}
		}
		return
	}
	w := reduceWalker(fn, len(dst), xShape, axes)
	for i := range dst {
		dst[i] = init
	}
	for _, v := range x {
		o := w.off[0]
		dst[o] = f(dst[o], v)
		w.next()
	}
}

func add[E elem](acc, v E) E { return acc + v }

func maxNaN[E elem](acc, v E) E {
	if v > acc || v != v {
		return v
	}
	return acc
}

// ReduceSum sets dst to the sum of x over the axes.
func ReduceSum[T Float](dst, x []T, xShape []int, axes int) {
	if outer, dim, inner, ok := contiguous(xShape, axes); ok && len(x) == outer*dim*inner {
		Sum(dst, x, outer, dim, inner)
		return
	}
	reduceAxes("ReduceSum", dst, x, xShape, axes, 0, add[T])
}

// ReduceSumI64 sets dst to the sum of x over the axes.
func ReduceSumI64(dst, x []int64, xShape []int, axes int) {
	reduceAxes("ReduceSumI64", dst, x, xShape, axes, 0, add[int64])
}

// ReduceMean sets dst to the mean of x over the axes: the sum divided by
// the count, as torch.mean.
func ReduceMean[T Float](dst, x []T, xShape []int, axes int) {
	ReduceSum(dst, x, xShape, axes)
	if len(dst) > 0 {
		n := T(len(x) / len(dst))
		for i := range dst {
			dst[i] /= n
		}
	}
}

// ReduceMax sets dst to the maximum of x over the axes; a NaN wins, as in
// torch.
func ReduceMax[T Float](dst, x []T, xShape []int, axes int) {
	reduceAxes("ReduceMax", dst, x, xShape, axes, T(math.Inf(-1)), maxNaN[T])
}

// ReduceMaxI64 sets dst to the maximum of x over the axes.
func ReduceMaxI64(dst, x []int64, xShape []int, axes int) {
	reduceAxes("ReduceMaxI64", dst, x, xShape, axes, math.MinInt64, maxNaN[int64])
}

// ReduceBackward sets dx, of shape xShape, to the gradient of ReduceSum
// (mean false) or ReduceMean (mean true) over the axes: dy repeated over
// the reduced dimensions, divided by their size for a mean.
func ReduceBackward[T Float](dx []T, xShape []int, dy []T, axes int, mean bool) {
	same("ReduceBackward", "dx", len(dx), volume("ReduceBackward", xShape))
	w := reduceWalker("ReduceBackward", len(dy), xShape, axes)
	s := T(1)
	if mean && len(dx) > 0 {
		s = T(float64(len(dy)) / float64(len(dx)))
	}
	for i := range dx {
		dx[i] = dy[w.off[0]] * s
		w.next()
	}
}

// ConcatInto copies x, viewed as [outer, xd, inner], into dst, viewed as
// [outer, total, inner], at offset off of the middle dimension: one input
// of a Concat.
func ConcatInto[T Float](dst, x []T, outer, xd, inner, off, total int) {
	concatInto("ConcatInto", dst, x, outer, xd, inner, off, total)
}

// ConcatIntoI64 is ConcatInto over int64 tensors.
func ConcatIntoI64(dst, x []int64, outer, xd, inner, off, total int) {
	concatInto("ConcatIntoI64", dst, x, outer, xd, inner, off, total)
}

func concatInto[E elem](fn string, dst, x []E, outer, xd, inner, off, total int) {
	same(fn, "x", len(x), outer*xd*inner)
	same(fn, "dst", len(dst), outer*total*inner)
	if off < 0 || off+xd > total {
		panic(fmt.Sprintf("kernels.%s: [%d, %d) outside [0, %d)", fn, off, off+xd, total))
	}
	r := xd * inner
	for o := 0; o < outer; o++ {
		copy(dst[(o*total+off)*inner:][:r], x[o*r:][:r])
	}
}

// SliceCopy sets dst, of shape shape, to the elements of x, of shape
// xShape, at starts[i] + k·steps[i] along each dimension i: an ONNX Slice
// whose starts and steps are normalized, one per dimension.
func SliceCopy[T Float](dst []T, shape []int, x []T, xShape []int, starts, steps []int) {
	sliceCopy("SliceCopy", dst, shape, x, xShape, starts, steps)
}

// SliceCopyI64 is SliceCopy over int64 tensors.
func SliceCopyI64(dst []int64, shape []int, x []int64, xShape []int, starts, steps []int) {
	sliceCopy("SliceCopyI64", dst, shape, x, xShape, starts, steps)
}

// SliceBackward sets dx, of shape xShape, to the gradient of SliceCopy:
// dy, of shape shape, at the positions the slice read, 0 elsewhere.
func SliceBackward[T Float](dx []T, xShape []int, dy []T, shape []int, starts, steps []int) {
	clear(dx)
	w := sliceWalker("SliceBackward", shape, len(dx), xShape, starts, steps)
	for _, v := range dy {
		dx[w.off[0]] = v
		w.next()
	}
}

// sliceWalker walks the output of a slice of shape shape with the offset
// in x, of xLen elements of shape xShape, in w.off[0].
func sliceWalker(fn string, shape []int, xLen int, xShape []int, starts, steps []int) walker {
	volume(fn, shape)
	same(fn, "x", xLen, volume(fn, xShape))
	r := len(shape)
	if len(xShape) != r || len(starts) != r || len(steps) != r {
		panic(fmt.Sprintf("kernels.%s: ranks of %v, %v, starts %v and steps %v differ", fn, shape, xShape, starts, steps))
	}
	var w walker
	w.rank = r
	copy(w.dims[:], shape)
	base, s := 0, 1
	for i := r - 1; i >= 0; i-- {
		if shape[i] > 0 {
			last := starts[i] + (shape[i]-1)*steps[i]
			if starts[i] < 0 || starts[i] >= xShape[i] || last < 0 || last >= xShape[i] {
				panic(fmt.Sprintf("kernels.%s: slice of %d elements from %d by %d outside dimension %d of %v", fn, shape[i], starts[i], steps[i], i, xShape))
			}
		}
		w.st[0][i] = s * steps[i]
		base += s * starts[i]
		s *= xShape[i]
	}
	w.off[0] = base
	return w
}

func sliceCopy[E elem](fn string, dst []E, shape []int, x []E, xShape []int, starts, steps []int) {
	same(fn, "dst", len(dst), volume(fn, shape))
	w := sliceWalker(fn, shape, len(x), xShape, starts, steps)
	for i := range dst {
		dst[i] = x[w.off[0]]
		w.next()
	}
}

// Gather sets dst, viewed as [outer, len(ids), inner], to the rows ids of
// x, viewed as [outer, d, inner]; an id in [−d, 0) counts from the end. An
// id outside [−d, d) panics with an *IDError.
func Gather[T Float](dst, x []T, ids []int64, outer, d, inner int) {
	gather("Gather", dst, x, ids, outer, d, inner)
}

// GatherI64 is Gather over int64 tensors.
func GatherI64(dst, x []int64, ids []int64, outer, d, inner int) {
	gather("GatherI64", dst, x, ids, outer, d, inner)
}

func gather[E elem](fn string, dst, x []E, ids []int64, outer, d, inner int) {
	same(fn, "x", len(x), outer*d*inner)
	same(fn, "dst", len(dst), outer*len(ids)*inner)
	for j, id := range ids {
		if id < -int64(d) || id >= int64(d) {
			panic(&IDError{Pos: j, ID: id, Num: d})
		}
	}
	k := len(ids)
	for o := 0; o < outer; o++ {
		for j, id := range ids {
			if id < 0 {
				id += int64(d)
			}
			copy(dst[(o*k+j)*inner:][:inner], x[(o*d+int(id))*inner:][:inner])
		}
	}
}

// Tile sets dst, of shape shape (a multiple of xShape along each
// dimension), to copies of x.
func Tile[T Float](dst []T, shape []int, x []T, xShape []int) {
	tile("Tile", dst, shape, x, xShape)
}

// TileI64 is Tile over int64 tensors.
func TileI64(dst []int64, shape []int, x []int64, xShape []int) {
	tile("TileI64", dst, shape, x, xShape)
}

func tile[E elem](fn string, dst []E, shape []int, x []E, xShape []int) {
	same(fn, "dst", len(dst), volume(fn, shape))
	same(fn, "x", len(x), volume(fn, xShape))
	if len(shape) != len(xShape) {
		panic(fmt.Sprintf("kernels.%s: ranks of %v and %v differ", fn, shape, xShape))
	}
	r := len(shape)
	var st [MaxRank]int
	s := 1
	for i := r - 1; i >= 0; i-- {
		if xShape[i] == 0 || shape[i]%xShape[i] != 0 {
			panic(fmt.Sprintf("kernels.%s: %v is not a tiling of %v", fn, shape, xShape))
		}
		st[i] = s
		s *= xShape[i]
	}
	var idx [MaxRank]int
	for i := range dst {
		o := 0
		for k := 0; k < r; k++ {
			o += (idx[k] % xShape[k]) * st[k]
		}
		dst[i] = x[o]
		for k := r - 1; k >= 0; k-- {
			if idx[k]++; idx[k] < shape[k] {
				break
			}
			idx[k] = 0
		}
	}
}

// The modes of Pad, as ONNX names them.
const (
	PadConstant = iota // value outside x
	PadReflect         // x mirrored about its edges, the edge not repeated
	PadEdge            // the edge element repeated
)

// Pad sets dst, of shape shape, to x, of shape xShape, shifted by begins
// along each dimension (negative to crop), the positions outside x filled
// as mode says (PadConstant, PadReflect, PadEdge).
func Pad[T Float](dst []T, shape []int, x []T, xShape []int, begins []int, mode int, value float64) {
	pad("Pad", dst, shape, x, xShape, begins, mode, T(value))
}

// PadI64 is Pad over int64 tensors.
func PadI64(dst []int64, shape []int, x []int64, xShape []int, begins []int, mode int, value float64) {
	pad("PadI64", dst, shape, x, xShape, begins, mode, int64(value))
}

func pad[E elem](fn string, dst []E, shape []int, x []E, xShape []int, begins []int, mode int, value E) {
	same(fn, "dst", len(dst), volume(fn, shape))
	same(fn, "x", len(x), volume(fn, xShape))
	r := len(shape)
	if len(xShape) != r || len(begins) != r {
		panic(fmt.Sprintf("kernels.%s: ranks of %v, %v and pads %v differ", fn, shape, xShape, begins))
	}
	if mode < PadConstant || mode > PadEdge {
		panic(fmt.Sprintf("kernels.%s: unknown mode %d", fn, mode))
	}
	var st [MaxRank]int
	s := 1
	for i := r - 1; i >= 0; i-- {
		if mode != PadConstant && xShape[i] == 0 && shape[i] > 0 {
			panic(fmt.Sprintf("kernels.%s: cannot pad an empty dimension but with a constant", fn))
		}
		if mode == PadReflect && xShape[i] == 1 && shape[i] > 1 {
			panic(fmt.Sprintf("kernels.%s: reflect padding of a dimension of size 1", fn))
		}
		st[i] = s
		s *= xShape[i]
	}
	var idx [MaxRank]int
	for i := range dst {
		o, in := 0, true
		for k := 0; k < r; k++ {
			j, n := idx[k]-begins[k], xShape[k]
			if j < 0 || j >= n {
				switch mode {
				case PadConstant:
					in = false
				case PadEdge:
					j = min(max(j, 0), n-1)
				case PadReflect:
					period := 2 * (n - 1)
					j %= period
					if j < 0 {
						j += period
					}
					if j >= n {
						j = period - j
					}
				}
			}
			o += j * st[k]
		}
		if in {
			dst[i] = x[o]
		} else {
			dst[i] = value
		}
		for k := r - 1; k >= 0; k-- {
			if idx[k]++; idx[k] < shape[k] {
				break
			}
			idx[k] = 0
		}
	}
}

// GatherBackward sets dx, viewed as [outer, d, inner], to the gradient of
// Gather: the rows of dy, viewed as [outer, len(ids), inner], added into
// the rows the ids selected (an id selected twice gets both), 0 elsewhere.
func GatherBackward[T Float](dx, dy []T, ids []int64, outer, d, inner int) {
	same("GatherBackward", "dx", len(dx), outer*d*inner)
	same("GatherBackward", "dy", len(dy), outer*len(ids)*inner)
	clear(dx)
	k := len(ids)
	for o := 0; o < outer; o++ {
		for j, id := range ids {
			if id < 0 {
				id += int64(d)
			}
			AddTo(dx[(o*d+int(id))*inner:][:inner], dy[(o*k+j)*inner:][:inner])
		}
	}
}

// TileBackward sets dx, of shape xShape, to the gradient of Tile: the sum
// of dy, of shape shape, over the copies.
func TileBackward[T Float](dx []T, xShape []int, dy []T, shape []int) {
	same("TileBackward", "dx", len(dx), volume("TileBackward", xShape))
	same("TileBackward", "dy", len(dy), volume("TileBackward", shape))
	r := len(shape)
	if len(xShape) != r {
		panic(fmt.Sprintf("kernels.TileBackward: ranks of %v and %v differ", shape, xShape))
	}
	var st [MaxRank]int
	s := 1
	for i := r - 1; i >= 0; i-- {
		st[i] = s
		s *= xShape[i]
	}
	clear(dx)
	var idx [MaxRank]int
	for _, v := range dy {
		o := 0
		for k := 0; k < r; k++ {
			o += (idx[k] % xShape[k]) * st[k]
		}
		dx[o] += v
		for k := r - 1; k >= 0; k-- {
			if idx[k]++; idx[k] < shape[k] {
				break
			}
			idx[k] = 0
		}
	}
}

// ReduceMaxBackward sets dx, of shape xShape, to the gradient of ReduceMax
// over the axes given y, its result: dy shared evenly among the elements
// equal to their maximum (torch.amax's rule), 0 elsewhere. count is
// scratch of y's size.
func ReduceMaxBackward[T Float](dx []T, xShape []int, x, y, dy, count []T, axes int) {
	same("ReduceMaxBackward", "x", len(x), volume("ReduceMaxBackward", xShape))
	same("ReduceMaxBackward", "dx", len(dx), len(x))
	same("ReduceMaxBackward", "dy", len(dy), len(y))
	same("ReduceMaxBackward", "count", len(count), len(y))
	clear(count)
	w := reduceWalker("ReduceMaxBackward", len(y), xShape, axes)
	for _, v := range x {
		if o := w.off[0]; v == y[o] {
			count[o]++
		}
		w.next()
	}
	w = reduceWalker("ReduceMaxBackward", len(y), xShape, axes)
	for i, v := range x {
		o := w.off[0]
		dx[i] = 0
		if v == y[o] {
			dx[i] = dy[o] / count[o]
		}
		w.next()
	}
}
