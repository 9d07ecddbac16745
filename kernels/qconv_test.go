package kernels

import (
	"math/rand/v2"
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
	} {
		qconvPathsAgree(t, s)
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
// for a shape with every kind of padding (channels, phases, blocks).
func TestQConvGeometry(t *testing.T) {
	s := ConvShape{N: 1, C: 5, H: 7, W: 10, K: 9, KH: 3, KW: 2, Stride: 3, Pad: 1}
	g := qconvGeometry(s)
	// 2 channel groups, 9 padded rows, 12 padded columns in 3 phases of 4.
	if g.c4 != 2 || g.hp != 9 || g.wseg != 4 || g.wrow != 12 || g.taps != 12 || g.kpad != 16 {
		t.Fatalf("qconvGeometry(%+v) = %+v", s, g)
	}
	col, sums := QConvScratch(s)
	if wantCol, wantSums := max(3*4*30, 2*9*12*4+64+12*16*4), 9*3*4+12; col != wantCol || sums != wantSums {
		t.Fatalf("QConvScratch = %d, %d; want %d, %d", col, sums, wantCol, wantSums)
	}
}
