package kernels

import (
	"math"
	"slices"
	"testing"
)

// TestIntArithmetic checks the i64 kernels against the values NumPy gives
// (np.add, np.subtract, ..., np.fmod, np.mod, ONNX's truncating Div),
// with b broadcast along the rows.
func TestIntArithmetic(t *testing.T) {
	a := []int64{7, -7, 7, -7, 0, math.MaxInt64}
	b := []int64{2, 2, -2, -2, 3, 1}
	shape := []int{6}
	for _, c := range []struct {
		name string
		f    func(dst []int64)
		want []int64
	}{
		{"Add", func(d []int64) { BroadcastAddI64(d, shape, a, shape, b, shape) }, []int64{9, -5, 5, -9, 3, math.MinInt64}},
		{"Sub", func(d []int64) { BroadcastSubI64(d, shape, a, shape, b, shape) }, []int64{5, -9, 9, -5, -3, math.MaxInt64 - 1}},
		{"Mul", func(d []int64) { BroadcastMulI64(d, shape, a, shape, b, shape) }, []int64{14, -14, -14, 14, 0, math.MaxInt64}},
		{"Div", func(d []int64) { BroadcastDivI64(d, shape, a, shape, b, shape) }, []int64{3, -3, -3, 3, 0, math.MaxInt64}},
		{"Mod", func(d []int64) { BroadcastModI64(d, shape, a, shape, b, shape) }, []int64{1, 1, -1, -1, 0, 0}},
		{"Fmod", func(d []int64) { BroadcastFmodI64(d, shape, a, shape, b, shape) }, []int64{1, -1, 1, -1, 0, 0}},
		{"Min", func(d []int64) { BroadcastMinI64(d, shape, a, shape, b, shape) }, []int64{2, -7, -2, -7, 0, 1}},
		{"Max", func(d []int64) { BroadcastMaxI64(d, shape, a, shape, b, shape) }, []int64{7, 2, 7, -2, 3, math.MaxInt64}},
		{"Neg", func(d []int64) { NegI64(d, a) }, []int64{-7, 7, -7, 7, 0, -math.MaxInt64}},
		{"Abs", func(d []int64) { AbsI64(d, a) }, []int64{7, 7, 7, 7, 0, math.MaxInt64}},
	} {
		got := make([]int64, 6)
		c.f(got)
		if !slices.Equal(got, c.want) {
			t.Errorf("%s: got %v, want %v", c.name, got, c.want)
		}
	}
	// Division and remainder by zero give 0 and do not panic; MinInt64 / -1
	// wraps.
	got := make([]int64, 2)
	BroadcastDivI64(got, []int{2}, []int64{5, math.MinInt64}, []int{2}, []int64{0, -1}, []int{2})
	if !slices.Equal(got, []int64{0, math.MinInt64}) {
		t.Errorf("5/0, MinInt64/-1: got %v", got)
	}
	BroadcastModI64(got, []int{2}, []int64{5, math.MinInt64}, []int{2}, []int64{0, -1}, []int{2})
	if !slices.Equal(got, []int64{0, 0}) {
		t.Errorf("5%%0, MinInt64%%-1: got %v", got)
	}
	// Broadcast: [2, 3] with [3].
	a2, b2 := []int64{1, 2, 3, 4, 5, 6}, []int64{10, 20, 30}
	got = make([]int64, 6)
	BroadcastSubI64(got, []int{2, 3}, a2, []int{2, 3}, b2, []int{3})
	if !slices.Equal(got, []int64{-9, -18, -27, -6, -15, -24}) {
		t.Errorf("broadcast sub: got %v", got)
	}
}

func TestFmod(t *testing.T) {
	a := []float64{5.5, -5.5, 5.5, -5.5}
	b := []float64{2, 2, -2, -2}
	got := make([]float64, 4)
	BroadcastFmod(got, []int{4}, a, []int{4}, b, []int{4})
	if want := []float64{1.5, -1.5, 1.5, -1.5}; !slices.Equal(got, want) {
		t.Errorf("fmod: got %v, want %v", got, want)
	}
}

func TestLogic(t *testing.T) {
	a := []bool{false, false, true, true}
	b := []bool{false, true}
	shape, as, bs := []int{2, 2}, []int{2, 2}, []int{2}
	got := make([]bool, 4)
	for _, c := range []struct {
		name string
		f    func()
		want []bool
	}{
		{"And", func() { BroadcastAnd(got, shape, a, as, b, bs) }, []bool{false, false, false, true}},
		{"Or", func() { BroadcastOr(got, shape, a, as, b, bs) }, []bool{false, true, true, true}},
		{"Xor", func() { BroadcastXor(got, shape, a, as, b, bs) }, []bool{false, true, true, false}},
	} {
		c.f()
		if !slices.Equal(got, c.want) {
			t.Errorf("%s: got %v, want %v", c.name, got, c.want)
		}
	}
}

// TestGatherElements checks ONNX's examples of GatherElements, indices
// smaller than the data off the axis, and an index out of range.
func TestGatherElements(t *testing.T) {
	for _, c := range []struct {
		x    []float32
		xs   []int
		ids  []int64
		is   []int
		axis int
		want []float32
	}{
		{[]float32{1, 2, 3, 4}, []int{2, 2}, []int64{0, 0, 1, 0}, []int{2, 2}, 1, []float32{1, 1, 4, 3}},
		{[]float32{1, 2, 3, 4, 5, 6, 7, 8, 9}, []int{3, 3}, []int64{1, 2, 0, 2, 0, 0}, []int{2, 3}, 0, []float32{4, 8, 3, 7, 2, 3}},
		{[]float32{1, 2, 3, 4, 5, 6, 7, 8, 9}, []int{3, 3}, []int64{-1, -2, 0, -3}, []int{2, 2}, 0, []float32{7, 5, 1, 2}},
		{[]float32{1, 2, 3, 4, 5, 6, 7, 8, 9}, []int{3, 3}, []int64{2, 2, 2, 0, 1, 0}, []int{2, 3}, 1, []float32{3, 3, 3, 4, 5, 4}},
	} {
		got := make([]float32, len(c.ids))
		GatherElements(got, c.x, c.xs, c.ids, c.is, c.axis)
		if !slices.Equal(got, c.want) {
			t.Errorf("x %v %v ids %v %v axis %d: got %v, want %v", c.xs, c.x, c.is, c.ids, c.axis, got, c.want)
		}
	}
	defer func() {
		if e, ok := recover().(*IDError); !ok || e.ID != 3 || e.Pos != 1 {
			t.Errorf("index 3 of 3: recovered %v", e)
		}
	}()
	GatherElementsI64(make([]int64, 2), []int64{1, 2, 3}, []int{3}, []int64{0, 3}, []int{2}, 0)
}
