package kernels

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// The ONNX kernels against plain reference loops over multi-indices, on
// awkward sizes, broadcasts and negative bounds.

func unravel(i int, shape []int) []int {
	idx := make([]int, len(shape))
	for k := len(shape) - 1; k >= 0; k-- {
		idx[k] = i % shape[k]
		i /= shape[k]
	}
	return idx
}

func ravel(idx, shape []int) int {
	o := 0
	for k, d := range shape {
		o = o*d + idx[k]
	}
	return o
}

// bcastIndex is the offset in an operand of shape sub of output index idx.
func bcastIndex(idx, sub []int) int {
	off := len(idx) - len(sub)
	j := make([]int, len(sub))
	for k := range sub {
		if sub[k] != 1 {
			j[k] = idx[off+k]
		}
	}
	return ravel(j, sub)
}

func randFloats(r *rand.Rand, n int) []float64 {
	x := make([]float64, n)
	for i := range x {
		x[i] = math.Round((r.Float64()*4-2)*4) / 4 // repeats, for comparisons
	}
	return x
}

func vol(s []int) int {
	n := 1
	for _, d := range s {
		n *= d
	}
	return n
}

func TestOnnxBroadcastKernels(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	shapes := [][3][]int{
		{{3, 5}, {3, 5}, {3, 5}},
		{{2, 3, 7}, {7}, {2, 1, 7}},
		{{4, 1, 5}, {4, 3, 1}, {1}},
		{{5, 3}, {}, {5, 1}},
	}
	for _, sh := range shapes {
		a, b, c := sh[0], sh[1], sh[2]
		out, _ := broadcastShapes(a, b)
		out, _ = broadcastShapes(out, c)
		n := vol(out)
		x, y := randFloats(r, vol(a)), randFloats(r, vol(b))
		cond := make([]bool, vol(c))
		for i := range cond {
			cond[i] = r.IntN(2) == 0
		}
		ab, _ := broadcastShapes(a, b)
		m := vol(ab)
		got := make([]float64, m)
		gotB := make([]bool, m)
		for _, k := range []struct {
			name string
			f    func()
			ref  func(p, q float64) float64
		}{
			{"Pow", func() { BroadcastPow(got, ab, x, a, y, b) }, math.Pow},
			{"Min", func() { BroadcastMin(got, ab, x, a, y, b) }, math.Min},
			{"Max", func() { BroadcastMax(got, ab, x, a, y, b) }, math.Max},
			{"PRelu", func() {
				if s, _ := broadcastShapes(a, b); slices.Equal(s, a) {
					BroadcastPRelu(got, ab, x, a, y, b)
				} else {
					got = nil
				}
			}, func(p, q float64) float64 {
				if p < 0 {
					return p * q
				}
				return p
			}},
		} {
			k.f()
			if got == nil {
				got = make([]float64, m)
				continue
			}
			for i := range m {
				idx := unravel(i, ab)
				want := k.ref(x[bcastIndex(idx, a)], y[bcastIndex(idx, b)])
				if got[i] != want && !(math.IsNaN(got[i]) && math.IsNaN(want)) {
					t.Fatalf("%s %v %v: [%d] = %v, want %v", k.name, a, b, i, got[i], want)
				}
			}
		}
		for _, k := range []struct {
			name string
			f    func()
			ref  func(p, q float64) bool
		}{
			{"Equal", func() { BroadcastEqual(gotB, ab, x, a, y, b) }, func(p, q float64) bool { return p == q }},
			{"Less", func() { BroadcastLess(gotB, ab, x, a, y, b) }, func(p, q float64) bool { return p < q }},
			{"Greater", func() { BroadcastGreater(gotB, ab, x, a, y, b) }, func(p, q float64) bool { return p > q }},
		} {
			k.f()
			for i := range m {
				idx := unravel(i, ab)
				if want := k.ref(x[bcastIndex(idx, a)], y[bcastIndex(idx, b)]); gotB[i] != want {
					t.Fatalf("%s %v %v: [%d] = %v", k.name, a, b, i, gotB[i])
				}
			}
		}
		// Where over three shapes, in floats and in i64.
		xa, ya := randFloats(r, vol(a)), randFloats(r, vol(b))
		w := make([]float64, n)
		Where(w, out, cond, c, xa, a, ya, b)
		ia, ib := make([]int64, len(xa)), make([]int64, len(ya))
		CastToI64(ia, xa)
		CastToI64(ib, ya)
		wi := make([]int64, n)
		WhereI64(wi, out, cond, c, ia, a, ib, b)
		for i := range n {
			idx := unravel(i, out)
			want, wantI := ya[bcastIndex(idx, b)], ib[bcastIndex(idx, b)]
			if cond[bcastIndex(idx, c)] {
				want, wantI = xa[bcastIndex(idx, a)], ia[bcastIndex(idx, a)]
			}
			if w[i] != want || wi[i] != wantI {
				t.Fatalf("Where %v %v %v: [%d] = %v %v, want %v %v", c, a, b, i, w[i], wi[i], want, wantI)
			}
		}
	}
}

// broadcastShapes is NumPy's rule, for the tests.
func broadcastShapes(a, b []int) ([]int, bool) {
	n := max(len(a), len(b))
	out := make([]int, n)
	for i := 1; i <= n; i++ {
		da, db := 1, 1
		if i <= len(a) {
			da = a[len(a)-i]
		}
		if i <= len(b) {
			db = b[len(b)-i]
		}
		switch {
		case da == db || db == 1:
			out[n-i] = da
		case da == 1:
			out[n-i] = db
		default:
			return nil, false
		}
	}
	return out, true
}

func TestOnnxReduce(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	shape := []int{3, 5, 7}
	x := randFloats(r, vol(shape))
	xi := make([]int64, len(x))
	CastToI64(xi, x)
	for mask := 0; mask < 8; mask++ {
		kept := make([]int, 3)
		for k := range kept {
			kept[k] = shape[k]
			if mask&(1<<k) != 0 {
				kept[k] = 1
			}
		}
		m := vol(kept)
		sum, mean, mx := make([]float64, m), make([]float64, m), make([]float64, m)
		sumI, mxI := make([]int64, m), make([]int64, m)
		ReduceSum(sum, x, shape, mask)
		ReduceMean(mean, x, shape, mask)
		ReduceMax(mx, x, shape, mask)
		ReduceSumI64(sumI, xi, shape, mask)
		ReduceMaxI64(mxI, xi, shape, mask)
		wantSum, wantMax := make([]float64, m), slices.Repeat([]float64{math.Inf(-1)}, m)
		wantSumI, wantMaxI := make([]int64, m), slices.Repeat([]int64{math.MinInt64}, m)
		for i, v := range x {
			idx := unravel(i, shape)
			for k := range idx {
				if mask&(1<<k) != 0 {
					idx[k] = 0
				}
			}
			o := ravel(idx, kept)
			wantSum[o] += v
			wantMax[o] = math.Max(wantMax[o], v)
			wantSumI[o] += xi[i]
			wantMaxI[o] = max(wantMaxI[o], xi[i])
		}
		count := float64(len(x) / m)
		for o := range m {
			if math.Abs(sum[o]-wantSum[o]) > 1e-12 || math.Abs(mean[o]-wantSum[o]/count) > 1e-12 || mx[o] != wantMax[o] || sumI[o] != wantSumI[o] || mxI[o] != wantMaxI[o] {
				t.Fatalf("mask %b [%d]: sum %v mean %v max %v sumI %v maxI %v, want %v %v %v %v %v", mask, o, sum[o], mean[o], mx[o], sumI[o], mxI[o],
					wantSum[o], wantSum[o]/count, wantMax[o], wantSumI[o], wantMaxI[o])
			}
		}
		// The backward kernels repeat dy over the reduced axes.
		dx := make([]float64, len(x))
		ReduceBackward(dx, shape, mean, mask, true)
		for i := range dx {
			idx := unravel(i, shape)
			for k := range idx {
				if mask&(1<<k) != 0 {
					idx[k] = 0
				}
			}
			if want := mean[ravel(idx, kept)] / count; math.Abs(dx[i]-want) > 1e-12 {
				t.Fatalf("ReduceBackward mask %b [%d] = %v, want %v", mask, i, dx[i], want)
			}
		}
	}
}

func TestOnnxSliceConcatGather(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	xs := []int{4, 7, 5}
	x := randFloats(r, vol(xs))
	for trial := 0; trial < 200; trial++ {
		starts, steps, shape := make([]int, 3), make([]int, 3), make([]int, 3)
		for k, d := range xs {
			steps[k] = r.IntN(5) - 2
			if steps[k] == 0 {
				steps[k] = 1
			}
			starts[k] = r.IntN(d)
			maxN := (d - starts[k] + steps[k] - 1) / steps[k]
			if steps[k] < 0 {
				maxN = starts[k]/-steps[k] + 1
			}
			shape[k] = 1 + r.IntN(maxN)
		}
		got := make([]float64, vol(shape))
		SliceCopy(got, shape, x, xs, starts, steps)
		for i := range got {
			idx := unravel(i, shape)
			for k := range idx {
				idx[k] = starts[k] + idx[k]*steps[k]
			}
			if want := x[ravel(idx, xs)]; got[i] != want {
				t.Fatalf("SliceCopy starts %v steps %v shape %v: [%d] = %v, want %v", starts, steps, shape, i, got[i], want)
			}
		}
	}
	// Concat of three pieces along the middle axis equals the whole.
	whole := make([]float64, len(x))
	off := 0
	for _, d := range []int{2, 4, 1} {
		piece := make([]float64, 4*d*5)
		SliceCopy(piece, []int{4, d, 5}, x, xs, []int{0, off, 0}, []int{1, 1, 1})
		ConcatInto(whole, piece, 4, d, 5, off, 7)
		off += d
	}
	if !slices.Equal(whole, x) {
		t.Fatalf("concat of slices differs from the whole")
	}
	// Gather along axis 1 with negative ids.
	ids := []int64{-1, 0, 3, -7, 6, 2}
	got := make([]float64, 4*len(ids)*5)
	Gather(got, x, ids, 4, 7, 5)
	for i := range got {
		idx := unravel(i, []int{4, len(ids), 5})
		id := int(ids[idx[1]])
		if id < 0 {
			id += 7
		}
		if want := x[ravel([]int{idx[0], id, idx[2]}, xs)]; got[i] != want {
			t.Fatalf("Gather [%d] = %v, want %v", i, got[i], want)
		}
	}
	defer func() {
		if e, ok := recover().(*IDError); !ok || e.ID != 7 || e.Pos != 1 {
			t.Fatalf("an id out of range: recovered %v", e)
		}
	}()
	GatherI64(make([]int64, 2), []int64{1, 2, 3, 4, 5, 6, 7}, []int64{-7, 7}, 1, 7, 1)
}

func TestOnnxTilePad(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	xs := []int{3, 4}
	x := randFloats(r, vol(xs))
	tiled := make([]float64, 6*12)
	Tile(tiled, []int{6, 12}, x, xs)
	for i := range tiled {
		idx := unravel(i, []int{6, 12})
		if want := x[ravel([]int{idx[0] % 3, idx[1] % 4}, xs)]; tiled[i] != want {
			t.Fatalf("Tile [%d] = %v, want %v", i, tiled[i], want)
		}
	}
	for mode, name := range []string{"constant", "reflect", "edge"} {
		for _, begins := range [][2][2]int{{{1, 2}, {2, 3}}, {{0, 3}, {-1, 1}}, {{2, -1}, {0, 0}}} {
			b, e := begins[0], begins[1]
			if mode == PadReflect && (b[0] >= 3 || e[0] >= 3 || b[1] >= 4 || e[1] >= 4) {
				continue
			}
			shape := []int{3 + b[0] + e[0], 4 + b[1] + e[1]}
			got := make([]float64, vol(shape))
			Pad(got, shape, x, xs, b[:], mode, 9.5)
			for i := range got {
				idx := unravel(i, shape)
				in := true
				for k := range idx {
					j, n := idx[k]-b[k], xs[k]
					switch {
					case j >= 0 && j < n:
					case mode == PadConstant:
						in = false
					case mode == PadEdge:
						j = min(max(j, 0), n-1)
					default:
						for j < 0 || j >= n {
							if j < 0 {
								j = -j
							}
							if j >= n {
								j = 2*(n-1) - j
							}
						}
					}
					idx[k] = j
				}
				want := 9.5
				if in {
					want = x[ravel(idx, xs)]
				}
				if got[i] != want {
					t.Fatalf("Pad %s begins %v ends %v: [%d] = %v, want %v", name, b, e, i, got[i], want)
				}
			}
		}
	}
}

func TestOnnxUnary(t *testing.T) {
	x := []float64{-3.5, -1, -0.25, 0, 0.3, 1, 2.75, 4}
	for _, c := range []struct {
		name    string
		f       func(dst, x []float64)
		g       func(dx, dy, x []float64, a, b float64)
		a, b    float64
		ref     func(v float64) float64
		smooth0 bool // differentiable at 0
	}{
		{"Exp", Exp[float64], ExpBackward[float64], 0, 0, math.Exp, true},
		{"Erf", Erf[float64], ErfBackward[float64], 0, 0, math.Erf, true},
		{"Softplus", Softplus[float64], SoftplusBackward[float64], 0, 0, func(v float64) float64 { return math.Log(1 + math.Exp(v)) }, true},
		{"Softsign", Softsign[float64], SoftsignBackward[float64], 0, 0, func(v float64) float64 { return v / (1 + math.Abs(v)) }, false},
		{"LeakyRelu", func(d, x []float64) { LeakyRelu(d, x, 0.1) }, LeakyReluBackward[float64], 0.1, 0, func(v float64) float64 { return max(v, 0.1*v) }, false},
		{"Elu", func(d, x []float64) { Elu(d, x, 0.7) }, EluBackward[float64], 0.7, 0, func(v float64) float64 {
			if v > 0 {
				return v
			}
			return 0.7 * (math.Exp(v) - 1)
		}, false},
		{"HardSigmoid", func(d, x []float64) { HardSigmoid(d, x, 0.2, 0.5) }, HardSigmoidBackward[float64], 0.2, 0.5, func(v float64) float64 { return max(0, min(1, 0.2*v+0.5)) }, true},
		{"HardSwish", HardSwish[float64], HardSwishBackward[float64], 0, 0, func(v float64) float64 { return v * max(0, min(1, (v+3)/6)) }, true},
		{"Clip", func(d, x []float64) { Clip(d, x, -1.5, 2) }, ClipBackward[float64], -1.5, 2, func(v float64) float64 { return max(-1.5, min(2, v)) }, true},
		{"Abs", Abs[float64], AbsBackward[float64], 0, 0, math.Abs, false},
		{"Floor", Floor[float64], FloorBackward[float64], 0, 0, math.Floor, false},
	} {
		got := make([]float64, len(x))
		c.f(got, x)
		dy := slices.Repeat([]float64{1}, len(x))
		dx := make([]float64, len(x))
		c.g(dx, dy, x, c.a, c.b)
		for i, v := range x {
			if want := c.ref(v); math.Abs(got[i]-want) > 1e-12 {
				t.Errorf("%s(%v) = %v, want %v", c.name, v, got[i], want)
			}
			if v == 0 && !c.smooth0 || c.name == "Floor" && v == math.Floor(v) {
				continue
			}
			const h = 1e-6
			if num := (c.ref(v+h) - c.ref(v-h)) / (2 * h); math.Abs(dx[i]-num) > 1e-6 {
				t.Errorf("%s'(%v) = %v, numerically %v", c.name, v, dx[i], num)
			}
		}
	}
	b := []bool{true, false, true}
	Not(b, b)
	if !slices.Equal(b, []bool{false, true, false}) {
		t.Errorf("Not: %v", b)
	}
}

// TestOnnxBackward checks the scatter kernels where ids repeat, copies
// overlap and maxima tie.
func TestOnnxBackward(t *testing.T) {
	dy := []float64{1, 2, 3, 4, 5, 6, 7, 8}
	dx := make([]float64, 2*3)
	GatherBackward(dx, dy, []int64{2, -1, 0, 2}, 2, 3, 1)
	if want := []float64{3, 0, 1 + 2 + 4, 7, 0, 5 + 6 + 8}; !slices.Equal(dx, want) {
		t.Errorf("GatherBackward: %v, want %v", dx, want)
	}
	tx := make([]float64, 2)
	TileBackward(tx, []int{1, 2}, dy, []int{2, 4})
	if want := []float64{1 + 3 + 5 + 7, 2 + 4 + 6 + 8}; !slices.Equal(tx, want) {
		t.Errorf("TileBackward: %v, want %v", tx, want)
	}
	x := []float64{1, 3, 3, 2, 5, 0}
	y := make([]float64, 2)
	ReduceMax(y, x, []int{2, 3}, 2)
	mx := make([]float64, 6)
	ReduceMaxBackward(mx, []int{2, 3}, x, y, []float64{4, 10}, make([]float64, 2), 2)
	if want := []float64{0, 2, 2, 0, 10, 0}; !slices.Equal(mx, want) {
		t.Errorf("ReduceMaxBackward: %v, want %v", mx, want)
	}
}

// TestOnnxNoAllocs: the ONNX kernels allocate nothing, so that generated
// code stays allocation-free.
func TestOnnxNoAllocs(t *testing.T) {
	x, y, z := make([]float64, 12), make([]float64, 4), make([]float64, 48)
	bs, ids := make([]bool, 12), []int64{0, 2, -1}
	sh, sh2, sh3 := []int{3, 4}, []int{4}, []int{2, 2, 3, 4}
	g := []int{2, 1, 1, 1, 3, 4, 2, 2, 2, 3, 1, 1, 0, 0, 1, 1}
	// The shapes are arguments made once, as the generated code's fields.
	s12, st, sp, s56, p11, s1134 := []int{1, 2}, []int{2, 3}, []int{1, -2}, []int{5, 6}, []int{1, 1}, []int{1, 1, 3, 4}
	for name, f := range map[string]func(){
		"BroadcastPow":  func() { BroadcastPow(x, sh, x, sh, y, sh2) },
		"BroadcastLess": func() { BroadcastLess(bs, sh, x, sh, y, sh2) },
		"Where":         func() { Where(x, sh, bs, sh, x, sh, y, sh2) },
		"ReduceMean":    func() { ReduceMean(y, x, sh, 1) },
		"SliceCopy":     func() { SliceCopy(y[:2], s12, x, sh, st, sp) },
		"Gather":        func() { Gather(z[:9], x, ids, 3, 4, 1) },
		"Tile":          func() { Tile(z, sh3, x, s1134) },
		"Pad":           func() { Pad(z[:30], s56, x, sh, p11, PadReflect, 0) },
		"ConvND":        func() { ConvND(z[:6], x, y, nil, z[6:30], 1, g) },
		"PoolND":        func() { PoolND(z[:6], x, 1, g, PoolMax) },
		"Exp":           func() { Exp(x, x) },
	} {
		if n := testing.AllocsPerRun(10, f); n != 0 {
			t.Errorf("%s allocates %v times", name, n)
		}
	}
}
