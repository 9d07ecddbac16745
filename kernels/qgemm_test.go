package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// qref is Σ_r a[i, r]·b[j, r] in int64, the reference of every path.
func qref(m, n, k int, a []uint8, b []int8) []int64 {
	out := make([]int64, m*n)
	for i := range m {
		for j := range n {
			var s int64
			for r := range k {
				s += int64(a[i*k+r]) * int64(b[j*k+r])
			}
			out[i*n+j] = s
		}
	}
	return out
}

func randQ(rng *rand.Rand, m, n, k int) ([]uint8, []int8) {
	a := make([]uint8, m*k)
	b := make([]int8, n*k)
	for i := range a {
		a[i] = uint8(rng.IntN(256))
	}
	for i := range b {
		b[i] = int8(rng.IntN(255) - 127)
	}
	// The extremes, where a saturating path would be wrong.
	if len(a) > 0 {
		a[0], b[0] = 255, -127
	}
	return a, b
}

// qgemmAll returns the accumulators of the product through qgemm.
func qgemmAll(m, n, k int, a []uint8, b []int8) []int64 {
	out := make([]int64, m*n)
	var acc [qtile * qtile]int32
	for j := 0; j < n; j += qtile {
		cols := min(qtile, n-j)
		for i := 0; i < m; i += qtile {
			rows := min(qtile, m-i)
			qdotTile(&acc, k, a[i*k:], k, b[j*k:], k, rows, cols)
			for ii := range rows {
				for jj := range cols {
					out[(i+ii)*n+j+jj] = int64(acc[ii*qtile+jj])
				}
			}
		}
	}
	return out
}

// TestQGemmPaths holds every int8 path to the exact integer sums, on
// awkward sizes: k not a multiple of any vector width, m and n not of the
// tile's.
func TestQGemmPaths(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, path := range qpaths(t) {
		for _, k := range []int{1, 3, 15, 16, 17, 31, 63, 64, 65, 127, 129, 200, 255, 789} {
			for _, mn := range [][2]int{{1, 1}, {1, 5}, {2, 3}, {3, 7}, {4, 4}, {5, 9}, {7, 13}, {9, 2}} {
				m, n := mn[0], mn[1]
				a, b := randQ(rng, m, n, k)
				want := qref(m, n, k, a, b)
				got := path.run(func() []int64 { return qgemmAll(m, n, k, a, b) })
				if !slices.Equal(got, want) {
					t.Fatalf("%s: m=%d n=%d k=%d: got %v, want %v", path.name, m, n, k, got, want)
				}
			}
		}
	}
}

// TestQLinearPathsAgree requires the int8 layers to give the same bytes
// and floats on every path, and those of the exact sums (qref) through
// requant: awkward sizes (k not a multiple of four, n not of 16 or of a
// group, m not of the kernels' six rows) and the MLP's.
func TestQLinearPathsAgree(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, sz := range [][3]int{{1, 784, 128}, {3, 129, 10}, {17, 65, 7}, {6, 5, 3}, {16, 784, 128}, {33, 130, 33}, {19, 3, 17},
		{256, 128, 10}, {2, 13, 37}, {7, 1, 65}, {13, 66, 129}, {5, 4, 80}, {1, 2, 1}, {12, 9, 64}} {
		m, k, n := sz[0], sz[1], sz[2]
		x, w := randQ(rng, m, n, k)
		bias := make([]int32, n)
		scale := make([]float32, n)
		for j := range n {
			bias[j] = int32(rng.IntN(20001) - 10000)
			scale[j] = 0.001 + rng.Float32()*0.01
		}
		np, kp := QPackedShape(n, k)
		wp := make([]int8, np*kp)
		QPackLinear(wp, w, n, k)
		back := make([]int8, n*k)
		QUnpackLinear(back, wp, n, k)
		if !slices.Equal(back, w) {
			t.Fatalf("%dx%d: QUnpackLinear does not give back the weights QPackLinear packed", n, k)
		}
		sums := qref(m, n, k, x, w)
		want, wantF := make([]uint8, m*n), make([]float32, m*n)
		for i := range m {
			for j := range n {
				a := int32(sums[i*n+j]) + bias[j]
				want[i*n+j] = requant(a, float32(0.02*float64(scale[j])/0.5), 7, 7)
				wantF[i*n+j] = float32(float64(a) * (0.02 * float64(scale[j])))
			}
		}
		for _, path := range qpaths(t) {
			got := make([]uint8, m*n)
			gotF := make([]float32, m*n)
			xpad := make([]uint8, QLinearScratch(m, k))
			path.run(func() []int64 {
				QLinear(got, x, wp, bias, scale, xpad, m, k, n, 0.02, 0.5, 7, true)
				QLinearFloat(gotF, x, wp, bias, scale, xpad, m, k, n, 0.02, false)
				return nil
			})
			if !slices.Equal(got, want) || !slices.Equal(gotF, wantF) {
				t.Fatalf("%s: %dx%dx%d differs from the exact sums requantized", path.name, m, k, n)
			}
		}
	}
}

func TestQConvPathsAgree(t *testing.T) {
	for _, s := range []ConvShape{
		{N: 2, C: 3, H: 9, W: 7, K: 5, KH: 3, KW: 3, Stride: 2, Pad: 1},
		{N: 1, C: 1, H: 12, W: 11, K: 8, KH: 5, KW: 5, Stride: 1, Pad: 2},
		{N: 2, C: 8, H: 14, W: 14, K: 16, KH: 5, KW: 5, Stride: 1, Pad: 0},
		{N: 1, C: 2, H: 5, W: 6, K: 3, KH: 2, KW: 2, Stride: 3, Pad: 1},
		// Interior rows of 8k+5 pixels and groups that straddle channels.
		{N: 2, C: 3, H: 7, W: 30, K: 4, KH: 3, KW: 2, Stride: 1, Pad: 0},
		{N: 1, C: 2, H: 9, W: 21, K: 17, KH: 3, KW: 3, Stride: 1, Pad: 1},
	} {
		qconvPathsAgree(t, s)
	}
}

func qconvPathsAgree(t *testing.T, s ConvShape) {
	rng := rand.New(rand.NewPCG(5, 6))
	r, p := s.C*s.KH*s.KW, s.OutH()*s.OutW()
	x, w := randQ(rng, s.N*s.C*s.H*s.W/r+1, s.K, r)
	x = x[:s.N*s.C*s.H*s.W]
	bias := make([]int32, s.K)
	QBias(bias, nil, w, r, 9)
	scale := make([]float32, s.K)
	for j := range scale {
		scale[j] = 0.01
	}
	cn, sn := QConvScratch(s)
	col, sums := make([]uint8, cn), make([]int32, sn)
	var ref []uint8
	for _, path := range qpaths(t) {
		got := make([]uint8, s.N*s.K*p)
		path.run(func() []int64 { QConv2d(got, x, w, bias, scale, col, sums, s, 0.02, 9, 0.3, 3, false); return nil })
		if ref == nil {
			ref = got
		} else if !slices.Equal(got, ref) {
			t.Fatalf("%s: QConv2d differs from the portable path", path.name)
		}
	}
	// The convolution against the float one on the dequantized values.
	xf := make([]float64, len(x))
	for i, v := range x {
		xf[i] = float64(int(v) - 9)
	}
	for img := range s.N {
		for k := range s.K {
			for oy := range s.OutH() {
				for ox := range s.OutW() {
					var acc float64
					for c := range s.C {
						for ky := range s.KH {
							for kx := range s.KW {
								y, xx := oy*s.Stride+ky-s.Pad, ox*s.Stride+kx-s.Pad
								if y >= 0 && y < s.H && xx >= 0 && xx < s.W {
									acc += xf[((img*s.C+c)*s.H+y)*s.W+xx] * float64(w[((k*s.C+c)*s.KH+ky)*s.KW+kx])
								}
							}
						}
					}
					want := requant(int32(acc), float32(0.02*float64(float32(0.01))/0.3), 3, 0)
					if got := ref[((img*s.K+k)*s.OutH()+oy)*s.OutW()+ox]; got != want {
						t.Fatalf("QConv2d at %d,%d,%d,%d: %d, want %d", img, k, oy, ox, got, want)
					}
				}
			}
		}
	}
}

func TestQLinearAllocs(t *testing.T) {
	m, k, n := 4, 100, 9
	x, w := randQ(rand.New(rand.NewPCG(1, 1)), m, n, k)
	bias, scale := make([]int32, n), make([]float32, n)
	dst := make([]uint8, m*n)
	np, kp := QPackedShape(n, k)
	wp, xpad := make([]int8, np*kp), make([]uint8, QLinearScratch(m, k))
	QPackLinear(wp, w, n, k)
	if a := testing.AllocsPerRun(10, func() { QLinear(dst, x, wp, bias, scale, xpad, m, k, n, 1, 1, 0, false) }); a != 0 {
		t.Errorf("QLinear allocates %v times per call", a)
	}
	f := make([]float32, m*n)
	if a := testing.AllocsPerRun(10, func() { QLinearFloat(f, x, wp, bias, scale, xpad, m, k, n, 1, false) }); a != 0 {
		t.Errorf("QLinearFloat allocates %v times per call", a)
	}
}

type qpath struct {
	name string
	run  func(func() []int64) []int64
}

// qpaths are the int8 paths this machine can run: the portable Go always,
// and the assembly kernels when the CPU has them.
func qpaths(t *testing.T) []qpath {
	ps := []qpath{{"portable", func(f func() []int64) []int64 {
		saved, saved2 := hasVNNI, hasAVX2
		hasVNNI, hasAVX2 = false, false
		defer func() { hasVNNI, hasAVX2 = saved, saved2 }()
		return f()
	}}}
	if hasAVX2 {
		ps = append(ps, qpath{"avx2", func(f func() []int64) []int64 {
			saved, saved2 := hasVNNI, hasAVX512
			hasVNNI, hasAVX512 = false, false
			defer func() { hasVNNI, hasAVX512 = saved, saved2 }()
			return f()
		}})
	} else {
		t.Logf("this build or CPU has no AVX2: its int8 path is not checked")
	}
	if hasVNNI {
		ps = append(ps, qpath{"avx512-vnni", func(f func() []int64) []int64 { return f() }})
	} else {
		t.Logf("this build or CPU has no AVX-512 VNNI: its int8 path is not checked")
	}
	return ps
}

func TestQuantizeRounding(t *testing.T) {
	x := []float32{-1, 0, 0.5, 1.5, 2.5, 3.49, 254.5, 255.6, 1e9, -1e9}
	dst := make([]uint8, len(x))
	Quantize(dst, x, 1, 0)
	want := []uint8{0, 0, 0, 2, 2, 3, 254, 255, 255, 0}
	if !slices.Equal(dst, want) {
		t.Errorf("Quantize = %v, want %v (half to even, clamped)", dst, want)
	}
	Quantize(dst[:2], []float32{-0.25, 0.25}, 0.5, 10)
	if dst[0] != 10 || dst[1] != 10 {
		t.Errorf("Quantize with zero point 10: %v, want [10 10]", dst[:2])
	}
}

func TestQuantizePathsAgree(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	for _, n := range []int{1, 15, 16, 17, 64, 100, 784, 1000} {
		x := make([]float32, n)
		for i := range x {
			x[i] = float32(rng.NormFloat64() * 3)
		}
		x[0] = 0.5 // a tie
		var ref []uint8
		for _, path := range qpaths(t) {
			got := make([]uint8, n)
			path.run(func() []int64 {
				saved := hasAVX512
				if path.name != "avx512-vnni" {
					hasAVX512 = false
				}
				defer func() { hasAVX512 = saved }()
				Quantize(got, x, 0.02, 100)
				return nil
			})
			if ref == nil {
				ref = got
			} else if !slices.Equal(got, ref) {
				t.Fatalf("n=%d: %s quantizes %v, portable %v", n, path.name, got, ref)
			}
		}
	}
}

func TestQMaxPool2d(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 9))
	for _, s := range []PoolShape{{N: 2, C: 3, H: 7, W: 9, Kernel: 2, Stride: 2}, {N: 1, C: 2, H: 8, W: 8, Kernel: 3, Stride: 2}} {
		x := make([]uint8, s.N*s.C*s.H*s.W)
		for i := range x {
			x[i] = uint8(rng.IntN(256))
		}
		got := make([]uint8, s.N*s.C*s.OutH()*s.OutW())
		QMaxPool2d(got, x, s)
		xf := make([]float32, len(x))
		for i, v := range x {
			xf[i] = float32(v)
		}
		want := make([]float32, len(got))
		MaxPool2d(want, make([]int32, len(got)), xf, s)
		for i := range got {
			if float32(got[i]) != want[i] {
				t.Fatalf("%+v: QMaxPool2d[%d] = %d, MaxPool2d %v", s, i, got[i], want[i])
			}
		}
	}
}

// TestRequantPathsAgree holds the AVX-512 requantization to the Go one,
// ties, clamps and the extremes of int32 included.
func TestRequantPathsAgree(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	for _, n := range []int{1, 7, 16, 33, 784} {
		acc := make([]int32, n)
		for i := range acc {
			acc[i] = int32(rng.IntN(40001) - 20000)
		}
		acc[0] = math.MaxInt32 - 10
		if n > 2 {
			acc[1], acc[2] = math.MinInt32+10, 5 // 5·0.5 + 0.5 = 3: a tie at 2.5 + zp
		}
		for _, relu := range []bool{false, true} {
			zp, lo := float32(3), float32(0)
			if relu {
				lo = zp
			}
			want := make([]uint8, n)
			for i, a := range acc {
				want[i] = requant(a+0, 0.5, zp, lo)
			}
			got := make([]uint8, n)
			requantRow(got, acc, 0, 0.5, zp, lo)
			if !slices.Equal(got, want) {
				t.Fatalf("n=%d relu=%v: requantRow %v, requant %v", n, relu, got, want)
			}
			// Per column: a bias and a multiplier each.
			bias, mult := make([]int32, n), make([]float32, n)
			for i := range n {
				bias[i], mult[i] = int32(i%3-1), 0.25+float32(i%4)*0.125
				want[i] = requant(acc[i]+bias[i], mult[i], zp, lo)
			}
			for _, path := range qpaths(t) {
				clear(got)
				path.run(func() []int64 { requantCols(got, acc, bias, mult, zp, lo); return nil })
				if !slices.Equal(got, want) {
					t.Fatalf("n=%d relu=%v: requantCols on %s %v, requant %v", n, relu, path.name, got, want)
				}
			}
		}
	}
}

// BenchmarkQLinear times the MNIST MLP's first int8 layer (784 inputs, 128
// outputs, ReLU) at batch 1 and 256, and reports the multiply-adds per
// second.
func BenchmarkQLinear(b *testing.B) {
	for _, m := range []int{1, 256} {
		b.Run(fmt.Sprintf("m=%d/k=784/n=128", m), func(b *testing.B) {
			k, n := 784, 128
			x, w := randQ(rand.New(rand.NewPCG(1, 2)), m, n, k)
			np, kp := QPackedShape(n, k)
			wp := make([]int8, np*kp)
			QPackLinear(wp, w, n, k)
			bias, scale := make([]int32, n), make([]float32, n)
			for j := range scale {
				scale[j] = 0.01
			}
			dst, xpad := make([]uint8, m*n), make([]uint8, QLinearScratch(m, k))
			b.ResetTimer()
			for range b.N {
				QLinear(dst, x, wp, bias, scale, xpad, m, k, n, 0.02, 0.5, 0, true)
			}
			b.ReportMetric(float64(m*k*n)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GMAC/s")
		})
	}
}

// BenchmarkQuantize times the quantization of the MNIST MLP's input at
// batch 256.
func BenchmarkQuantize(b *testing.B) {
	x := make([]float32, 256*784)
	for i := range x {
		x[i] = float32(i%255) / 255
	}
	dst := make([]uint8, len(x))
	b.SetBytes(int64(len(x) * 4))
	for range b.N {
		Quantize(dst, x, 1.0/255, 0)
	}
}
