package kernels

import (
	"encoding/binary"
	"unsafe"
)

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

// requant is the output stage of an int8 layer, in float32: the
// accumulator (with the bias) scaled by mult and shifted by the output
// zero point zp, clamped to [lo, 255] (lo is the zero point after a ReLU)
// and rounded half to even (adding and taking away 2²³). requantRow's
// assembly computes the same.
func requant(acc int32, mult, zp, lo float32) uint8 {
	f := float32(float32(acc)*mult) + zp
	f = min(max(f, lo), 255)
	return uint8(int32(float32(f+0x1p23)) - 0x800000)
}

// requantRow sets dst[i] to requant(acc[i]+bias, ...).
func requantRow(dst []uint8, acc []int32, bias int32, mult, zp, lo float32) {
	if requantRowAsm(dst, acc, bias, mult, zp, lo) {
		return
	}
	for i, a := range acc {
		dst[i] = requant(a+bias, mult, zp, lo)
	}
}

// packRows packs the n rows of k bytes of src (stride ld) as column blocks
// for the broadcast kernels: dst[((c/16)·k4 + r/4)·64 + (c%16)·4 + r%4] =
// src[c·ld + r], zero past n and k; dst holds a whole number of pairs of
// blocks.
func packRows(dst, src []byte, n, k, ld int) {
	k4 := (k + 3) / 4
	clear(dst)
	full := k / 4
	for c := range n {
		blk := dst[(c/16)*k4*64+(c%16)*4:]
		row := src[c*ld : c*ld+k]
		// Four bytes at a time, the groups being four bytes apart in
		// the row and 64 in the block.
		for g := range full {
			binary.LittleEndian.PutUint32(blk[g*64:], binary.LittleEndian.Uint32(row[g*4:]))
		}
		for r := full * 4; r < k; r++ {
			blk[(r/4)*64+r%4] = row[r]
		}
	}
}

// int8Bytes views w as bytes.
func int8Bytes(w []int8) []byte {
	if len(w) == 0 {
		return nil
	}
	return unsafe.Slice((*byte)(unsafe.Pointer(&w[0])), len(w))
}

// QConvScratch returns the sizes of the scratch buffers of QConv2d for
// one image of shape s: the unfolded input, the padded weights and the
// padded image in bytes, and the int32 sums.
func QConvScratch(s ConvShape) (col, sums int) {
	r, p := s.C*s.KH*s.KW, s.OutH()*s.OutW()
	k4 := (r + 3) / 4
	return max(p*r, (p+31)/32*32*k4*4) + s.K*k4*4 + s.C*(s.H+2*s.Pad)*(s.W+2*s.Pad), s.K * p
}

// qim2row unfolds image x (C×H×W uint8) into col, one row of C·KH·KW
// bytes per output pixel (the transpose of Conv2d's im2col, so that the
// product runs in the NT form); the padding reads as zp, the input's zero
// point, which stands for 0. With packed, the rows are laid out as the
// broadcast kernels read columns (packRows's layout).
func qim2row(col, x []uint8, s ConvShape, zp uint8, packed bool) {
	oh, ow := s.OutH(), s.OutW()
	r := s.C * s.KH * s.KW
	k4 := (r + 3) / 4
	// Pixel p's element t goes to (p>>sh)·a + (p&mask)·b + off(t).
	sh, a, mask, b := 0, r, 0, 0
	if packed {
		sh, a, mask, b = 4, k4*64, 15, 4
	}
	t := 0
	for c := range s.C {
		img := x[c*s.H*s.W : (c+1)*s.H*s.W]
		for ky := range s.KH {
			for kx := range s.KW {
				off := t
				if packed {
					off = (t>>2)*64 + t&3
				}
				// The pixels whose window reads inside the row: lo ≤ px < hi.
				lo := min(max(0, (s.Pad-kx+s.Stride-1)/s.Stride), ow)
				hi := max(min(ow, (s.W-1+s.Pad-kx)/s.Stride+1), lo)
				for py := range oh {
					y := py*s.Stride + ky - s.Pad
					base := py * ow
					if y < 0 || y >= s.H {
						for px := range ow {
							col[((base+px)>>sh)*a+((base+px)&mask)*b+off] = zp
						}
						continue
					}
					row := img[y*s.W : (y+1)*s.W]
					for px := 0; px < lo; px++ {
						col[((base+px)>>sh)*a+((base+px)&mask)*b+off] = zp
					}
					for px := lo; px < hi; px++ {
						col[((base+px)>>sh)*a+((base+px)&mask)*b+off] = row[px*s.Stride+kx-s.Pad]
					}
					for px := hi; px < ow; px++ {
						col[((base+px)>>sh)*a+((base+px)&mask)*b+off] = zp
					}
				}
				t++
			}
		}
	}
}

// qim2rowPacked is qim2row into the packed layout: the interior pixels,
// whose windows need no padding, four elements to a 32-bit word from
// offsets computed once; the border through qim2row's general loop. delta
// is scratch of k4·4 ints... kept on the stack for windows up to 1024.
func qim2rowPacked(col, x []uint8, s ConvShape, zp uint8) {
	oh, ow := s.OutH(), s.OutW()
	r := s.C * s.KH * s.KW
	k4 := (r + 3) / 4
	var buf [1024]int32
	if k4*4 > len(buf) || (s.H-s.KH+s.Pad)/s.Stride < 0 {
		qim2row(col, x, s, zp, true)
		return
	}
	// delta[t]: the offset of element t from the window's top-left corner
	// (the last group's missing elements read the corner: the padded
	// weights are 0 there).
	delta := buf[:k4*4]
	t := 0
	for c := range s.C {
		for ky := range s.KH {
			for kx := range s.KW {
				delta[t] = int32(c*s.H*s.W + ky*s.W + kx)
				t++
			}
		}
	}
	for ; t < len(delta); t++ {
		delta[t] = 0
	}
	// Interior rows and columns: py·S − Pad ≥ 0 and py·S − Pad + KH ≤ H.
	pyLo := min((s.Pad+s.Stride-1)/s.Stride, oh)
	pyHi := max(min(oh, (s.H-s.KH+s.Pad)/s.Stride+1), pyLo)
	pxLo := min((s.Pad+s.Stride-1)/s.Stride, ow)
	pxHi := max(min(ow, (s.W-s.KW+s.Pad)/s.Stride+1), pxLo)
	qim2rowBorder(col, x, s, zp, pyLo, pyHi, pxLo, pxHi)
	src := x[:s.C*s.H*s.W]
	for py := pyLo; py < pyHi; py++ {
		px := pxLo
		if s.Stride == 1 {
			px = qim2rowRun8(col, src, s, k4, delta, py, pxLo, pxHi)
		}
		for ; px < pxHi; px++ {
			p := py*ow + px
			corner := (py*s.Stride-s.Pad)*s.W + px*s.Stride - s.Pad
			dst := col[(p>>4)*k4*64+(p&15)*4:]
			for g := range k4 {
				d := delta[g*4 : g*4+4]
				w := uint32(src[corner+int(d[0])]) | uint32(src[corner+int(d[1])])<<8 |
					uint32(src[corner+int(d[2])])<<16 | uint32(src[corner+int(d[3])])<<24
				binary.LittleEndian.PutUint32(dst[g*64:], w)
			}
		}
	}
}

// qim2rowRun8 is qim2rowPacked's interior for stride 1, eight pixels of
// row py at a time from px = pxLo: the eight pixels' bytes of one element
// are consecutive in the image, so one 64-bit load gives them, and four
// such loads (a group of four elements) are transposed into the eight
// pixels' 32-bit words with shifts and masks. It returns the first pixel
// it left.
func qim2rowRun8(col, src []uint8, s ConvShape, k4 int, delta []int32, py, pxLo, pxHi int) int {
	const lo8, lo16 = 0x00ff00ff00ff00ff, 0x0000ffff0000ffff
	ow := s.OutW()
	var at [8]int
	px := pxLo
	for ; px+8 <= pxHi; px += 8 {
		corner := (py-s.Pad)*s.W + px - s.Pad
		for j := range at {
			p := py*ow + px + j
			at[j] = (p>>4)*k4*64 + (p&15)*4
		}
		for g := range k4 {
			d := delta[g*4 : g*4+4]
			w0 := binary.LittleEndian.Uint64(src[corner+int(d[0]):])
			w1 := binary.LittleEndian.Uint64(src[corner+int(d[1]):])
			w2 := binary.LittleEndian.Uint64(src[corner+int(d[2]):])
			w3 := binary.LittleEndian.Uint64(src[corner+int(d[3]):])
			// Bytes 2i of w0 and w1 side by side, then bytes 2i+1...
			t0 := w0&lo8 | (w1&lo8)<<8
			t1 := (w0>>8)&lo8 | w1&^lo8
			t2 := w2&lo8 | (w3&lo8)<<8
			t3 := (w2>>8)&lo8 | w3&^lo8
			// ...then the pairs of w2 and w3 beside them: pixels (0, 4),
			// (1, 5), (2, 6), (3, 7) in the halves.
			u0 := t0&lo16 | (t2&lo16)<<16
			u1 := t1&lo16 | (t3&lo16)<<16
			u2 := (t0>>16)&lo16 | t2&^lo16
			u3 := (t1>>16)&lo16 | t3&^lo16
			off := g * 64
			binary.LittleEndian.PutUint32(col[at[0]+off:], uint32(u0))
			binary.LittleEndian.PutUint32(col[at[1]+off:], uint32(u1))
			binary.LittleEndian.PutUint32(col[at[2]+off:], uint32(u2))
			binary.LittleEndian.PutUint32(col[at[3]+off:], uint32(u3))
			binary.LittleEndian.PutUint32(col[at[4]+off:], uint32(u0>>32))
			binary.LittleEndian.PutUint32(col[at[5]+off:], uint32(u1>>32))
			binary.LittleEndian.PutUint32(col[at[6]+off:], uint32(u2>>32))
			binary.LittleEndian.PutUint32(col[at[7]+off:], uint32(u3>>32))
		}
	}
	return px
}

// qim2rowBorder writes the pixels outside [pyLo, pyHi)×[pxLo, pxHi) as
// qim2row does.
func qim2rowBorder(col, x []uint8, s ConvShape, zp uint8, pyLo, pyHi, pxLo, pxHi int) {
	oh, ow := s.OutH(), s.OutW()
	r := s.C * s.KH * s.KW
	k4 := (r + 3) / 4
	for py := range oh {
		for px := range ow {
			if py >= pyLo && py < pyHi && px >= pxLo && px < pxHi {
				continue
			}
			p := py*ow + px
			at := (p>>4)*k4*64 + (p&15)*4
			t := 0
			for c := range s.C {
				img := x[c*s.H*s.W:]
				for ky := range s.KH {
					y := py*s.Stride + ky - s.Pad
					for kx := range s.KW {
						xx := px*s.Stride + kx - s.Pad
						v := zp
						if y >= 0 && y < s.H && xx >= 0 && xx < s.W {
							v = img[y*s.W+xx]
						}
						col[at+(t>>2)*64+t&3] = v
						t++
					}
				}
			}
		}
	}
}

// qconvSums sets sums (K×P) to the products of one image's unfolded
// input with the weights.
func qconvSums(sums []int32, x []uint8, w []int8, col []uint8, s ConvShape, zp uint8) {
	r, p := s.C*s.KH*s.KW, s.OutH()*s.OutW()
	if hasVNNI {
		k4 := (r + 3) / 4
		cp := col[:(p+31)/32*32*k4*4]
		wp := col[len(cp) : len(cp)+s.K*k4*4]
		for k := range s.K {
			row := wp[k*k4*4 : (k+1)*k4*4]
			copy(row, int8Bytes(w[k*r:(k+1)*r]))
			clear(row[r:])
		}
		if s.Pad > 0 {
			// The image padded with zp once, so that every window is
			// inside it.
			hp, wpd := s.H+2*s.Pad, s.W+2*s.Pad
			img := col[len(cp)+len(wp) : len(cp)+len(wp)+s.C*hp*wpd]
			for i := range img {
				img[i] = zp
			}
			for c := range s.C {
				for y := range s.H {
					copy(img[(c*hp+y+s.Pad)*wpd+s.Pad:], x[(c*s.H+y)*s.W:(c*s.H+y+1)*s.W])
				}
			}
			sp := s
			sp.H, sp.W, sp.Pad = hp, wpd, 0
			qim2rowPacked(cp, img, sp, zp)
		} else {
			qim2rowPacked(cp, x, s, zp)
		}
		pb := (p + 15) / 16
		var t [4 * 32]int32
		for k := 0; k < s.K; k += 4 {
			rows := min(4, s.K-k)
			for b := 0; b < pb; b += 2 {
				qbcastTile(&t, true, k4, wp[k*k4*4:], k4*4, rows, cp[b*k4*64:], pb-b)
				cols := min(32, p-b*16)
				for ii := range rows {
					copy(sums[(k+ii)*p+b*16:(k+ii)*p+b*16+cols], t[ii*32:ii*32+cols])
				}
			}
		}
		return
	}
	qim2row(col, x, s, zp, false)
	var t [qtile * qtile]int32
	for j := 0; j < s.K; j += qtile {
		cols := min(qtile, s.K-j)
		for i := 0; i < p; i += qtile {
			rows := min(qtile, p-i)
			qdotTile(&t, r, col[i*r:], r, w[j*r:], r, rows, cols)
			for jj := range cols {
				for ii := range rows {
					sums[(j+jj)*p+i+ii] = t[ii*qtile+jj]
				}
			}
		}
	}
}

func qconvCheck(fn string, dst int, x []uint8, w []int8, bias []int32, wscale int, col []uint8, sums []int32, s ConvShape) {
	s.check(fn)
	r, p := s.C*s.KH*s.KW, s.OutH()*s.OutW()
	c, sm := QConvScratch(s)
	need(fn, "x", len(x), s.N*s.C*s.H*s.W)
	need(fn, "w", len(w), s.K*r)
	need(fn, "bias", len(bias), s.K)
	need(fn, "wscale", wscale, s.K)
	need(fn, "col", len(col), c)
	need(fn, "sums", len(sums), sm)
	need(fn, "dst", dst, s.N*s.K*p)
}

// QConv2d is an int8 Conv2d (shape s, NCHW) into dst (N×K×OutH×OutW
// uint8), requantized as QLinear: x has zero point inZP, w is K×C×KH×KW
// int8, bias the K corrected int32 sums, col and sums scratch of the sizes
// QConvScratch gives.
func QConv2d[T Float](dst, x []uint8, w []int8, bias []int32, wscale []T, col []uint8, sums []int32, s ConvShape, inScale float64, inZP int, outScale float64, outZP int, relu bool) {
	qconvCheck("QConv2d", len(dst), x, w, bias, len(wscale), col, sums, s)
	p := s.OutH() * s.OutW()
	zp, lo := float32(outZP), float32(0)
	if relu {
		lo = zp
	}
	for img := range s.N {
		qconvSums(sums, x[img*s.C*s.H*s.W:], w, col, s, uint8(inZP))
		out := dst[img*s.K*p : (img+1)*s.K*p]
		for k := range s.K {
			mult := float32(inScale * float64(wscale[k]) / outScale)
			requantRow(out[k*p:(k+1)*p], sums[k*p:(k+1)*p], bias[k], mult, zp, lo)
		}
	}
}

// QConv2dFloat is QConv2d with a float output, as QLinearFloat.
func QConv2dFloat[T Float](dst []T, x []uint8, w []int8, bias []int32, wscale []T, col []uint8, sums []int32, s ConvShape, inScale float64, inZP int, relu bool) {
	qconvCheck("QConv2dFloat", len(dst), x, w, bias, len(wscale), col, sums, s)
	p := s.OutH() * s.OutW()
	for img := range s.N {
		qconvSums(sums, x[img*s.C*s.H*s.W:], w, col, s, uint8(inZP))
		out := dst[img*s.K*p : (img+1)*s.K*p]
		for k := range s.K {
			sc := inScale * float64(wscale[k])
			b := bias[k]
			for i, a := range sums[k*p : (k+1)*p] {
				y := T(float64(a+b) * sc)
				if relu && y < 0 {
					y = 0
				}
				out[k*p+i] = y
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
		if s.Kernel == 2 && s.Stride == 2 {
			for py := range oh {
				r0, r1 := img[2*py*s.W:2*py*s.W+2*ow], img[(2*py+1)*s.W:(2*py+1)*s.W+2*ow]
				o := out[py*ow : (py+1)*ow]
				for px := range o {
					o[px] = max(r0[2*px], r0[2*px+1], r1[2*px], r1[2*px+1])
				}
			}
			continue
		}
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
// clamp(x/scale + zp, 0, 255) rounded half to even, in float32 (the
// rounding adds and takes away 2²³, whose float32 neighbours are 1 apart).
func Quantize[T Float](dst []uint8, x []T, scale float64, zp int) {
	same("Quantize", "x", len(x), len(dst))
	inv, z := float32(1/scale), float32(zp)
	done := 0
	if x32, ok := any(x).([]float32); ok {
		done = quantize32(dst, x32, inv, z)
	}
	for i := done; i < len(x); i++ {
		f := float32(float32(x[i])*inv) + z
		f = min(max(f, 0), 255)
		dst[i] = uint8(int32(float32(f+0x1p23)) - 0x800000)
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
