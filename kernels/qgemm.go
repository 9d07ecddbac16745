package kernels

import "math"

// Int8 inference (nnc quantize). The scheme is TFLite's and PyTorch's
// fbgemm's: weights are int8, symmetric per output channel (zero point 0,
// values in [-127, 127]); activations are uint8, asymmetric per tensor
// (real = scale·(q − zero_point)); a layer's bias is int32 with scale
// input_scale·weight_scale[o]. A product accumulates u8×s8 in int32, which
// is exact, so every path (AVX-512 VNNI, AVX2, portable Go) computes the
// same accumulators; the requantization that follows is the same Go code
// for all of them, so their outputs agree bit for bit.
//
// The product is in the "NT" form: out[i, j] = Σ_r a[i, r]·b[j, r], a the
// uint8 activations (rows i) and b the int8 weights (rows j, PyTorch's
// [out, in] layout), both contiguous along r.

// qtile is the largest tile of accumulators a kernel computes at once.
const qtile = 4

// qdotTile sets acc[ii*4+jj] to Σ_r a_ii[r]·b_jj[r] for ii < rows, jj <
// cols, over k elements, a_ii = a[ii*lda:] and b_jj = b[jj*ldb:]; the
// portable form of the assembly kernels, which qdotTileAsm runs when the
// CPU has them.
func qdotTile(acc *[qtile * qtile]int32, k int, a []uint8, lda int, b []int8, ldb int, rows, cols int) {
	if qdotTileAsm(acc, k, a, lda, b, ldb, rows, cols) {
		return
	}
	qdotTileGo(acc, k, a, lda, b, ldb, rows, cols)
}

func qdotTileGo(acc *[qtile * qtile]int32, k int, a []uint8, lda int, b []int8, ldb int, rows, cols int) {
	for ii := range rows {
		ar := a[ii*lda : ii*lda+k]
		for jj := range cols {
			br := b[jj*ldb : jj*ldb+k]
			var s int32
			for r, x := range ar {
				s += int32(x) * int32(br[r])
			}
			acc[ii*qtile+jj] = s
		}
	}
}

// requant is the output stage of an int8 layer: the accumulator plus the
// bias, scaled by mult, rounded half to even, shifted by the output zero
// point and clamped to [lo, 255] (lo is the zero point after a ReLU).
func requant(acc int32, mult float64, zp, lo int32) uint8 {
	q := int32(math.RoundToEven(float64(acc)*mult)) + zp
	return uint8(min(max(q, lo), 255))
}

// QLinear computes an int8 Linear layer into dst (m×n uint8): x is m×k
// uint8 with zero point inZP, w is n×k int8, bias holds n int32 sums
// already corrected for the input zero point (bias − inZP·Σ_r w[j, r]:
// QBias), wscale the n weight scales. The output is requantized to
// outScale and outZP; relu clamps it at the zero point.
func QLinear[T Float](dst, x []uint8, w []int8, bias []int32, wscale []T, m, k, n int, inScale, outScale float64, outZP int, relu bool) {
	need("QLinear", "x", len(x), m*k)
	need("QLinear", "w", len(w), n*k)
	need("QLinear", "bias", len(bias), n)
	need("QLinear", "wscale", len(wscale), n)
	need("QLinear", "dst", len(dst), m*n)
	zp, lo := int32(outZP), int32(0)
	if relu {
		lo = zp
	}
	var acc [qtile * qtile]int32
	for j := 0; j < n; j += qtile {
		cols := min(qtile, n-j)
		for i := 0; i < m; i += qtile {
			rows := min(qtile, m-i)
			qdotTile(&acc, k, x[i*k:], k, w[j*k:], k, rows, cols)
			for jj := range cols {
				mult := inScale * float64(wscale[j+jj]) / outScale
				b := bias[j+jj]
				for ii := range rows {
					dst[(i+ii)*n+j+jj] = requant(acc[ii*qtile+jj]+b, mult, zp, lo)
				}
			}
		}
	}
}

// QLinearFloat is QLinear with a float output: the dequantized sums
// (acc + bias)·inScale·wscale[j], clamped at 0 by relu. It ends the int8
// part of a model, with no separate dequantization.
func QLinearFloat[T Float](dst []T, x []uint8, w []int8, bias []int32, wscale []T, m, k, n int, inScale float64, relu bool) {
	need("QLinearFloat", "x", len(x), m*k)
	need("QLinearFloat", "w", len(w), n*k)
	need("QLinearFloat", "bias", len(bias), n)
	need("QLinearFloat", "wscale", len(wscale), n)
	need("QLinearFloat", "dst", len(dst), m*n)
	var acc [qtile * qtile]int32
	for j := 0; j < n; j += qtile {
		cols := min(qtile, n-j)
		for i := 0; i < m; i += qtile {
			rows := min(qtile, m-i)
			qdotTile(&acc, k, x[i*k:], k, w[j*k:], k, rows, cols)
			for jj := range cols {
				s := inScale * float64(wscale[j+jj])
				b := bias[j+jj]
				for ii := range rows {
					y := T(float64(acc[ii*qtile+jj]+b) * s)
					if relu && y < 0 {
						y = 0
					}
					dst[(i+ii)*n+j+jj] = y
				}
			}
		}
	}
}

// qim2row unfolds image x (C×H×W uint8) into col, one row of C·KH·KW
// bytes per output pixel (the transpose of Conv2d's im2col, so that the
// product runs in the NT form); the padding reads as zp, the input's zero
// point, which stands for 0.
func qim2row(col, x []uint8, s ConvShape, zp uint8) {
	oh, ow := s.OutH(), s.OutW()
	r := s.C * s.KH * s.KW
	for py := range oh {
		for px := range ow {
			row := col[(py*ow+px)*r : (py*ow+px+1)*r]
			t := 0
			for c := range s.C {
				img := x[c*s.H*s.W:]
				for ky := range s.KH {
					y := py*s.Stride + ky - s.Pad
					for kx := range s.KW {
						xx := px*s.Stride + kx - s.Pad
						if y < 0 || y >= s.H || xx < 0 || xx >= s.W {
							row[t] = zp
						} else {
							row[t] = img[y*s.W+xx]
						}
						t++
					}
				}
			}
		}
	}
}

// QConv2d is an int8 Conv2d (shape s, NCHW) into dst (N×K×OutH×OutW
// uint8), requantized as QLinear: x has zero point inZP, w is K×C×KH×KW
// int8, bias the K corrected int32 sums, col scratch of
// OutH·OutW·C·KH·KW bytes.
func QConv2d[T Float](dst, x []uint8, w []int8, bias []int32, wscale []T, col []uint8, s ConvShape, inScale float64, inZP int, outScale float64, outZP int, relu bool) {
	s.check("QConv2d")
	r, p := s.C*s.KH*s.KW, s.OutH()*s.OutW()
	need("QConv2d", "x", len(x), s.N*s.C*s.H*s.W)
	need("QConv2d", "w", len(w), s.K*r)
	need("QConv2d", "bias", len(bias), s.K)
	need("QConv2d", "wscale", len(wscale), s.K)
	need("QConv2d", "col", len(col), r*p)
	need("QConv2d", "dst", len(dst), s.N*s.K*p)
	zp, lo := int32(outZP), int32(0)
	if relu {
		lo = zp
	}
	for img := range s.N {
		qim2row(col, x[img*s.C*s.H*s.W:], s, uint8(inZP))
		out := dst[img*s.K*p : (img+1)*s.K*p]
		var acc [qtile * qtile]int32
		for j := 0; j < s.K; j += qtile {
			cols := min(qtile, s.K-j)
			for i := 0; i < p; i += qtile {
				rows := min(qtile, p-i)
				qdotTile(&acc, r, col[i*r:], r, w[j*r:], r, rows, cols)
				for jj := range cols {
					mult := inScale * float64(wscale[j+jj]) / outScale
					b := bias[j+jj]
					o := out[(j+jj)*p:]
					for ii := range rows {
						o[i+ii] = requant(acc[ii*qtile+jj]+b, mult, zp, lo)
					}
				}
			}
		}
	}
}

// QConv2dFloat is QConv2d with a float output, as QLinearFloat.
func QConv2dFloat[T Float](dst []T, x []uint8, w []int8, bias []int32, wscale []T, col []uint8, s ConvShape, inScale float64, inZP int, relu bool) {
	s.check("QConv2dFloat")
	r, p := s.C*s.KH*s.KW, s.OutH()*s.OutW()
	need("QConv2dFloat", "x", len(x), s.N*s.C*s.H*s.W)
	need("QConv2dFloat", "w", len(w), s.K*r)
	need("QConv2dFloat", "bias", len(bias), s.K)
	need("QConv2dFloat", "wscale", len(wscale), s.K)
	need("QConv2dFloat", "col", len(col), r*p)
	need("QConv2dFloat", "dst", len(dst), s.N*s.K*p)
	for img := range s.N {
		qim2row(col, x[img*s.C*s.H*s.W:], s, uint8(inZP))
		out := dst[img*s.K*p : (img+1)*s.K*p]
		var acc [qtile * qtile]int32
		for j := 0; j < s.K; j += qtile {
			cols := min(qtile, s.K-j)
			for i := 0; i < p; i += qtile {
				rows := min(qtile, p-i)
				qdotTile(&acc, r, col[i*r:], r, w[j*r:], r, rows, cols)
				for jj := range cols {
					sc := inScale * float64(wscale[j+jj])
					b := bias[j+jj]
					o := out[(j+jj)*p:]
					for ii := range rows {
						y := T(float64(acc[ii*qtile+jj]+b) * sc)
						if relu && y < 0 {
							y = 0
						}
						o[i+ii] = y
					}
				}
			}
		}
	}
}

// QMaxPool2d is MaxPool2d over uint8 values: the maximum of each window
// (the order of quantized values is that of the reals they stand for).
func QMaxPool2d(dst, x []uint8, s PoolShape) {
	oh, ow := s.OutH(), s.OutW()
	need("QMaxPool2d", "x", len(x), s.N*s.C*s.H*s.W)
	need("QMaxPool2d", "dst", len(dst), s.N*s.C*oh*ow)
	for nc := range s.N * s.C {
		img, out := x[nc*s.H*s.W:], dst[nc*oh*ow:]
		for py := range oh {
			for px := range ow {
				m := uint8(0)
				for ky := range s.Kernel {
					row := img[(py*s.Stride+ky)*s.W+px*s.Stride:]
					for _, v := range row[:s.Kernel] {
						m = max(m, v)
					}
				}
				out[py*ow+px] = m
			}
		}
	}
}

// Quantize sets dst to x quantized to uint8 with scale and zero point zp:
// clamp(round(x/scale) + zp, 0, 255), rounding half to even.
func Quantize[T Float](dst []uint8, x []T, scale float64, zp int) {
	same("Quantize", "x", len(x), len(dst))
	inv := 1 / scale
	for i, v := range x {
		q := math.RoundToEven(float64(v)*inv) + float64(zp)
		dst[i] = uint8(min(max(q, 0), 255))
	}
}

// Dequantize sets dst to scale·(x − zp).
func Dequantize[T Float](dst []T, x []uint8, scale float64, zp int) {
	same("Dequantize", "x", len(x), len(dst))
	for i, v := range x {
		dst[i] = T(scale * float64(int(v)-zp))
	}
}

// CopyBytes copies x into dst: the reshape of a uint8 value.
func CopyBytes(dst, x []uint8) {
	same("CopyBytes", "x", len(x), len(dst))
	copy(dst, x)
}

// QBias sets dst to the int32 bias of an int8 layer corrected for its
// input's zero point: bias[j] − zp·Σ_r w[j, r] over the k weights of each
// of the len(dst) outputs, so that the product may run on the stored uint8
// activations. The loader runs it once per checkpoint, not per call.
func QBias(dst, bias []int32, w []int8, k, zp int) {
	need("QBias", "w", len(w), len(dst)*k)
	for j := range dst {
		var s int32
		for _, v := range w[j*k : (j+1)*k] {
			s += int32(v)
		}
		var b int32
		if bias != nil {
			b = bias[j]
		}
		dst[j] = b - int32(zp)*s
	}
}
