package kernels

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestDPNoiseNormal: DPNoise's ziggurat draws a standard normal: the
// first four moments and the tails of a million draws match N(0, 1)'s.
func TestDPNoiseNormal(t *testing.T) {
	const n = 1 << 20
	g := make([]float64, n)
	z := make([]float64, n)
	DPNoise(z, g, 1, 1, rand.New(rand.NewPCG(1, 2)))
	var m1, m2, m3, m4 float64
	beyond := [4]int{} // |z| > 1, 2, 3, 4
	for _, v := range z {
		m1 += v
		m2 += v * v
		m3 += v * v * v
		m4 += v * v * v * v
		for k := range beyond {
			if math.Abs(v) > float64(k+1) {
				beyond[k]++
			}
		}
	}
	m1, m2, m3, m4 = m1/n, m2/n, m3/n, m4/n
	if math.Abs(m1) > 0.005 || math.Abs(m2-1) > 0.005 || math.Abs(m3) > 0.02 || math.Abs(m4-3) > 0.03 {
		t.Errorf("moments %v %v %v %v, want 0 1 0 3", m1, m2, m3, m4)
	}
	for k, want := range []float64{0.3173105, 0.0455003, 0.0026998, 0.0000633} {
		got := float64(beyond[k]) / n
		if sd := math.Sqrt(want * (1 - want) / n); math.Abs(got-want) > 5*sd {
			t.Errorf("P(|z| > %d) = %v, want %v", k+1, got, want)
		}
	}
	// Scale and shift: (g + std·z)·scale.
	g2 := []float64{1, 2, 3}
	d := make([]float64, 3)
	DPNoise(d, g2, 0, 0.5, nil)
	if d[0] != 0.5 || d[1] != 1 || d[2] != 1.5 {
		t.Errorf("no noise: %v", d)
	}
}

// TestPerExampleNorms: RowOuterSqNorm in both forms and ConvSqNorm in
// both forms against the examples' gradients written out.
func TestPerExampleNorms(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	fill := func(n int) []float64 {
		x := make([]float64, n)
		for i := range x {
			x[i] = rng.NormFloat64()
		}
		return x
	}
	const n, tt, m, k = 3, 4, 5, 6
	u, v := fill(n*tt*m), fill(n*tt*k)
	acc := []float64{1, 2, 3}
	for _, gram := range []bool{false, true} {
		dst := make([]float64, n)
		RowOuterSqNorm(dst, u, v, acc, make([]float64, max(m*k, 2*tt*tt)), tt, m, k, gram)
		for i := range n {
			want := acc[i]
			for a := range m {
				for b := range k {
					s := 0.0
					for r := range tt {
						s += u[(i*tt+r)*m+a] * v[(i*tt+r)*k+b]
					}
					want += s * s
				}
			}
			if math.Abs(dst[i]-want) > 1e-9*want {
				t.Errorf("RowOuterSqNorm gram=%v example %d: %v, want %v", gram, i, dst[i], want)
			}
		}
	}
	s := ConvShape{N: 2, C: 2, H: 5, W: 5, K: 3, KH: 3, KW: 3, Stride: 1, Pad: 1}
	x, dy := fill(s.N*s.C*s.H*s.W), fill(s.N*s.K*s.OutH()*s.OutW())
	ckk, p := s.C*9, s.OutH()*s.OutW()
	for _, gram := range []bool{false, true} {
		dst := make([]float64, s.N)
		ConvSqNorm(dst, dy, x, nil, make([]float64, s.ColSize()), make([]float64, max(2*p*p, s.K*ckk)), s, gram)
		for i := range s.N {
			one := s
			one.N = 1
			dw := make([]float64, s.K*ckk)
			Conv2dBackward(nil, dw, nil, dy[i*s.K*p:(i+1)*s.K*p], x[i*s.C*25:(i+1)*s.C*25], make([]float64, s.K*ckk), make([]float64, s.ColSize()), one)
			want := 0.0
			for _, w := range dw {
				want += w * w
			}
			if math.Abs(dst[i]-want) > 1e-9*want {
				t.Errorf("ConvSqNorm gram=%v example %d: %v, want %v", gram, i, dst[i], want)
			}
		}
	}
}
