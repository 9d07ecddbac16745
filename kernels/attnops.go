package kernels

import "math"

// Attention written out by hand (issue 14): the tanh form of GELU and the
// transpose of two axes.

// The constants of GELU's tanh form: √(2/π) and the cubic's coefficient.
const (
	geluBeta  = 0.7978845608028654 // √(2/π)
	geluKappa = 0.044715
)

// GeluTanh sets dst[i] = 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))) for
// x = x[i]: torch.nn.functional.gelu(x, approximate="tanh"). It panics
// unless x has len(dst) elements. In float32 it is computed in float32
// with tanh32 (gelu.go), vectorised; in float64 with math.Tanh.
func GeluTanh[T Float](dst, x []T) {
	same("GeluTanh", "x", len(x), len(dst))
	if d32, ok := any(dst).([]float32); ok {
		geluTanh32(d32, any(x).([]float32))
		return
	}
	for i, v := range x {
		f := float64(v)
		dst[i] = T(0.5 * f * (1 + math.Tanh(geluBeta*(f+geluKappa*f*f*f))))
	}
}

// GeluTanhBackward sets dx[i] = dy[i]·g'(x[i]), g the tanh form of GELU:
// with t = tanh(√(2/π)·(x + 0.044715·x³)),
// g'(x) = 0.5·(1 + t) + 0.5·x·(1 − t²)·√(2/π)·(1 + 3·0.044715·x²),
// as torch computes it. It panics unless dy and x have len(dx) elements.
// Float32 is computed as GeluTanh's.
func GeluTanhBackward[T Float](dx, dy, x []T) {
	same("GeluTanhBackward", "dy", len(dy), len(dx))
	same("GeluTanhBackward", "x", len(x), len(dx))
	if dx32, ok := any(dx).([]float32); ok {
		geluTanhBackward32(dx32, any(dy).([]float32), any(x).([]float32))
		return
	}
	for i, v := range x {
		f := float64(v)
		t := math.Tanh(geluBeta * (f + geluKappa*f*f*f))
		d := 0.5*(1+t) + 0.5*f*(1-t*t)*geluBeta*(1+3*geluKappa*f*f)
		dx[i] = dy[i] * T(d)
	}
}

// transposeTile is the side of the square tiles a large 2-D transpose
// moves.
const transposeTile = 16

// Transpose sets dst to x with two axes swapped: x is viewed as [outer, a,
// mid, b, inner] and dst as [outer, b, mid, a, inner] (any tensor with
// axes d0 < d1 swapped is: outer the product of the sizes before d0, mid
// those between, inner those after d1). Rows of inner elements move with
// copy; when inner and mid are 1 (the last two axes, qkᵀ's kᵀ), each
// outer slice is a 2-D transpose done by tiles. It panics unless x and
// dst hold outer·a·mid·b·inner elements.
func Transpose[T Float](dst, x []T, outer, a, mid, b, inner int) {
	n := outer * a * mid * b * inner
	same("Transpose", "x", len(x), n)
	same("Transpose", "dst", len(dst), n)
	if n == 0 {
		return
	}
	step := a * mid * b * inner
	if mid == 1 && inner == 1 {
		for o := 0; o < outer; o++ {
			transpose2D(dst[o*step:(o+1)*step], x[o*step:(o+1)*step], a, b)
		}
		return
	}
	if d32, ok := any(dst).([]float32); ok && mid == 1 && inner == 16 {
		transposeRows16(d32, any(x).([]float32), outer, a, b)
		return
	}
	for o := 0; o < outer; o++ {
		src, out := x[o*step:(o+1)*step], dst[o*step:(o+1)*step]
		for i := 0; i < a; i++ {
			for m := 0; m < mid; m++ {
				for j := 0; j < b; j++ {
					from := ((i*mid+m)*b + j) * inner
					to := ((j*mid+m)*a + i) * inner
					copy(out[to:to+inner], src[from:from+inner])
				}
			}
		}
	}
}

// transpose2D sets dst, b×a, to the transpose of x, a×b: row by row of
// dst when x fits in the L1 cache (an attention head's kᵀ), else by tiles
// so that the rows read and the rows written both stay in cache.
func transpose2D[T Float](dst, x []T, a, b int) {
	x = x[:a*b]
	if a*b <= 64*64 {
		for j := 0; j < b; j++ {
			d := dst[j*a : j*a+a]
			for i := range d {
				d[i] = x[i*b+j]
			}
		}
		return
	}
	for i0 := 0; i0 < a; i0 += transposeTile {
		i1 := min(i0+transposeTile, a)
		for j0 := 0; j0 < b; j0 += transposeTile {
			j1 := min(j0+transposeTile, b)
			for i := i0; i < i1; i++ {
				row := x[i*b+j0 : i*b+j1]
				for j, v := range row {
					dst[(j0+j)*a+i] = v
				}
			}
		}
	}
}

// transposeRows16 is Transpose of float32 with mid 1 and inner 16, the
// heads of a GPT of head width 16: rows of 64 bytes moved inline, where
// copy (a call of memmove each, its size unknown to generic code) cost
// more than the move.
func transposeRows16(dst, x []float32, outer, a, b int) {
	step := a * b * 16
	for o := 0; o < outer; o++ {
		src, out := x[o*step:(o+1)*step], dst[o*step:(o+1)*step]
		for i := 0; i < a; i++ {
			for j := 0; j < b; j++ {
				from, to := (i*b+j)*16, (j*a+i)*16
				*(*[16]float32)(out[to : to+16]) = *(*[16]float32)(src[from : from+16])
			}
		}
	}
}
