package kernels

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
)

// TestQConvDirectShapes holds the direct VNNI convolution to the portable
// path and to the float reference (qconvPathsAgree) on the shapes that
// stress its layout: channels not a multiple of four, output channels
// around the 8 and 16 of its blocks, rows of more than one vector and of
// exactly one, strides that split rows into phases, padding wider than
// the kernel's reach.
func TestQConvDirectShapes(t *testing.T) {
	for _, s := range []ConvShape{
		{N: 1, C: 1, H: 28, W: 28, K: 8, KH: 5, KW: 5, Stride: 1, Pad: 2},
		{N: 2, C: 8, H: 14, W: 14, K: 16, KH: 5, KW: 5, Stride: 1, Pad: 0},
		{N: 1, C: 5, H: 6, W: 40, K: 1, KH: 3, KW: 3, Stride: 1, Pad: 1},
		{N: 1, C: 4, H: 5, W: 18, K: 9, KH: 3, KW: 3, Stride: 1, Pad: 0},
		{N: 1, C: 9, H: 4, W: 33, K: 17, KH: 1, KW: 1, Stride: 1, Pad: 0},
		{N: 1, C: 2, H: 7, W: 16, K: 24, KH: 2, KW: 4, Stride: 1, Pad: 3},
		{N: 2, C: 3, H: 11, W: 37, K: 33, KH: 3, KW: 5, Stride: 2, Pad: 2},
		{N: 1, C: 7, H: 10, W: 50, K: 7, KH: 4, KW: 3, Stride: 3, Pad: 1},
		{N: 1, C: 1, H: 1, W: 1, K: 3, KH: 1, KW: 1, Stride: 1, Pad: 0},
		{N: 0, C: 2, H: 5, W: 5, K: 2, KH: 3, KW: 3, Stride: 1, Pad: 1},
		// Words of kernel columns: strided, padded, several columns.
		{N: 1, C: 1, H: 13, W: 29, K: 5, KH: 5, KW: 5, Stride: 2, Pad: 3},
		{N: 2, C: 2, H: 9, W: 21, K: 12, KH: 3, KW: 7, Stride: 3, Pad: 2},
		{N: 1, C: 3, H: 6, W: 19, K: 10, KH: 2, KW: 4, Stride: 1, Pad: 0},
	} {
		qconvPathsAgree(t, s)
		qconvVariantsAgree(t, s)
	}
}

// qconvVariantsAgree requires the same bytes from every path with a ReLU
// (the floor at the output zero point, in the VNNI kernel's store) and the
// same floats from QConv2dFloat.
func qconvVariantsAgree(t *testing.T, s ConvShape) {
	rng := rand.New(rand.NewPCG(15, 16))
	r, p := s.C*s.KH*s.KW, s.OutH()*s.OutW()
	x, w := randQ(rng, s.N*s.C*s.H*s.W/r+1, s.K, r)
	x = x[:s.N*s.C*s.H*s.W]
	bias := make([]int32, s.K)
	for k := range bias {
		bias[k] = int32(rng.IntN(4001) - 2000)
	}
	scale := make([]float32, s.K)
	for k := range scale {
		scale[k] = 0.002 + rng.Float32()*0.01
	}
	cn, sn := QConvScratch(s)
	var ref []uint8
	var refF []float32
	for _, path := range qpaths(t) {
		col, sums := make([]uint8, cn), make([]int32, sn)
		got, gotF := make([]uint8, s.N*s.K*p), make([]float32, s.N*s.K*p)
		path.run(func() []int64 {
			QConv2d(got, x, w, bias, scale, col, sums, s, 0.05, 17, 0.4, 11, true)
			QConv2dFloat(gotF, x, w, bias, scale, col, sums, s, 0.05, 17, true)
			return nil
		})
		if ref == nil {
			ref, refF = got, gotF
			for i, v := range got {
				if v < 11 {
					t.Fatalf("%+v: output %d is %d, under the ReLU's floor 11", s, i, v)
				}
			}
			continue
		}
		if !slices.Equal(got, ref) || !slices.Equal(gotF, refF) {
			t.Fatalf("%s %+v: QConv2d or QConv2dFloat with ReLU differs from the portable path", path.name, s)
		}
	}
}

// TestQConvAllocs: the convolution allocates nothing on any path.
func TestQConvAllocs(t *testing.T) {
	s := ConvShape{N: 2, C: 3, H: 12, W: 20, K: 10, KH: 3, KW: 3, Stride: 1, Pad: 1}
	x, w := randQ(rand.New(rand.NewPCG(1, 1)), s.N*s.C*s.H*s.W/27+1, s.K, 27)
	bias, scale := make([]int32, s.K), make([]float32, s.K)
	dst := make([]uint8, s.N*s.K*s.OutH()*s.OutW())
	cn, sn := QConvScratch(s)
	col, sums := make([]uint8, cn), make([]int32, sn)
	for _, path := range qpaths(t) {
		path.run(func() []int64 {
			if a := testing.AllocsPerRun(10, func() { QConv2d(dst, x, w, bias, scale, col, sums, s, 0.1, 3, 0.2, 4, true) }); a != 0 {
				t.Errorf("%s: QConv2d allocates %v times per call", path.name, a)
			}
			return nil
		})
	}
}

// TestQMaxPool2dPaths holds every path's pooling to MaxPool2d's on the
// dequantized values: rows of more and fewer than the 32 outputs of a
// vector, odd heights and widths (a row or column left over), and windows
// other than 2×2.
func TestQMaxPool2dPaths(t *testing.T) {
	rng := rand.New(rand.NewPCG(13, 14))
	for _, s := range []PoolShape{
		{N: 3, C: 8, H: 28, W: 28, Kernel: 2, Stride: 2},
		{N: 2, C: 3, H: 7, W: 9, Kernel: 2, Stride: 2},
		{N: 1, C: 2, H: 6, W: 130, Kernel: 2, Stride: 2},
		{N: 2, C: 1, H: 5, W: 65, Kernel: 2, Stride: 2},
		{N: 1, C: 1, H: 2, W: 2, Kernel: 2, Stride: 2},
		{N: 1, C: 2, H: 8, W: 8, Kernel: 3, Stride: 2},
		{N: 1, C: 2, H: 9, W: 9, Kernel: 2, Stride: 1},
	} {
		x := make([]uint8, s.N*s.C*s.H*s.W)
		for i := range x {
			x[i] = uint8(rng.IntN(256))
		}
		xf := make([]float32, len(x))
		for i, v := range x {
			xf[i] = float32(v)
		}
		want := make([]float32, s.N*s.C*s.OutH()*s.OutW())
		MaxPool2d(want, make([]int32, len(want)), xf, s)
		for _, path := range qpaths(t) {
			// One byte more than the output, which must stay untouched.
			got := make([]uint8, len(want)+1)
			got[len(want)] = 0xa5
			path.run(func() []int64 { QMaxPool2d(got[:len(want)], x, s); return nil })
			for i := range want {
				if float32(got[i]) != want[i] {
					t.Fatalf("%s %+v: QMaxPool2d[%d] = %d, MaxPool2d %v", path.name, s, i, got[i], want[i])
				}
			}
			if got[len(want)] != 0xa5 {
				t.Fatalf("%s %+v: QMaxPool2d wrote past its output", path.name, s)
			}
		}
	}
}

// TestQConvGeometry counts the direct path's layout and scratch by hand
// for a shape with every kind of padding (channels, phases, blocks), and
// for one whose words are better filled with kernel columns.
func TestQConvGeometry(t *testing.T) {
	s := ConvShape{N: 1, C: 5, H: 7, W: 10, K: 9, KH: 3, KW: 2, Stride: 3, Pad: 1}
	g := qconvGeometry(s)
	// 2 channel groups (5·1 column groups would take 5 taps a row, 2·2
	// take 4), 9 padded rows, 12 padded columns in 3 phases of 4.
	if g.kx || g.groups != 2 || g.kw != 2 || g.hp != 9 || g.wseg != 4 || g.wrow != 12 || g.taps != 12 || g.kpad != 16 {
		t.Fatalf("qconvGeometry(%+v) = %+v", s, g)
	}
	col, sums := QConvScratch(s)
	if wantCol, wantSums := max(3*4*30, 2*9*12*4+64+20+12*16*4), 9*3*4+12+9; col != wantCol || sums != wantSums {
		t.Fatalf("QConvScratch = %d, %d; want %d, %d", col, sums, wantCol, wantSums)
	}
	s = ConvShape{N: 1, C: 1, H: 28, W: 28, K: 8, KH: 5, KW: 5, Stride: 2, Pad: 2}
	g = qconvGeometry(s)
	// Columns 0-3 and 4-7 of each kernel row: 10 taps, not 25.
	if !g.kx || g.groups != 1 || g.kw != 2 || g.taps != 10 || g.wseg != 16 || g.wrow != 32 {
		t.Fatalf("qconvGeometry(%+v) = %+v", s, g)
	}
}

// BenchmarkQConvCNN times the int8 MNIST CNN's two convolutions and
// poolings at batch 64 (examples/mnist_cnn.nn) on this machine's path.
func BenchmarkQConvCNN(b *testing.B) {
	for _, s := range []ConvShape{
		{N: 64, C: 1, H: 28, W: 28, K: 8, KH: 5, KW: 5, Stride: 1, Pad: 2},
		{N: 64, C: 8, H: 14, W: 14, K: 16, KH: 5, KW: 5, Stride: 1, Pad: 0},
	} {
		r, p := s.C*s.KH*s.KW, s.OutH()*s.OutW()
		x, w := randQ(rand.New(rand.NewPCG(1, 2)), s.N*s.C*s.H*s.W/r+1, s.K, r)
		bias, scale := make([]int32, s.K), make([]float32, s.K)
		for k := range scale {
			scale[k] = 0.01
		}
		dst := make([]uint8, s.N*s.K*p)
		cn, sn := QConvScratch(s)
		col, sums := make([]uint8, cn), make([]int32, sn)
		b.Run(fmt.Sprintf("conv/C%d", s.C), func(b *testing.B) {
			for b.Loop() {
				QConv2d(dst, x, w, bias, scale, col, sums, s, 0.02, 3, 0.1, 0, true)
			}
		})
		ps := PoolShape{N: s.N, C: s.K, H: s.OutH(), W: s.OutW(), Kernel: 2, Stride: 2}
		pooled := make([]uint8, s.N*s.K*ps.OutH()*ps.OutW())
		b.Run(fmt.Sprintf("pool/C%d", s.K), func(b *testing.B) {
			for b.Loop() {
				QMaxPool2d(pooled, dst, ps)
			}
		})
	}
}
