package kernels

import (
	"fmt"
	"math"
)

// The tensors of the layer-norm kernels are rows×d: LayerNorm normalises
// each row, the last dimension of the layer's input with all others
// flattened into rows. weight and bias have d elements, mean and rstd one
// per row.

// checkLN panics unless x, of length lx, and the operand named other, of
// length lo, hold rows×d matrices with d ≥ 1.
func checkLN(fn, other string, lo, lx, rows, d int) {
	if rows < 0 || d < 1 {
		panic(fmt.Sprintf("kernels.%s: size %d×%d, need rows ≥ 0 and d ≥ 1", fn, rows, d))
	}
	need(fn, "x", lx, rows*d)
	need(fn, other, lo, rows*d)
}

// LayerNorm normalises each row of x, a rows×d matrix, as
// torch.nn.LayerNorm(d, eps) does: out = (x - mean)·rstd·weight + bias,
// with mean and rstd = 1/sqrt(var + eps) taken over the row and var the
// biased variance. The statistics and each output are computed in float64
// and rounded to T once: PyTorch's CPU kernel computes (x·rstd - mean·rstd)
// in T, which leaves rounding noise of x's magnitude where the variance is
// small against the mean, as in a row of equal values.
//
// When mean and rstd are not nil they receive each row's mean and rstd for
// LayerNormBackward. A nil weight counts as ones and a nil bias as zeros
// (torch's elementwise_affine = False). out may be x. LayerNorm panics if
// d < 1 or a slice is shorter than its shape.
func LayerNorm[T Float](out, x, weight, bias, mean, rstd []T, rows, d int, eps float64) {
	checkLN("LayerNorm", "out", len(out), len(x), rows, d)
	if weight != nil {
		need("LayerNorm", "weight", len(weight), d)
		weight = weight[:d]
	}
	if bias != nil {
		need("LayerNorm", "bias", len(bias), d)
		bias = bias[:d]
	}
	if mean != nil {
		need("LayerNorm", "mean", len(mean), rows)
	}
	if rstd != nil {
		need("LayerNorm", "rstd", len(rstd), rows)
	}
	// The float32 loop with a weight and a bias has a vector kernel.
	x32, w32, b32 := asF32(x), asF32(weight), asF32(bias)
	if w32 == nil || b32 == nil {
		x32 = nil
	}
	for i := range rows {
		xs := x[i*d : (i+1)*d : (i+1)*d]
		mu := sum64(xs) / float64(d)
		r := 1 / math.Sqrt(sumSqDev(xs, mu)/float64(d)+eps)
		if mean != nil {
			mean[i] = T(mu)
		}
		if rstd != nil {
			rstd[i] = T(r)
		}
		ys := out[i*d : (i+1)*d : (i+1)*d]
		if x32 != nil && lnOut32(any(ys).([]float32), x32[i*d:(i+1)*d], w32, b32, mu, r) {
			continue
		}
		for j, v := range xs {
			y := (float64(v) - mu) * r
			if weight != nil {
				y *= float64(weight[j])
			}
			if bias != nil {
				y += float64(bias[j])
			}
			ys[j] = T(y)
		}
	}
}

// lnBlock is the number of columns whose weight and bias gradients
// LayerNormBackward sums at a time, in float64 on the stack.
const lnBlock = 64

// LayerNormBackward computes the gradients of LayerNorm from dy, the
// gradient of its output, given its input x, weight and the mean and rstd
// it stored. With x̂ = (x - mean)·rstd and g = dy·weight, per row of d
// values:
//
//	dx      = rstd·(g - Σg/d - x̂·Σ(g·x̂)/d)
//
// and per column, summed over the rows:
//
//	dweight = Σ dy·x̂
//	dbias   = Σ dy
//
// Any of dx, dweight and dbias may be nil to skip it; the others are
// overwritten. A nil weight counts as ones. Sums are accumulated in
// float64. LayerNormBackward panics if d < 1 or a slice is shorter than its
// shape.
func LayerNormBackward[T Float](dx, dweight, dbias, dy, x, weight, mean, rstd []T, rows, d int) {
	checkLN("LayerNormBackward", "dy", len(dy), len(x), rows, d)
	need("LayerNormBackward", "mean", len(mean), rows)
	need("LayerNormBackward", "rstd", len(rstd), rows)
	if weight != nil {
		need("LayerNormBackward", "weight", len(weight), d)
		weight = weight[:d]
	}
	if dx != nil {
		need("LayerNormBackward", "dx", len(dx), rows*d)
	}
	if dweight != nil {
		need("LayerNormBackward", "dweight", len(dweight), d)
	}
	if dbias != nil {
		need("LayerNormBackward", "dbias", len(dbias), d)
	}
	if dx != nil {
		invD := 1 / float64(d)
		// The float32 rows with a weight have a vector kernel.
		x32, w32, dx32, dy32 := asF32(x), asF32(weight), asF32(dx), asF32(dy)
		if w32 == nil {
			x32 = nil
		}
		for i := range rows {
			xs := x[i*d : (i+1)*d : (i+1)*d]
			gs := dy[i*d : (i+1)*d : (i+1)*d]
			mu, r := float64(mean[i]), float64(rstd[i])
			if x32 != nil && lnGradRow32(dx32[i*d:(i+1)*d], dy32[i*d:(i+1)*d], x32[i*d:(i+1)*d], w32, mu, r, invD) {
				continue
			}
			// One pass for both sums, one for the gradient.
			var sg, sgx float64
			for j, v := range xs {
				g := float64(gs[j])
				if weight != nil {
					g *= float64(weight[j])
				}
				sg += g
				sgx += g * (float64(v) - mu) * r
			}
			mg, mgx := sg*invD, sgx*invD
			out := dx[i*d : (i+1)*d : (i+1)*d]
			for j, v := range xs {
				g := float64(gs[j])
				if weight != nil {
					g *= float64(weight[j])
				}
				out[j] = T(r * (g - mg - (float64(v)-mu)*r*mgx))
			}
		}
	}
	if dweight == nil && dbias == nil {
		return
	}
	if dbias == nil {
		if x32 := asF32(x); x32 != nil && lnGradW32(asF32(dweight), asF32(dy), x32, asF32(mean), asF32(rstd), rows, d) {
			return
		}
	}
	// Column sums a block at a time, so that each row is read in order and
	// the float64 partial sums stay on the stack.
	var sw, sb [lnBlock]float64
	for j0 := 0; j0 < d; j0 += lnBlock {
		w := min(lnBlock, d-j0)
		clear(sw[:w])
		clear(sb[:w])
		for i := range rows {
			xs := x[i*d+j0 : i*d+j0+w]
			gs := dy[i*d+j0 : i*d+j0+w]
			mu, r := float64(mean[i]), float64(rstd[i])
			for j, v := range xs {
				g := float64(gs[j])
				sb[j] += g
				sw[j] += g * (float64(v) - mu) * r
			}
		}
		if dweight != nil {
			for j := range w {
				dweight[j0+j] = T(sw[j])
			}
		}
		if dbias != nil {
			for j := range w {
				dbias[j0+j] = T(sb[j])
			}
		}
	}
}

// asF32 is s as a []float32, or nil if T is another type or s is nil.
func asF32[T Float](s []T) []float32 {
	s32, _ := any(s).([]float32)
	return s32
}
