package kernels

import (
	"encoding/binary"
	"math"
)

// QConvScratch returns the sizes of the scratch buffers of QConv2d for
// shape s: in bytes, the unfolded image of the portable path or the
// direct path's laid-out image, padded row and packed weights (qconvGeom),
// whichever is larger; in int32s, the sums of one image, the direct
// path's tap offsets and its K multipliers.
func QConvScratch(s ConvShape) (col, sums int) {
	r, p := s.C*s.KH*s.KW, s.OutH()*s.OutW()
	g := qconvGeometry(s)
	return max(p*r, g.inBytes()+g.rowBytes+g.taps*g.kpad*4), s.K*p + g.taps + s.K
}

// qim2row unfolds image x (C×H×W uint8) into col, one row of C·KH·KW
// bytes per output pixel (the transpose of Conv2d's im2col, so that the
// product runs in the NT form); the padding reads as zp, the input's zero
// point, which stands for 0.
func qim2row(col, x []uint8, s ConvShape, zp uint8) {
	oh, ow := s.OutH(), s.OutW()
	r := s.C * s.KH * s.KW
	t := 0
	for c := range s.C {
		img := x[c*s.H*s.W : (c+1)*s.H*s.W]
		for ky := range s.KH {
			for kx := range s.KW {
				// The pixels whose window reads inside the row: lo ≤ px < hi.
				lo := min(max(0, (s.Pad-kx+s.Stride-1)/s.Stride), ow)
				hi := max(min(ow, (s.W-1+s.Pad-kx)/s.Stride+1), lo)
				for py := range oh {
					y := py*s.Stride + ky - s.Pad
					dst := col[py*ow*r+t:]
					if y < 0 || y >= s.H {
						for px := range ow {
							dst[px*r] = zp
						}
						continue
					}
					row := img[y*s.W : (y+1)*s.W]
					for px := 0; px < lo; px++ {
						dst[px*r] = zp
					}
					for px := lo; px < hi; px++ {
						dst[px*r] = row[px*s.Stride+kx-s.Pad]
					}
					for px := hi; px < ow; px++ {
						dst[px*r] = zp
					}
				}
				t++
			}
		}
	}
}

// The direct path (AVX-512 VNNI) convolves with no unfold. The image is
// laid out padded, four bytes to a 32-bit word, and each row in Stride
// phases: the word of padded column q at (q mod S)·wseg + q/S, so that
// the words under Stride-apart output pixels are consecutive. A word holds
// four channels of one column, or, when that wastes fewer lanes (one
// channel and a kernel five wide: 2 taps a row instead of 5), four
// columns q..q+3 of one channel. The sixteen words at one tap's offset
// from an output pixel's are then the inputs of that tap (word group,
// kernel row, kernel column or group of four) under sixteen consecutive
// output pixels, which VPDPBUSD multiplies by a broadcast word of four
// weights; the accumulators are output channels, their lanes output
// pixels. They are stored as K×P sums, or requantized to the output's
// bytes in the kernel.

// qconvGeom is the direct path's layout for a shape.
type qconvGeom struct {
	kx             bool // words of four columns of one channel, else of four channels of one column
	groups, kw     int  // word groups (C or C/4 rounded up), taps per kernel row (KW/4 rounded up or KW)
	hp, wseg, wrow int  // padded height, words per phase and per row
	taps, kpad     int  // groups·KH·kw taps; K rounded up to 8, the packed weights' channels
	rowBytes       int  // a padded row and 8 bytes
}

func qconvGeometry(s ConvShape) qconvGeom {
	g := qconvGeom{hp: s.H + 2*s.Pad, wseg: (s.W + 2*s.Pad + s.Stride - 1) / s.Stride}
	g.wrow = s.Stride * g.wseg
	c4, kw4 := (s.C+3)/4, (s.KW+3)/4
	if s.C*kw4 < c4*s.KW {
		g.kx, g.groups, g.kw = true, s.C, kw4
	} else {
		g.groups, g.kw = c4, s.KW
	}
	g.taps = g.groups * s.KH * g.kw
	g.kpad = (s.K + 7) / 8 * 8
	g.rowBytes = s.W + 2*s.Pad + 8
	return g
}

// inBytes is the size of the laid-out image with the 64 bytes a vector
// load may read past its last word.
func (g qconvGeom) inBytes() int { return g.groups*g.hp*g.wrow*4 + 64 }

// word returns the index in its row of the word of padded column q.
func (g qconvGeom) word(q, stride int) int { return (q%stride)*g.wseg + q/stride }

// qconvBlock returns the width of the block of output channels from k0 of
// K: 16 (the wide kernel) unless at most 8 are left.
func qconvBlock(k0, k int) int {
	if k-k0 <= 8 {
		return 8
	}
	return 16
}

// qconvPlan is one call's state: the shape, its layout and the scratch.
type qconvPlan struct {
	s      ConvShape
	g      qconvGeom
	direct bool
	col    []uint8 // the unfolded image (portable path)
	in     []uint8 // the laid-out image (direct path)
	row    []uint8 // a padded row of the image, with 8 bytes to spare
	wpack  []uint8 // the packed weights (direct path)
	taps   []int32 // the taps' byte offsets in the laid-out image
	mults  []int32 // the requantization's multipliers, as float32 bits
	maxTap int
}

// newQconvPlan prepares a call of QConv2d on shape s: on the direct path
// it packs the weights, once for the whole batch, as [block][tap][channel
// of the block][4 bytes of the word] bytes, zero past K, C and KW,
// computes the taps' offsets, and fills the laid-out image with zp, the
// input's zero point, for the padding.
func newQconvPlan(w []int8, col []uint8, sums []int32, s ConvShape, zp uint8) qconvPlan {
	pl := qconvPlan{s: s, g: qconvGeometry(s), direct: hasVNNI, col: col}
	if !pl.direct {
		return pl
	}
	g := pl.g
	pl.in = col[:g.inBytes()]
	pl.row = col[len(pl.in) : len(pl.in)+g.rowBytes]
	pl.wpack = col[len(pl.in)+g.rowBytes:][:g.taps*g.kpad*4]
	pl.taps = sums[s.K*s.OutH()*s.OutW():][:g.taps]
	pl.mults = sums[s.K*s.OutH()*s.OutW()+g.taps:][:s.K]
	fillBytes(pl.in, zp)
	fillBytes(pl.row, zp)
	t := 0
	for grp := range g.groups {
		for ky := range s.KH {
			for j := range g.kw {
				q := j
				if g.kx {
					q = 4 * j
				}
				pl.taps[t] = int32(((grp*g.hp+ky)*g.wrow + g.word(q, s.Stride)) * 4)
				pl.maxTap = max(pl.maxTap, int(pl.taps[t]))
				t++
			}
		}
	}
	clear(pl.wpack)
	off := 0
	for k0 := 0; k0 < s.K; k0 += 16 {
		bw := qconvBlock(k0, s.K)
		for k := k0; k < min(k0+bw, s.K); k++ {
			// The weights of k in their order, each row of KW to its
			// words: a word a tap apart (channel words), or four columns
			// to a word (column words).
			src := w[k*s.C*s.KH*s.KW:][:s.C*s.KH*s.KW]
			for c := range s.C {
				for ky := range s.KH {
					row := src[(c*s.KH+ky)*s.KW:][:s.KW]
					if g.kx {
						dst := pl.wpack[off+((c*s.KH+ky)*g.kw*bw+k-k0)*4:]
						for kx, v := range row {
							dst[(kx>>2)*bw*4+kx&3] = byte(v)
						}
						continue
					}
					dst := pl.wpack[off+(((c>>2)*s.KH+ky)*s.KW*bw+k-k0)*4+c&3:]
					for kx, v := range row {
						dst[kx*bw*4] = byte(v)
					}
				}
			}
		}
		off += g.taps * bw * 4
	}
	return pl
}

// layout lays image x (C×H×W) out into pl.in. It writes the image's
// words only: the padding around them, zp, newQconvPlan wrote once for
// the batch.
func (pl *qconvPlan) layout(x []uint8, zp uint8) {
	s, g := pl.s, pl.g
	in := pl.in[:len(pl.in)-64]
	if g.kx {
		// Word q of a row: padded columns q..q+3, read from the padded
		// row.
		pad := pl.row
		for c := range s.C {
			for y := range s.H {
				copy(pad[s.Pad:], x[(c*s.H+y)*s.W:(c*s.H+y+1)*s.W])
				dst := in[(c*g.hp+y+s.Pad)*g.wrow*4:][:g.wrow*4]
				if s.Stride == 1 {
					wp := s.W + 2*s.Pad
					qconvWords(dst, pad, pad[1:], pad[2:], pad[3:], wp)
					continue
				}
				for q := range s.W + 2*s.Pad {
					binary.LittleEndian.PutUint32(dst[g.word(q, s.Stride)*4:], binary.LittleEndian.Uint32(pad[q:]))
				}
			}
		}
		return
	}
	for cg := range g.groups {
		for y := range s.H {
			dst := in[(cg*g.hp+y+s.Pad)*g.wrow*4:][:g.wrow*4]
			if s.Stride == 1 {
				// The group's channels a word at a time (the first again
				// for those past C, whose weights are 0).
				var r [4][]uint8
				for j := range r {
					c := cg*4 + j
					if c >= s.C {
						c = cg * 4
					}
					r[j] = x[(c*s.H+y)*s.W:][:s.W]
				}
				qconvWords(dst[s.Pad*4:], r[0], r[1], r[2], r[3], s.W)
				continue
			}
			for c := cg * 4; c < min(cg*4+4, s.C); c++ {
				row := x[(c*s.H+y)*s.W:][:s.W]
				for i, v := range row {
					dst[g.word(i+s.Pad, s.Stride)*4+c%4] = v
				}
			}
		}
	}
}

// image computes the products of image x with the weights: the K×P sums
// into sums, or with out the requantized bytes (K×P) into out, with the
// corrected bias, pl.mults and the output zero point and floor.
func (pl *qconvPlan) image(sums []int32, out, x []uint8, zp uint8, bias []int32, outZP, lo float32) {
	s, g := pl.s, pl.g
	pl.layout(x, zp)
	oh, ow := s.OutH(), s.OutW()
	p := oh * ow
	for oy := range oh {
		for x0 := 0; x0 < ow; x0 += 16 {
			base := (oy*s.Stride*g.wrow + x0) * 4
			in := pl.in[base : base+pl.maxTap+64]
			off := 0
			for k0 := 0; k0 < s.K; k0 += 16 {
				bw := qconvBlock(k0, s.K)
				nk, n, w := min(bw, s.K-k0), min(16, ow-x0), pl.wpack[off:off+g.taps*bw*4]
				if out != nil {
					qconvTileRequant(in, pl.taps, w, out[k0*p+oy*ow+x0:], p, nk, n, bias[k0:k0+nk], pl.mults[k0:k0+nk], outZP, lo)
				} else {
					qconvTile(in, pl.taps, w, sums[k0*p+oy*ow+x0:], p, nk, n)
				}
				off += g.taps * bw * 4
			}
		}
	}
}

// fillBytes sets every byte of b to v.
func fillBytes(b []byte, v byte) {
	if len(b) == 0 {
		return
	}
	b[0] = v
	for n := 1; n < len(b); n *= 2 {
		copy(b[n:], b[:n])
	}
}

// qconvSums sets sums (K×P) to the products of one image's input with
// the weights: directly on the plan's layout with AVX-512 VNNI, else
// through the unfolded rows and the int8 GEMM's tiles.
func qconvSums(sums []int32, x []uint8, w []int8, pl *qconvPlan, zp uint8) {
	s := pl.s
	r, p := s.C*s.KH*s.KW, s.OutH()*s.OutW()
	if pl.direct {
		pl.image(sums, nil, x, zp, nil, 0, 0)
		return
	}
	col := pl.col
	qim2row(col, x, s, zp)
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
	pl := newQconvPlan(w, col, sums, s, uint8(inZP))
	if pl.direct {
		// The requantization in the kernel's store.
		for k := range s.K {
			pl.mults[k] = int32(math.Float32bits(float32(inScale * float64(wscale[k]) / outScale)))
		}
		for img := range s.N {
			pl.image(nil, dst[img*s.K*p:(img+1)*s.K*p], x[img*s.C*s.H*s.W:], uint8(inZP), bias, zp, lo)
		}
		return
	}
	for img := range s.N {
		qconvSums(sums, x[img*s.C*s.H*s.W:], w, &pl, uint8(inZP))
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
	pl := newQconvPlan(w, col, sums, s, uint8(inZP))
	for img := range s.N {
		qconvSums(sums, x[img*s.C*s.H*s.W:], w, &pl, uint8(inZP))
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
	// With AVX-512, 2×2 windows at stride 2 in one call when the planes
	// are whole pairs of rows (the rows of all planes follow each other),
	// else plane by plane.
	if s.Kernel == 2 && s.Stride == 2 && s.H == 2*oh && qmaxPool2x2Asm(dst, x, s.N*s.C*oh, s.W, ow) {
		return
	}
	for nc := range s.N * s.C {
		img, out := x[nc*s.H*s.W:], dst[nc*oh*ow:]
		if s.Kernel == 2 && s.Stride == 2 {
			if qmaxPool2x2Asm(out[:oh*ow], img, oh, s.W, ow) {
				continue
			}
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
