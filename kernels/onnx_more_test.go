package kernels

import (
	"errors"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// NegativeLogLikelihoodLoss on a hand-computed case: x [2, 3, 2] (N, C,
// d1), targets [2, 2] with one ignored, class weights.
func TestNegativeLogLikelihoodLoss(t *testing.T) {
	x := []float64{
		// n = 0: classes 0..2, each over d1 = 2
		-1, -2, -3, -4, -5, -6,
		// n = 1
		-7, -8, -9, -10, -11, -12,
	}
	target := []int64{2, 0, 1, -1}
	w := []float64{1, 2, 3}
	// losses: (0,0) t=2: 5·3; (0,1) t=0: 2·1; (1,0) t=1: 9·2; (1,1) ignored.
	none := make([]float64, 4)
	NegativeLogLikelihoodLoss(none, x, target, w, 2, 3, 2, LossNone, -1)
	if want := []float64{15, 2, 18, 0}; !slices.Equal(none, want) {
		t.Errorf("none: %v, want %v", none, want)
	}
	sum := make([]float64, 1)
	NegativeLogLikelihoodLoss(sum, x, target, w, 2, 3, 2, LossSum, -1)
	if sum[0] != 35 {
		t.Errorf("sum: %v, want 35", sum[0])
	}
	mean := make([]float64, 1)
	NegativeLogLikelihoodLoss(mean, x, target, w, 2, 3, 2, LossMean, -1)
	if want := 35.0 / (3 + 1 + 2); mean[0] != want {
		t.Errorf("weighted mean: %v, want %v (the sum over the weights of the targets kept)", mean[0], want)
	}
	NegativeLogLikelihoodLoss(mean, x, []int64{0, 0, 1, 1}, nil, 2, 3, 2, LossMean, NoIgnoreIndex)
	if want := (1 + 2 + 9 + 10) / 4.0; mean[0] != want {
		t.Errorf("mean: %v, want %v", mean[0], want)
	}
	NegativeLogLikelihoodLoss(mean, x, []int64{-1, -1, -1, -1}, nil, 2, 3, 2, LossMean, -1)
	if !math.IsNaN(mean[0]) {
		t.Errorf("the mean of no target: %v, want NaN as ONNX's reference", mean[0])
	}
	defer func() {
		var e *IDError
		if err, _ := recover().(error); !errors.As(err, &e) || *e != (IDError{Pos: 3, ID: -1, Num: 3}) {
			t.Errorf("a target out of range: %v", err)
		}
	}()
	NegativeLogLikelihoodLoss(mean, x, target, w, 2, 3, 2, LossMean, NoIgnoreIndex)
}

// The backward kernel against central differences of the forward one.
func TestNegativeLogLikelihoodLossBackward(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	n, c, inner := 3, 4, 2
	x := randFloats(r, n*c*inner)
	target := []int64{0, 3, 1, 2, 2, 1}
	w := []float64{0.5, 1, 2, 1.5}
	for _, red := range []int{LossNone, LossSum, LossMean} {
		for _, weight := range [][]float64{nil, w} {
			m := 1
			if red == LossNone {
				m = n * inner
			}
			dy := randFloats(r, m)
			loss := func(x []float64) float64 {
				y := make([]float64, m)
				NegativeLogLikelihoodLoss(y, x, target, weight, n, c, inner, red, 2)
				s := 0.0
				for i := range y {
					s += y[i] * dy[i]
				}
				return s
			}
			dx := make([]float64, len(x))
			NegativeLogLikelihoodLossBackward(dx, dy, target, weight, n, c, inner, red, 2)
			for i := range x {
				xp, xm := slices.Clone(x), slices.Clone(x)
				xp[i] += 1e-3
				xm[i] -= 1e-3
				if num := (loss(xp) - loss(xm)) / 2e-3; math.Abs(num-dx[i]) > 1e-9 {
					t.Errorf("reduction %d, weight %v: dx[%d] = %v, numerically %v", red, weight != nil, i, dx[i], num)
				}
			}
		}
	}
}

func TestArgMaxArgMin(t *testing.T) {
	nan := math.NaN()
	// x [2, 3, 2]: along axis 1.
	x := []float64{
		1, 5, 3, 5, 3, nan,
		-1, 0, -1, 0, -2, 0,
	}
	for _, c := range []struct {
		name      string
		min, last bool
		want      []int64
	}{
		{"max", false, false, []int64{1, 2, 0, 0}},
		{"max last", false, true, []int64{2, 2, 1, 2}},
		{"min", true, false, []int64{0, 2, 2, 0}},
		{"min last", true, true, []int64{0, 2, 2, 2}},
	} {
		got := make([]int64, 4)
		if c.min {
			ArgMin(got, x, 2, 3, 2, c.last)
		} else {
			ArgMax(got, x, 2, 3, 2, c.last)
		}
		if !slices.Equal(got, c.want) {
			t.Errorf("%s: %v, want %v", c.name, got, c.want)
		}
	}
	got := make([]int64, 2)
	ArgMaxI64(got, []int64{4, 9, 9, -3, -3, -8}, 2, 3, 1, false)
	if !slices.Equal(got, []int64{1, 0}) {
		t.Errorf("ArgMaxI64: %v", got)
	}
	ArgMinI64(got, []int64{4, 9, 4, -3, -3, -8}, 2, 3, 1, true)
	if !slices.Equal(got, []int64{2, 2}) {
		t.Errorf("ArgMinI64: %v", got)
	}
}

func TestTrilu(t *testing.T) {
	x := []float64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12} // [3, 4]
	for _, c := range []struct {
		upper bool
		k     int
		want  []float64
	}{
		{true, 0, []float64{1, 2, 3, 4, 0, 6, 7, 8, 0, 0, 11, 12}},
		{true, 2, []float64{0, 0, 3, 4, 0, 0, 0, 8, 0, 0, 0, 0}},
		{true, -1, []float64{1, 2, 3, 4, 5, 6, 7, 8, 0, 10, 11, 12}},
		{false, 0, []float64{1, 0, 0, 0, 5, 6, 0, 0, 9, 10, 11, 0}},
		{false, -2, []float64{0, 0, 0, 0, 0, 0, 0, 0, 9, 0, 0, 0}},
		{false, 5, x},
	} {
		got := make([]float64, len(x))
		Trilu(got, x, 1, 3, 4, c.k, c.upper)
		if !slices.Equal(got, c.want) {
			t.Errorf("upper %v, k %d: %v, want %v", c.upper, c.k, got, c.want)
		}
	}
	got := make([]int64, 8) // [2, 2, 2]
	TriluI64(got, []int64{1, 2, 3, 4, 5, 6, 7, 8}, 2, 2, 2, 0, false)
	if want := []int64{1, 0, 3, 4, 5, 0, 7, 8}; !slices.Equal(got, want) {
		t.Errorf("TriluI64: %v, want %v", got, want)
	}
}

func TestReduceProd(t *testing.T) {
	x := []float64{1, 2, 3, 4, 5, 6} // [2, 3]
	rows := make([]float64, 2)
	ReduceProd(rows, x, []int{2, 3}, 1<<1)
	cols := make([]float64, 3)
	ReduceProd(cols, x, []int{2, 3}, 1<<0)
	all := make([]float64, 1)
	ReduceProd(all, x, []int{2, 3}, 1<<0|1<<1)
	if !slices.Equal(rows, []float64{6, 120}) || !slices.Equal(cols, []float64{4, 10, 18}) || all[0] != 720 {
		t.Errorf("rows %v, columns %v, all %v", rows, cols, all)
	}
}
