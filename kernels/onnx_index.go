package kernels

// ArgMax sets dst [outer, inner] to the index along the middle axis of x
// [outer, d, inner] of its largest entry: the first of equal ones, or the
// last when last is set (ONNX's select_last_index). A NaN is the largest,
// as in NumPy.
func ArgMax[T Float](dst []int64, x []T, outer, d, inner int, last bool) {
	argBest("ArgMax", dst, x, outer, d, inner, last, false)
}

// ArgMin is ArgMax of the smallest entry; a NaN is the smallest.
func ArgMin[T Float](dst []int64, x []T, outer, d, inner int, last bool) {
	argBest("ArgMin", dst, x, outer, d, inner, last, true)
}

// ArgMaxI64 is ArgMax over int64 tensors.
func ArgMaxI64(dst, x []int64, outer, d, inner int, last bool) {
	argBest("ArgMaxI64", dst, x, outer, d, inner, last, false)
}

// ArgMinI64 is ArgMin over int64 tensors.
func ArgMinI64(dst, x []int64, outer, d, inner int, last bool) {
	argBest("ArgMinI64", dst, x, outer, d, inner, last, true)
}

func argBest[E elem](fn string, dst []int64, x []E, outer, d, inner int, last, min bool) {
	same(fn, "x", len(x), outer*d*inner)
	same(fn, "dst", len(dst), outer*inner)
	if d == 0 {
		panic("kernels." + fn + ": an empty axis has no index")
	}
	for o := range outer {
		for j := range inner {
			base := o*d*inner + j
			best, bi := x[base], 0
			for i := 1; i < d; i++ {
				v := x[base+i*inner]
				if best != best && !(last && v != v) { // a NaN stays, unless a later one is wanted
					continue
				}
				better := v != v || (min && v < best) || (!min && v > best)
				if better || (last && v == best) {
					best, bi = v, i
				}
			}
			dst[o*inner+j] = int64(bi)
		}
	}
}

// Trilu sets dst to x [outer, rows, cols] with the entries outside a
// triangle of each matrix zeroed: with upper, those below diagonal k (kept
// where col − row ≥ k); else those above it (kept where col − row ≤ k),
// as ONNX's Trilu.
func Trilu[T Float](dst, x []T, outer, rows, cols, k int, upper bool) {
	trilu("Trilu", dst, x, outer, rows, cols, k, upper)
}

// TriluI64 is Trilu over int64 tensors.
func TriluI64(dst, x []int64, outer, rows, cols, k int, upper bool) {
	trilu("TriluI64", dst, x, outer, rows, cols, k, upper)
}

func trilu[E elem](fn string, dst, x []E, outer, rows, cols, k int, upper bool) {
	same(fn, "x", len(x), outer*rows*cols)
	same(fn, "dst", len(dst), len(x))
	for o := range outer {
		for r := range rows {
			off := (o*rows + r) * cols
			for c := range cols {
				keep := c-r <= k
				if upper {
					keep = c-r >= k
				}
				if keep {
					dst[off+c] = x[off+c]
				} else {
					dst[off+c] = 0
				}
			}
		}
	}
}

// ReduceProd sets dst to the product of x over the axes.
func ReduceProd[T Float](dst, x []T, xShape []int, axes int) {
	reduceAxes("ReduceProd", dst, x, xShape, axes, 1, mul[T])
}

func mul[E elem](acc, v E) E { return acc * v }
