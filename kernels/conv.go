package kernels

import "fmt"

// ConvShape describes a 2-D convolution of a batch of NCHW images, like
// torch.nn.Conv2d with the same stride and zero padding along both axes.
type ConvShape struct {
	N, C, H, W  int // batch, input channels, input height and width
	K           int // output channels
	KH, KW      int // kernel height and width
	Stride, Pad int
}

// OutH returns the height of the output, (H + 2·Pad - KH)/Stride + 1.
func (s ConvShape) OutH() int { return (s.H+2*s.Pad-s.KH)/s.Stride + 1 }

// OutW returns the width of the output, (W + 2·Pad - KW)/Stride + 1.
func (s ConvShape) OutW() int { return (s.W+2*s.Pad-s.KW)/s.Stride + 1 }

// ColSize returns the number of elements of the im2col buffer of Conv2d
// and Conv2dBackward: C·KH·KW rows of OutH·OutW, for one image.
func (s ConvShape) ColSize() int { return s.C * s.KH * s.KW * s.OutH() * s.OutW() }

// check panics unless s describes a convolution with a non-empty output.
func (s ConvShape) check(fn string) {
	if s.N < 0 || s.C < 1 || s.H < 1 || s.W < 1 || s.K < 1 || s.KH < 1 || s.KW < 1 || s.Stride < 1 || s.Pad < 0 ||
		s.H+2*s.Pad < s.KH || s.W+2*s.Pad < s.KW {
		panic(fmt.Sprintf("kernels.%s: invalid %+v", fn, s))
	}
}

// Conv2d computes the convolution described by s (cross-correlation, as
// in PyTorch): x is N×C×H×W, w is K×C×KH×KW, b has K elements or is nil, and
// dst is N×K×OutH×OutW. col is scratch space of s.ColSize() elements; the
// product runs as one Gemm per image on its im2col matrix. Conv2d panics on
// an invalid shape or a slice shorter than its shape.
func Conv2d[T Float](dst, x, w, b, col []T, s ConvShape) {
	s.check("Conv2d")
	ckk, ohw := s.C*s.KH*s.KW, s.OutH()*s.OutW()
	need("Conv2d", "x", len(x), s.N*s.C*s.H*s.W)
	need("Conv2d", "w", len(w), s.K*ckk)
	need("Conv2d", "dst", len(dst), s.N*s.K*ohw)
	need("Conv2d", "col", len(col), ckk*ohw)
	if b != nil {
		need("Conv2d", "b", len(b), s.K)
	}
	for n := range s.N {
		im2col(col, x[n*s.C*s.H*s.W:], s)
		out := dst[n*s.K*ohw : (n+1)*s.K*ohw]
		Gemm(false, false, s.K, ohw, ckk, 1, w, ckk, col, ohw, 0, out, ohw)
		if b != nil {
			for k, v := range b[:s.K] {
				row := out[k*ohw : (k+1)*ohw]
				for i := range row {
					row[i] += v
				}
			}
		}
	}
}

// Conv2dBackward computes the gradients of Conv2d from dy, the
// N×K×OutH×OutW gradient of its output: dx (N×C×H×W) with respect to x, dw
// (K×C×KH×KW) with respect to w and db (K) with respect to b. Any of them
// may be nil to skip it; the others are overwritten. col is scratch space
// of s.ColSize() elements. Conv2dBackward panics on an invalid shape or a
// slice shorter than its shape.
func Conv2dBackward[T Float](dx, dw, db, dy, x, w, col []T, s ConvShape) {
	s.check("Conv2dBackward")
	ckk, ohw := s.C*s.KH*s.KW, s.OutH()*s.OutW()
	need("Conv2dBackward", "dy", len(dy), s.N*s.K*ohw)
	need("Conv2dBackward", "col", len(col), ckk*ohw)
	if dx != nil {
		need("Conv2dBackward", "dx", len(dx), s.N*s.C*s.H*s.W)
		need("Conv2dBackward", "w", len(w), s.K*ckk)
		clear(dx[:s.N*s.C*s.H*s.W])
	}
	if dw != nil {
		need("Conv2dBackward", "dw", len(dw), s.K*ckk)
		need("Conv2dBackward", "x", len(x), s.N*s.C*s.H*s.W)
		clear(dw[:s.K*ckk])
	}
	if db != nil {
		need("Conv2dBackward", "db", len(db), s.K)
		clear(db[:s.K])
	}
	for n := range s.N {
		g := dy[n*s.K*ohw : (n+1)*s.K*ohw]
		if db != nil {
			for k := range s.K {
				db[k] += T(sum64(g[k*ohw : (k+1)*ohw]))
			}
		}
		if dw != nil {
			im2col(col, x[n*s.C*s.H*s.W:], s)
			Gemm(false, true, s.K, ckk, ohw, 1, g, ohw, col, ohw, 1, dw, ckk)
		}
		if dx != nil {
			Gemm(true, false, ckk, ohw, s.K, 1, w, ckk, g, ohw, 0, col, ohw)
			col2im(dx[n*s.C*s.H*s.W:], col, s)
		}
	}
}

// im2col lays out the patches of one C×H×W image x as the columns of col,
// a (C·KH·KW)×(OutH·OutW) matrix; taps in the padding are zero.
func im2col[T Float](col, x []T, s ConvShape) {
	oh, ow := s.OutH(), s.OutW()
	r := 0
	for c := range s.C {
		plane := x[c*s.H*s.W : (c+1)*s.H*s.W]
		for kh := range s.KH {
			for kw := range s.KW {
				row := col[r*oh*ow : (r+1)*oh*ow]
				r++
				if s.Stride == 1 {
					if r32, ok := any(row).([]float32); ok && im2colBlock32(r32, any(plane).([]float32), oh, ow, s.H, s.W, kh, kw, s.Pad) {
						continue
					}
				}
				lo, hi := validCols(ow, s.W, s.Stride, kw-s.Pad)
				for i := range oh {
					out := row[i*ow : (i+1)*ow]
					h := i*s.Stride - s.Pad + kh
					if h < 0 || h >= s.H {
						clear(out)
						continue
					}
					src := plane[h*s.W : (h+1)*s.W]
					clear(out[:lo])
					clear(out[hi:])
					if s.Stride == 1 {
						copy(out[lo:hi], src[lo+kw-s.Pad:])
						continue
					}
					for j := lo; j < hi; j++ {
						out[j] = src[j*s.Stride+kw-s.Pad]
					}
				}
			}
		}
	}
}

// validCols returns the range [lo, hi) of output columns j < ow whose
// input column j·stride + off lies in [0, w); hi ≥ lo.
func validCols(ow, w, stride, off int) (lo, hi int) {
	// j·stride + off ≥ 0  ⟺  j ≥ ⌈-off/stride⌉
	if off < 0 {
		lo = (-off + stride - 1) / stride
	}
	// j·stride + off < w  ⟺  j < ⌈(w - off)/stride⌉
	hi = min(ow, max(0, (w-off+stride-1)/stride))
	return min(lo, hi), hi
}

// col2im adds the columns of col, laid out as by im2col, back into the
// C×H×W image dx: the adjoint of im2col.
func col2im[T Float](dx, col []T, s ConvShape) {
	oh, ow := s.OutH(), s.OutW()
	r := 0
	for c := range s.C {
		plane := dx[c*s.H*s.W : (c+1)*s.H*s.W]
		if s.Stride == 1 {
			blocks := col[r*oh*ow : (r+s.KH*s.KW)*oh*ow]
			if p32, ok := any(plane).([]float32); ok && col2imPlane32(p32, any(blocks).([]float32), oh, ow, s.H, s.W, s.KH, s.KW, s.Pad) {
				r += s.KH * s.KW
				continue
			}
		}
		for kh := range s.KH {
			for kw := range s.KW {
				row := col[r*oh*ow : (r+1)*oh*ow]
				r++
				if s.Stride == 1 {
					if p32, ok := any(plane).([]float32); ok && col2imBlock32(p32, any(row).([]float32), oh, ow, s.H, s.W, kh, kw, s.Pad) {
						continue
					}
				}
				lo, hi := validCols(ow, s.W, s.Stride, kw-s.Pad)
				for i := range oh {
					h := i*s.Stride - s.Pad + kh
					if h < 0 || h >= s.H {
						continue
					}
					dst := plane[h*s.W : (h+1)*s.W]
					g := row[i*ow : (i+1)*ow]
					if s.Stride == 1 {
						AddTo(dst[lo+kw-s.Pad:hi+kw-s.Pad], g[lo:hi])
						continue
					}
					for j := lo; j < hi; j++ {
						dst[j*s.Stride+kw-s.Pad] += g[j]
					}
				}
			}
		}
	}
}
