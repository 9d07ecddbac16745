package kernels

import "fmt"

// PoolShape describes a 2-D max pooling of a batch of NCHW images with a
// square window and no padding, like torch.nn.MaxPool2d(Kernel, Stride).
type PoolShape struct {
	N, C, H, W     int // batch, channels, input height and width
	Kernel, Stride int
}

// OutH returns the height of the output, (H - Kernel)/Stride + 1.
func (s PoolShape) OutH() int { return (s.H-s.Kernel)/s.Stride + 1 }

// OutW returns the width of the output, (W - Kernel)/Stride + 1.
func (s PoolShape) OutW() int { return (s.W-s.Kernel)/s.Stride + 1 }

// check panics unless s describes a pooling with a non-empty output.
func (s PoolShape) check(fn string) {
	if s.N < 0 || s.C < 0 || s.Kernel < 1 || s.Stride < 1 || s.H < s.Kernel || s.W < s.Kernel {
		panic(fmt.Sprintf("kernels.%s: invalid %+v", fn, s))
	}
}

// MaxPool2d sets dst, N×C×OutH×OutW, to the maximum of each window of x,
// N×C×H×W. When idx is not nil it receives, for each output element, the
// index within its H×W plane of the element chosen, as PyTorch's
// return_indices gives: the first maximum of the window in row-major order,
// or its first NaN. MaxPool2d panics on an invalid shape or a slice shorter
// than its shape.
func MaxPool2d[T Float](dst []T, idx []int32, x []T, s PoolShape) {
	s.check("MaxPool2d")
	oh, ow := s.OutH(), s.OutW()
	planes := s.N * s.C
	need("MaxPool2d", "x", len(x), planes*s.H*s.W)
	need("MaxPool2d", "dst", len(dst), planes*oh*ow)
	if idx != nil {
		need("MaxPool2d", "idx", len(idx), planes*oh*ow)
	}
	if s.Kernel == 2 && s.Stride == 2 {
		maxPool2x2(dst, idx, x, planes, s.H, s.W, oh, ow)
		return
	}
	for p := range planes {
		plane := x[p*s.H*s.W : (p+1)*s.H*s.W]
		for i := range oh {
			for j := range ow {
				h0, w0 := i*s.Stride, j*s.Stride
				best := h0*s.W + w0
				m := plane[best]
			window:
				for h := h0; h < h0+s.Kernel; h++ {
					for w := w0; w < w0+s.Kernel; w++ {
						v := plane[h*s.W+w]
						if v > m || v != v {
							m, best = v, h*s.W+w
							if v != v {
								break window
							}
						}
					}
				}
				o := (p*oh+i)*ow + j
				dst[o] = m
				if idx != nil {
					idx[o] = int32(best)
				}
			}
		}
	}
}

// maxPool2x2 is MaxPool2d for 2×2 windows at stride 2, the common case,
// with the window's four values compared in a fixed order: a greater
// value, or the first NaN, wins, as in the general loop.
func maxPool2x2[T Float](dst []T, idx []int32, x []T, planes, h, w, oh, ow int) {
	for p := range planes {
		plane := x[p*h*w : (p+1)*h*w]
		for i := range oh {
			r0 := plane[2*i*w : 2*i*w+w]
			r1 := plane[(2*i+1)*w : (2*i+1)*w+w]
			o := (p*oh + i) * ow
			out := dst[o : o+ow]
			if d32, ok := any(out).([]float32); ok {
				var ix []int32
				if idx != nil {
					ix = idx[o : o+ow]
				}
				if maxPool2x2Rows32(d32, ix, any(r0).([]float32), any(r1).([]float32), ow, 2*i*w, w) {
					continue
				}
			}
			for j := range out {
				win := [4]T{r0[2*j], r0[2*j+1], r1[2*j], r1[2*j+1]}
				// Without branches (random data defeats prediction): v
				// takes over when greater, or NaN while m is not.
				at := 0
				for q := 1; q < 4; q++ {
					v, m := win[q], win[at]
					take := b2i(v > m) | b2i(v != v)&^b2i(m != m)
					at += take * (q - at)
				}
				m := win[at]
				if idx != nil {
					idx[o+j] = int32((2*i+at>>1)*w + 2*j + at&1)
				}
				out[j] = m
			}
		}
	}
}

// b2i is 1 for true and 0 for false (a SETcc, not a branch).
func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// MaxPool2dBackward routes dy, the N×C×OutH×OutW gradient of MaxPool2d's
// output, to the elements idx recorded in the forward pass: dx (N×C×H×W) is
// zero except there, where the gradients of overlapping windows add up.
// MaxPool2dBackward panics on an invalid shape or a slice shorter than its
// shape.
func MaxPool2dBackward[T Float](dx, dy []T, idx []int32, s PoolShape) {
	s.check("MaxPool2dBackward")
	ohw := s.OutH() * s.OutW()
	planes := s.N * s.C
	need("MaxPool2dBackward", "dx", len(dx), planes*s.H*s.W)
	need("MaxPool2dBackward", "dy", len(dy), planes*ohw)
	need("MaxPool2dBackward", "idx", len(idx), planes*ohw)
	clear(dx[:planes*s.H*s.W])
	for p := range planes {
		plane := dx[p*s.H*s.W : (p+1)*s.H*s.W]
		for o, g := range dy[p*ohw : (p+1)*ohw] {
			plane[idx[p*ohw+o]] += g
		}
	}
}
