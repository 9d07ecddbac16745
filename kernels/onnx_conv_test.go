package kernels

import (
	"math"
	"math/rand/v2"
	"testing"
)

// convGeom builds ConvND's geometry for the tests.
func convGeom(c, m, group int, d, k, s, p, pe, dil []int) ([]int, []int) {
	r := len(d)
	o := make([]int, r)
	for i := range r {
		o[i] = (d[i]+p[i]+pe[i]-dil[i]*(k[i]-1)-1)/s[i] + 1
	}
	g := append([]int{r, c, m, group}, d...)
	g = append(append(append(append(append(g, k...), o...), s...), p...), dil...)
	return g, o
}

// TestConvND compares ConvND and PoolND with direct loops over every
// output element and window position, in 1, 2 and 3 dimensions, with
// groups (depth-wise among them), strides, asymmetric pads and dilations.
func TestConvND(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 10))
	for _, c := range []struct {
		c, m, group         int
		d, k, s, p, pe, dil []int
	}{
		{3, 4, 1, []int{9}, []int{3}, []int{2}, []int{1}, []int{0}, []int{1}},
		{4, 6, 2, []int{7, 6}, []int{3, 2}, []int{1, 2}, []int{1, 0}, []int{2, 1}, []int{2, 1}},
		{5, 10, 5, []int{6, 7}, []int{3, 3}, []int{1, 1}, []int{1, 1}, []int{1, 1}, []int{1, 1}}, // depth-wise, multiplier 2
		{2, 3, 1, []int{4, 5, 3}, []int{2, 3, 2}, []int{2, 1, 1}, []int{0, 1, 1}, []int{1, 1, 0}, []int{1, 1, 2}},
		// A kernel wider than the input: some taps fall outside for every
		// output (ONNX's test_Conv1d_pad2size1 found it).
		{4, 4, 1, []int{1}, []int{5}, []int{1}, []int{2}, []int{2}, []int{1}},
	} {
		g, o := convGeom(c.c, c.m, c.group, c.d, c.k, c.s, c.p, c.pe, c.dil)
		n := 2
		in, out, ks := vol(c.d), vol(o), vol(c.k)
		x, w, b := randFloats(r, n*c.c*in), randFloats(r, c.m*c.c/c.group*ks), randFloats(r, c.m)
		y := make([]float64, n*c.m*out)
		col := make([]float64, ConvColSize(g))
		ConvND(y, x, w, b, col, n, g)
		cg, mg := c.c/c.group, c.m/c.group
		for i := range y {
			idx := unravel(i, append([]int{n, c.m}, o...))
			s, m, op := idx[0], idx[1], idx[2:]
			want := b[m]
			grp := m / mg
			for ci := 0; ci < cg; ci++ {
				for kk := 0; kk < ks; kk++ {
					kidx := unravel(kk, c.k)
					pos := make([]int, len(o))
					inside := true
					for a := range o {
						pos[a] = op[a]*c.s[a] - c.p[a] + kidx[a]*c.dil[a]
						inside = inside && pos[a] >= 0 && pos[a] < c.d[a]
					}
					if inside {
						want += w[(m*cg+ci)*ks+kk] * x[(s*c.c+grp*cg+ci)*in+ravel(pos, c.d)]
					}
				}
			}
			if math.Abs(y[i]-want) > 1e-12 {
				t.Fatalf("ConvND %+v: y[%d] = %v, want %v", c, i, y[i], want)
			}
		}
		// Pooling over the same windows, each channel alone.
		g, o = convGeom(c.c, c.c, 1, c.d, c.k, c.s, c.p, c.pe, c.dil)
		for mode := PoolMax; mode <= PoolAverageWithPad; mode++ {
			y := make([]float64, n*c.c*vol(o))
			PoolND(y, x, n, g, mode)
			for i := range y {
				idx := unravel(i, append([]int{n, c.c}, o...))
				acc, cnt := 0.0, 0
				if mode == PoolMax {
					acc = math.Inf(-1)
				}
				for kk := 0; kk < ks; kk++ {
					kidx := unravel(kk, c.k)
					pos := make([]int, len(o))
					inside := true
					for a := range o {
						pos[a] = idx[2+a]*c.s[a] - c.p[a] + kidx[a]*c.dil[a]
						inside = inside && pos[a] >= 0 && pos[a] < c.d[a]
					}
					if !inside {
						continue
					}
					v := x[(idx[0]*c.c+idx[1])*in+ravel(pos, c.d)]
					cnt++
					if mode == PoolMax {
						acc = math.Max(acc, v)
					} else {
						acc += v
					}
				}
				switch mode {
				case PoolAverage:
					acc /= float64(cnt)
				case PoolAverageWithPad:
					acc /= float64(ks)
				}
				if math.Abs(y[i]-acc) > 1e-12 {
					t.Fatalf("PoolND mode %d %+v: y[%d] = %v, want %v", mode, c, i, y[i], acc)
				}
			}
		}
	}
}

// TestPoolCeilMode: windows that run off the end of the input (ceil_mode)
// count only the elements inside it, as torch's max_pool2d and avg_pool2d
// with ceil_mode=True give (values printed by torch 1.13 for this input).
func TestPoolCeilMode(t *testing.T) {
	x := make([]float64, 20)
	for i := range x {
		x[i] = float64(i)
		if i%2 == 1 {
			x[i] = -x[i]
		}
	}
	g := []int{2, 1, 1, 1, 4, 5, 3, 2, 2, 3, 2, 2, 0, 0, 1, 1}
	for mode, want := range map[int][]float64{
		PoolMax:     {10, 12, 14, 16, 18, 14},
		PoolAverage: {-1.0 / 6, -1.0 / 6, 3, 0, 0, -2.5},
	} {
		y := make([]float64, 6)
		PoolND(y, x, 1, g, mode)
		for i := range y {
			if math.Abs(y[i]-want[i]) > 1e-12 {
				t.Errorf("mode %d: %v, torch %v", mode, y, want)
				break
			}
		}
	}
}
