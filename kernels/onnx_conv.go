package kernels

import (
	"fmt"
	"math"
)

// Convolution and pooling over 1, 2 or 3 spatial dimensions, as ONNX's
// Conv, MaxPool and AveragePool (issue 13). The geometry is one []int:
//
//	[k, C, M, group, D..., K..., O..., strides..., pads..., dilations...]
//
// k the spatial rank (1 to 3), C the input channels, M the output
// channels (C for pooling), group the convolution's groups (1 for
// pooling), then k input sizes D, kernel sizes K, output sizes O, strides,
// leading pads and dilations. The trailing pads are implied by O.

// geom is a geometry read from its []int form, padded to three spatial
// dimensions with leading dimensions of size 1.
type geom struct {
	C, M, group            int
	d, k, o, s, p, dil     [3]int
	inSize, outSize, kSize int
}

func readGeom(fn string, g []int) geom {
	if len(g) < 4 || g[0] < 1 || g[0] > 3 || len(g) != 4+6*g[0] {
		panic(fmt.Sprintf("kernels.%s: bad geometry %v", fn, g))
	}
	k := g[0]
	r := geom{C: g[1], M: g[2], group: g[3]}
	for i := range 3 {
		r.d[i], r.k[i], r.o[i], r.s[i], r.dil[i] = 1, 1, 1, 1, 1
	}
	for i := range k {
		j := 3 - k + i
		r.d[j], r.k[j], r.o[j], r.s[j], r.p[j], r.dil[j] = g[4+i], g[4+k+i], g[4+2*k+i], g[4+3*k+i], g[4+4*k+i], g[4+5*k+i]
	}
	if r.group < 1 || r.C%r.group != 0 || r.M%r.group != 0 {
		panic(fmt.Sprintf("kernels.%s: %d groups of %d input and %d output channels", fn, r.group, r.C, r.M))
	}
	r.inSize = r.d[0] * r.d[1] * r.d[2]
	r.outSize = r.o[0] * r.o[1] * r.o[2]
	r.kSize = r.k[0] * r.k[1] * r.k[2]
	return r
}

// ConvColSize is the size of ConvND's col buffer for geometry g: one
// group of one sample unfolded.
func ConvColSize(g []int) int {
	r := readGeom("ConvColSize", g)
	return r.C / r.group * r.kSize * r.outSize
}

// innerRange is the range [lo, hi) of innermost output positions whose
// tap k2 falls inside the input (lo = hi when none does), and the input
// position of output 0's tap, off: output o2 reads input o2·stride + off.
func innerRange(r *geom, k2 int) (lo, hi, off int) {
	s := r.s[2]
	off = k2*r.dil[2] - r.p[2]
	if off < 0 {
		lo = (-off + s - 1) / s
	}
	hi = r.o[2]
	if room := r.d[2] - off; room <= 0 {
		hi = 0
	} else {
		hi = min(hi, (room+s-1)/s)
	}
	lo = min(lo, hi)
	return lo, hi, off
}

// im2colND unfolds channels c of one sample x into col, rows (channel,
// kernel offset) of outSize columns; positions in the padding are 0.
func im2colND[T Float](col, x []T, r *geom, c int) {
	i := 0
	for ch := 0; ch < c; ch++ {
		xc := x[ch*r.inSize : (ch+1)*r.inSize]
		for k0 := 0; k0 < r.k[0]; k0++ {
			for k1 := 0; k1 < r.k[1]; k1++ {
				for k2 := 0; k2 < r.k[2]; k2++ {
					for o0 := 0; o0 < r.o[0]; o0++ {
						i0 := o0*r.s[0] - r.p[0] + k0*r.dil[0]
						for o1 := 0; o1 < r.o[1]; o1++ {
							i1 := o1*r.s[1] - r.p[1] + k1*r.dil[1]
							row := col[i : i+r.o[2]]
							i += r.o[2]
							if i0 < 0 || i0 >= r.d[0] || i1 < 0 || i1 >= r.d[1] {
								clear(row)
								continue
							}
							base := (i0*r.d[1] + i1) * r.d[2]
							lo, hi, off := innerRange(r, k2)
							clear(row[:lo])
							clear(row[hi:])
							if src := xc[base:]; r.s[2] == 1 {
								if lo < hi { // none of the taps may fall inside
									copy(row[lo:hi], src[lo+off:hi+off])
								}
							} else {
								for o2 := lo; o2 < hi; o2++ {
									row[o2] = src[o2*r.s[2]+off]
								}
							}
						}
					}
				}
			}
		}
	}
}

// ConvND sets y [n, M, O...] to the convolution of x [n, C, D...] with w
// [M, C/group, K...] plus the bias b [M] (nil for none), as ONNX's Conv.
// col holds ConvColSize(g) elements.
func ConvND[T Float](y, x, w, b, col []T, n int, g []int) {
	r := readGeom("ConvND", g)
	cg, mg := r.C/r.group, r.M/r.group
	same("ConvND", "x", len(x), n*r.C*r.inSize)
	same("ConvND", "y", len(y), n*r.M*r.outSize)
	same("ConvND", "w", len(w), r.M*cg*r.kSize)
	need("ConvND", "col", len(col), cg*r.kSize*r.outSize)
	if b != nil {
		same("ConvND", "b", len(b), r.M)
	}
	kk := cg * r.kSize
	for s := 0; s < n; s++ {
		xs := x[s*r.C*r.inSize : (s+1)*r.C*r.inSize]
		ys := y[s*r.M*r.outSize : (s+1)*r.M*r.outSize]
		for gi := 0; gi < r.group; gi++ {
			im2colND(col, xs[gi*cg*r.inSize:], &r, cg)
			Gemm(false, false, mg, r.outSize, kk, 1, w[gi*mg*kk:], kk, col, r.outSize, 0, ys[gi*mg*r.outSize:], r.outSize)
		}
		if b != nil {
			for m := 0; m < r.M; m++ {
				row := ys[m*r.outSize : (m+1)*r.outSize]
				for i := range row {
					row[i] += b[m]
				}
			}
		}
	}
}

// The modes of PoolND.
const (
	PoolMax            = iota // the maximum of the window, padding ignored
	PoolAverage               // the mean of the window's elements inside x
	PoolAverageWithPad        // the mean over the whole window, padding counted as 0
)

// PoolND sets y [n, C, O...] to the pooling of x [n, C, D...] over
// windows of geometry g, as ONNX's MaxPool (mode PoolMax) and AveragePool
// (count_include_pad 0: PoolAverage, 1: PoolAverageWithPad).
func PoolND[T Float](y, x []T, n int, g []int, mode int) {
	r := readGeom("PoolND", g)
	same("PoolND", "x", len(x), n*r.C*r.inSize)
	same("PoolND", "y", len(y), n*r.C*r.outSize)
	if mode < PoolMax || mode > PoolAverageWithPad {
		panic(fmt.Sprintf("kernels.PoolND: unknown mode %d", mode))
	}
	for p := 0; p < n*r.C; p++ {
		xc := x[p*r.inSize : (p+1)*r.inSize]
		yc := y[p*r.outSize : (p+1)*r.outSize]
		oi := 0
		for o0 := 0; o0 < r.o[0]; o0++ {
			for o1 := 0; o1 < r.o[1]; o1++ {
				for o2 := 0; o2 < r.o[2]; o2++ {
					acc, cnt, full := 0.0, 0, 0
					if mode == PoolMax {
						acc = math.Inf(-1)
					}
					for k0 := 0; k0 < r.k[0]; k0++ {
						i0 := o0*r.s[0] - r.p[0] + k0*r.dil[0]
						for k1 := 0; k1 < r.k[1]; k1++ {
							i1 := o1*r.s[1] - r.p[1] + k1*r.dil[1]
							for k2 := 0; k2 < r.k[2]; k2++ {
								i2 := o2*r.s[2] - r.p[2] + k2*r.dil[2]
								full++
								if i0 < 0 || i0 >= r.d[0] || i1 < 0 || i1 >= r.d[1] || i2 < 0 || i2 >= r.d[2] {
									continue
								}
								v := float64(xc[(i0*r.d[1]+i1)*r.d[2]+i2])
								cnt++
								if mode == PoolMax {
									if v > acc || v != v {
										acc = v
									}
								} else {
									acc += v
								}
							}
						}
					}
					switch mode {
					case PoolAverage:
						acc /= float64(max(cnt, 1))
					case PoolAverageWithPad:
						acc /= float64(full)
					}
					yc[oi] = T(acc)
					oi++
				}
			}
		}
	}
}

// col2imND adds col, unfolded as im2colND unfolds, into channels c of one
// sample dx: the adjoint of im2colND.
func col2imND[T Float](dx, col []T, r *geom, c int) {
	i := 0
	for ch := 0; ch < c; ch++ {
		xc := dx[ch*r.inSize : (ch+1)*r.inSize]
		for k0 := 0; k0 < r.k[0]; k0++ {
			for k1 := 0; k1 < r.k[1]; k1++ {
				for k2 := 0; k2 < r.k[2]; k2++ {
					for o0 := 0; o0 < r.o[0]; o0++ {
						i0 := o0*r.s[0] - r.p[0] + k0*r.dil[0]
						for o1 := 0; o1 < r.o[1]; o1++ {
							i1 := o1*r.s[1] - r.p[1] + k1*r.dil[1]
							row := col[i : i+r.o[2]]
							i += r.o[2]
							if i0 < 0 || i0 >= r.d[0] || i1 < 0 || i1 >= r.d[1] {
								continue
							}
							base := (i0*r.d[1] + i1) * r.d[2]
							lo, hi, off := innerRange(r, k2)
							dst := xc[base:]
							for o2 := lo; o2 < hi; o2++ {
								dst[o2*r.s[2]+off] += row[o2]
							}
						}
					}
				}
			}
		}
	}
}

// ConvNDBackward sets dx (when not nil) to the gradient of ConvND's input
// and dw (when not nil) to its weight's, given dy; col holds
// ConvColSize(g) elements. The bias's gradient is the sum of dy per
// channel (ChannelSum).
func ConvNDBackward[T Float](dx, dw, dy, x, w, col []T, n int, g []int) {
	r := readGeom("ConvNDBackward", g)
	cg, mg := r.C/r.group, r.M/r.group
	kk := cg * r.kSize
	same("ConvNDBackward", "x", len(x), n*r.C*r.inSize)
	same("ConvNDBackward", "dy", len(dy), n*r.M*r.outSize)
	same("ConvNDBackward", "w", len(w), r.M*kk)
	need("ConvNDBackward", "col", len(col), kk*r.outSize)
	if dx != nil {
		same("ConvNDBackward", "dx", len(dx), len(x))
		clear(dx)
	}
	if dw != nil {
		same("ConvNDBackward", "dw", len(dw), len(w))
		clear(dw)
	}
	for s := 0; s < n; s++ {
		ys := dy[s*r.M*r.outSize : (s+1)*r.M*r.outSize]
		for gi := 0; gi < r.group; gi++ {
			dyg := ys[gi*mg*r.outSize:]
			if dw != nil {
				im2colND(col, x[s*r.C*r.inSize+gi*cg*r.inSize:], &r, cg)
				Gemm(false, true, mg, kk, r.outSize, 1, dyg, r.outSize, col, r.outSize, 1, dw[gi*mg*kk:], kk)
			}
			if dx != nil {
				Gemm(true, false, kk, r.outSize, mg, 1, w[gi*mg*kk:], kk, dyg, r.outSize, 0, col, r.outSize)
				col2imND(dx[s*r.C*r.inSize+gi*cg*r.inSize:], col, &r, cg)
			}
		}
	}
}

// PoolNDBackward sets dx to the gradient of PoolND given dy: each
// window's dy goes to its maximum (the first, on ties) for PoolMax, or
// is spread over its elements as the average divided it.
func PoolNDBackward[T Float](dx, dy, x []T, n int, g []int, mode int) {
	r := readGeom("PoolNDBackward", g)
	same("PoolNDBackward", "x", len(x), n*r.C*r.inSize)
	same("PoolNDBackward", "dx", len(dx), len(x))
	same("PoolNDBackward", "dy", len(dy), n*r.C*r.outSize)
	if mode < PoolMax || mode > PoolAverageWithPad {
		panic(fmt.Sprintf("kernels.PoolNDBackward: unknown mode %d", mode))
	}
	clear(dx)
	for p := 0; p < n*r.C; p++ {
		xc := x[p*r.inSize : (p+1)*r.inSize]
		dxc := dx[p*r.inSize : (p+1)*r.inSize]
		dyc := dy[p*r.outSize : (p+1)*r.outSize]
		oi := 0
		for o0 := 0; o0 < r.o[0]; o0++ {
			for o1 := 0; o1 < r.o[1]; o1++ {
				for o2 := 0; o2 < r.o[2]; o2++ {
					// First pass: the maximum's index, or the divisor.
					best, bestAt, cnt, full := math.Inf(-1), -1, 0, 0
					for pass := 0; pass < 2; pass++ {
						for k0 := 0; k0 < r.k[0]; k0++ {
							i0 := o0*r.s[0] - r.p[0] + k0*r.dil[0]
							for k1 := 0; k1 < r.k[1]; k1++ {
								i1 := o1*r.s[1] - r.p[1] + k1*r.dil[1]
								for k2 := 0; k2 < r.k[2]; k2++ {
									i2 := o2*r.s[2] - r.p[2] + k2*r.dil[2]
									if pass == 0 {
										full++
									}
									if i0 < 0 || i0 >= r.d[0] || i1 < 0 || i1 >= r.d[1] || i2 < 0 || i2 >= r.d[2] {
										continue
									}
									at := (i0*r.d[1]+i1)*r.d[2] + i2
									switch {
									case pass == 0 && mode == PoolMax:
										if v := float64(xc[at]); v > best || bestAt < 0 || v != v && best == best {
											best, bestAt = v, at
										}
									case pass == 0:
										cnt++
									case mode == PoolAverage:
										dxc[at] += dyc[oi] / T(max(cnt, 1))
									case mode == PoolAverageWithPad:
										dxc[at] += dyc[oi] / T(full)
									}
								}
							}
						}
						if mode == PoolMax {
							if bestAt >= 0 {
								dxc[bestAt] += dyc[oi]
							}
							break
						}
					}
					oi++
				}
			}
		}
	}
}
