package kernels

import (
	"math/rand/v2"
	"testing"
)

// BenchmarkConvNDvsConv2d runs ONNX's general Conv (ConvND) and the 2-D
// layer's kernel (Conv2d) on the same LeNet-sized convolution, to report
// the general form's cost as a ratio; a depth-wise one runs ConvND alone.
func BenchmarkConvNDvsConv2d(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 1))
	const n, c, h, k, m = 32, 6, 14, 5, 16
	x, w, bias := make([]float32, n*c*h*h), make([]float32, m*c*k*k), make([]float32, m)
	for i := range x {
		x[i] = r.Float32()
	}
	for i := range w {
		w[i] = r.Float32()
	}
	cs := ConvShape{N: n, C: c, H: h, W: h, K: m, KH: k, KW: k, Stride: 1, Pad: 0}
	y := make([]float32, n*m*cs.OutH()*cs.OutW())
	b.Run("Conv2d", func(b *testing.B) {
		col := make([]float32, cs.ColSize())
		for b.Loop() {
			Conv2d(y, x, w, bias, col, cs)
		}
	})
	b.Run("ConvND", func(b *testing.B) {
		g := []int{2, c, m, 1, h, h, k, k, h - k + 1, h - k + 1, 1, 1, 0, 0, 1, 1}
		col := make([]float32, ConvColSize(g))
		for b.Loop() {
			ConvND(y, x, w, bias, col, n, g)
		}
	})
	b.Run("ConvND_depthwise", func(b *testing.B) {
		g := []int{2, c, c, c, h, h, 3, 3, h, h, 1, 1, 1, 1, 1, 1}
		dw := make([]float32, c*9)
		yd := make([]float32, n*c*h*h)
		col := make([]float32, ConvColSize(g))
		for b.Loop() {
			ConvND(yd, x, dw, nil, col, n, g)
		}
	})
}
