package kernels

import (
	"fmt"
	"math"
	"math/bits"
	"math/rand/v2"
)

// Differentially private SGD (train key privacy = dp(...)): per-example
// gradient norms computed without materialising per-example gradients
// where the algebra allows ("ghost clipping"), each example's factor
// min(1, C/‖gᵢ‖), and the Gaussian noise on the clipped sum.
//
// A batch's examples are its rows: every buffer below starts with the
// batch dimension, and len(dst) of a per-example kernel is the number of
// examples n. The squared norms are summed in float64 and chained through
// acc (nil for the first parameter) into one total per example.

// RowOuterSqNorm sets dst[i] to acc[i] (0 when acc is nil) plus the squared
// Frobenius norm of example i's share of the product uᵀv, where u holds
// n·t rows of m and v n·t rows of k, example i owning rows [i·t, (i+1)·t):
// ‖Σ_r u_r v_rᵀ‖². With t = 1 that is ‖u_i‖²·‖v_i‖²; otherwise either the
// Gram form Σ_{r,s}(u_r·u_s)(v_r·v_s) (gram, work holds 2·t² elements) or
// the example's m×k product itself (work holds m·k), whichever the
// lowering found cheaper.
func RowOuterSqNorm[T Float](dst, u, v, acc, work []T, t, m, k int, gram bool) {
	n := len(dst)
	need("RowOuterSqNorm", "u", len(u), n*t*m)
	need("RowOuterSqNorm", "v", len(v), n*t*k)
	for i := range n {
		ui, vi := u[i*t*m:(i+1)*t*m], v[i*t*k:(i+1)*t*k]
		var s float64
		switch {
		case t == 1:
			s = sqSum(ui) * sqSum(vi)
		case gram:
			need("RowOuterSqNorm", "work", len(work), 2*t*t)
			gu, gv := work[:t*t], work[t*t:2*t*t]
			Gemm(false, true, t, t, m, 1, ui, m, ui, m, 0, gu, t)
			Gemm(false, true, t, t, k, 1, vi, k, vi, k, 0, gv, t)
			for j, a := range gu {
				s += float64(a) * float64(gv[j])
			}
		default:
			need("RowOuterSqNorm", "work", len(work), m*k)
			Gemm(true, false, m, k, t, 1, ui, m, vi, k, 0, work[:m*k], k)
			s = sqSum(work[:m*k])
		}
		if acc != nil {
			s += float64(acc[i])
		}
		dst[i] = T(s)
	}
}

// GroupSumSqNorm sets dst[i] to acc[i] (0 when acc is nil) plus the squared
// norm of the c sums of example i's elements grouped by channel: example i
// is viewed as [outer, c, inner] and summed over outer and inner (the
// gradient of a bias, per example). GroupSumSqNorm panics when an
// example's size is not a multiple of c·inner.
func GroupSumSqNorm[T Float](dst, x, acc []T, c, inner int) {
	n := len(dst)
	if n == 0 {
		return
	}
	per := len(x) / n
	if c < 1 || inner < 1 || per%(c*inner) != 0 {
		panic(fmt.Sprintf("kernels.GroupSumSqNorm: examples of %d elements are not groups of %d×%d", per, c, inner))
	}
	outer := per / (c * inner)
	for i := range n {
		xi := x[i*per : (i+1)*per]
		var s float64
		if outer == 1 && inner == 1 { // a Linear bias: the example's δ itself
			s = sqSum(xi)
			if acc != nil {
				s += float64(acc[i])
			}
			dst[i] = T(s)
			continue
		}
		for ch := range c {
			var g float64
			for o := range outer {
				base := (o*c + ch) * inner
				if inner == 1 {
					g += float64(xi[base])
				} else {
					g += sum64(xi[base : base+inner])
				}
			}
			s += g * g
		}
		if acc != nil {
			s += float64(acc[i])
		}
		dst[i] = T(s)
	}
}

// ConvSqNorm sets dst[i] to acc[i] (0 when acc is nil) plus the squared norm
// of example i's share of Conv2d's weight gradient dyᵢ·colᵢᵀ, where colᵢ
// is the unfolded input (s.ColSize() elements of scratch in col): with
// gram, as Σ_{p,q}(colₚ·col_q)(dyₚ·dy_q) over output positions p, q (work
// holds 2·P² elements, P = OutH·OutW); else from the K×C·KH·KW product
// itself (work holds that many).
func ConvSqNorm[T Float](dst, dy, x, acc, col, work []T, s ConvShape, gram bool) {
	s.check("ConvSqNorm")
	ckk, p := s.C*s.KH*s.KW, s.OutH()*s.OutW()
	n := len(dst)
	need("ConvSqNorm", "dy", len(dy), n*s.K*p)
	need("ConvSqNorm", "x", len(x), n*s.C*s.H*s.W)
	need("ConvSqNorm", "col", len(col), ckk*p)
	if gram {
		need("ConvSqNorm", "work", len(work), 2*p*p)
	} else {
		need("ConvSqNorm", "work", len(work), s.K*ckk)
	}
	for i := range n {
		im2col(col, x[i*s.C*s.H*s.W:], s)
		g := dy[i*s.K*p : (i+1)*s.K*p]
		var sq float64
		if gram {
			gc, gd := work[:p*p], work[p*p:2*p*p]
			Gemm(true, false, p, p, ckk, 1, col, p, col, p, 0, gc, p)
			Gemm(true, false, p, p, s.K, 1, g, p, g, p, 0, gd, p)
			for j, a := range gc {
				sq += float64(a) * float64(gd[j])
			}
		} else {
			Gemm(false, true, s.K, ckk, p, 1, g, p, col, p, 0, work[:s.K*ckk], ckk)
			sq = sqSum(work[:s.K*ckk])
		}
		if acc != nil {
			sq += float64(acc[i])
		}
		dst[i] = T(sq)
	}
}

// ClipFactor sets dst[i] to the weight of example i in the clipped sum of
// a batch of n = len(dst) examples whose mean loss's gradient gave the
// squared norms total (so example i's own gradient has norm
// n·sqrt(total[i])): n·min(1, clip/(n·sqrt(total[i]) + 1e-6)), the
// factor of Opacus's per-sample clipping times n, which turns the mean's
// gradient back into the example's.
func ClipFactor[T Float](dst, total []T, clip float64) {
	same("ClipFactor", "total", len(total), len(dst))
	n := float64(len(dst))
	for i, t := range total {
		norm := n * math.Sqrt(float64(t))
		dst[i] = T(n * min(1, clip/(norm+1e-6)))
	}
}

// ScaleRows sets dst to x with example i's elements multiplied by f[i]:
// x holds len(f) examples of equal size.
func ScaleRows[T Float](dst, x, f []T) {
	same("ScaleRows", "x", len(x), len(dst))
	n := len(f)
	if n == 0 {
		return
	}
	per := len(x) / n
	for i, c := range f {
		Scale(dst[i*per:(i+1)*per], c, x[i*per:(i+1)*per])
	}
}

// DPNoise sets dst to (g + std·z)·scale, computed in T as
// scale·g + (std·scale)·z, with z drawn from N(0, 1) for each element in order (none when std is 0): the
// noisy clipped sum of DP-SGD divided by the expected batch size. The
// noise is as many draws as the model has parameters, every step, so it
// is drawn cheaply: one rng.Uint64 seeds a wyrand generator (Wang Yi's,
// which passes BigCrush and PractRand) for the call, each of whose 64-bit
// outputs gives two normal variates by Marsaglia and Tsang's ziggurat over
// 32 bits; the ziggurat's rare wedge and tail cases draw from rng.
func DPNoise[T Float](dst, g []T, std, scale float64, rng *rand.Rand) {
	same("DPNoise", "g", len(g), len(dst))
	if std == 0 {
		for i, v := range g {
			dst[i] = T(float64(v) * scale)
		}
		return
	}
	st, sc := T(std*scale), T(scale)
	n := len(g)
	dst, g = dst[:n], g[:n]
	state := rng.Uint64()
	for i := 0; i < n; i += 2 {
		state += 0xa0761d6478bd642f
		hi, lo := bits.Mul64(state, state^0xe7037ed1a0b428db)
		u := hi ^ lo
		h0, h1 := int32(uint32(u)), int32(uint32(u>>32))
		z0, z1 := float64(h0)*zigW[h0&127], float64(h1)*zigW[h1&127]
		if m := h0 >> 31; uint32((h0^m)-m) >= zigK[h0&127] {
			z0 = zigSlow(h0, rng)
		}
		dst[i] = sc*g[i] + st*T(z0)
		if i+1 < n {
			if m := h1 >> 31; uint32((h1^m)-m) >= zigK[h1&127] {
				z1 = zigSlow(h1, rng)
			}
			dst[i+1] = sc*g[i+1] + st*T(z1)
		}
	}
}

// The ziggurat of Marsaglia and Tsang (2000), "The ziggurat method for
// generating random variables", 128 layers, with their tables.
var zigK [128]uint32
var zigW, zigF [128]float64

const zigR = 3.442619855899

func init() {
	const m1 = 2147483648.0
	dn, tn, vn := zigR, zigR, 9.91256303526217e-3
	q := vn / math.Exp(-0.5*dn*dn)
	zigK[0], zigK[1] = uint32(dn/q*m1), 0
	zigW[0], zigW[127] = q/m1, dn/m1
	zigF[0], zigF[127] = 1, math.Exp(-0.5*dn*dn)
	for i := 126; i >= 1; i-- {
		dn = math.Sqrt(-2 * math.Log(vn/dn+math.Exp(-0.5*dn*dn)))
		zigK[i+1] = uint32(dn / tn * m1)
		tn = dn
		zigF[i] = math.Exp(-0.5 * dn * dn)
		zigW[i] = dn / m1
	}
}

// zigSlow returns a standard normal variate for the 32 random bits hz
// outside the ziggurat's rectangles: its wedges and tail, drawing more
// from rng.
func zigSlow(hz int32, rng *rand.Rand) float64 {
	for {
		iz := hz & 127
		x := float64(hz) * zigW[iz]
		if absInt32(hz) < zigK[iz] {
			return x
		}
		if iz == 0 { // the tail beyond zigR
			for {
				x = -math.Log(1-rng.Float64()) / zigR
				y := -math.Log(1 - rng.Float64())
				if y+y >= x*x {
					break
				}
			}
			if hz > 0 {
				return zigR + x
			}
			return -zigR - x
		}
		if zigF[iz]+rng.Float64()*(zigF[iz-1]-zigF[iz]) < math.Exp(-0.5*x*x) {
			return x
		}
		hz = int32(uint32(rng.Uint64()))
	}
}

func absInt32(i int32) uint32 {
	if i < 0 {
		return uint32(-i)
	}
	return uint32(i)
}

func sqSum[T Float](x []T) float64 {
	if x32, ok := any(x).([]float32); ok {
		if s, ok := sumSqDev32(x32, 0); ok {
			return s
		}
	}
	// Four sums, so that the additions do not wait on each other.
	var s0, s1, s2, s3 float64
	i := 0
	for ; i+4 <= len(x); i += 4 {
		a, b, c, d := float64(x[i]), float64(x[i+1]), float64(x[i+2]), float64(x[i+3])
		s0 += a * a
		s1 += b * b
		s2 += c * c
		s3 += d * d
	}
	for ; i < len(x); i++ {
		s0 += float64(x[i]) * float64(x[i])
	}
	return (s0 + s1) + (s2 + s3)
}
