package kernels

import "fmt"

// axis returns the number of elements of an outer×dim×inner tensor,
// panicking if a size is negative.
func axis(fn string, outer, dim, inner int) int {
	if outer < 0 || dim < 0 || inner < 0 {
		panic(fmt.Sprintf("kernels.%s: negative size %d×%d×%d", fn, outer, dim, inner))
	}
	return outer * dim * inner
}

// Sum sums src, an outer×dim×inner tensor, along its middle axis into dst,
// an outer×inner tensor: dst[o,i] = Σ_d src[o,d,i]. A reduction along axis a
// of a tensor uses outer = the product of the dimensions before a, dim = the
// size of a and inner = the product of those after it. Sum panics unless
// the lengths are exactly those.
func Sum[T Float](dst, src []T, outer, dim, inner int) {
	same("Sum", "src", len(src), axis("Sum", outer, dim, inner))
	same("Sum", "dst", len(dst), outer*inner)
	for o := range outer {
		block := src[o*dim*inner : (o+1)*dim*inner]
		if inner == 1 {
			var s T
			for _, v := range block {
				s += v
			}
			dst[o] = s
			continue
		}
		d := dst[o*inner : (o+1)*inner]
		clear(d)
		for k := range dim {
			AddTo(d, block[k*inner:(k+1)*inner])
		}
	}
}

// Mean sets dst to the mean of src along its middle axis: Sum divided by
// dim, with the shapes of Sum.
func Mean[T Float](dst, src []T, outer, dim, inner int) {
	Sum(dst, src, outer, dim, inner)
	n := T(dim)
	for i := range dst {
		dst[i] /= n
	}
}

// SumBackward broadcasts dy, the outer×inner gradient of Sum's output, back
// along the reduced axis: dx[o,d,i] = dy[o,i]. It panics unless the lengths
// are exactly those.
func SumBackward[T Float](dx, dy []T, outer, dim, inner int) {
	same("SumBackward", "dx", len(dx), axis("SumBackward", outer, dim, inner))
	same("SumBackward", "dy", len(dy), outer*inner)
	for o := range outer {
		g := dy[o*inner : (o+1)*inner]
		for k := range dim {
			copy(dx[(o*dim+k)*inner:], g)
		}
	}
}

// MeanBackward sets dx[o,d,i] = dy[o,i] / dim, the gradient of Mean, with
// the shapes of SumBackward.
func MeanBackward[T Float](dx, dy []T, outer, dim, inner int) {
	same("MeanBackward", "dx", len(dx), axis("MeanBackward", outer, dim, inner))
	same("MeanBackward", "dy", len(dy), outer*inner)
	n := T(dim)
	for o := range outer {
		g := dy[o*inner : (o+1)*inner]
		for k := range dim {
			row := dx[(o*dim+k)*inner : (o*dim+k+1)*inner]
			for i, v := range g {
				row[i] = v / n
			}
		}
	}
}

// AllFinite reports whether no element of x is a NaN or an infinity.
func AllFinite[T Float](x []T) bool {
	if x32, ok := any(x).([]float32); ok {
		finite, done := finite32(x32)
		if !finite {
			return false
		}
		x = x[done:]
	}
	// x·0 is 0 for a finite x and NaN otherwise: four sums of them are 0
	// exactly when all are finite.
	var s0, s1, s2, s3 T
	i := 0
	for ; i+4 <= len(x); i += 4 {
		q := x[i : i+4 : i+4]
		s0 += q[0] * 0
		s1 += q[1] * 0
		s2 += q[2] * 0
		s3 += q[3] * 0
	}
	for ; i < len(x); i++ {
		s0 += x[i] * 0
	}
	return s0+s1+s2+s3 == 0
}
