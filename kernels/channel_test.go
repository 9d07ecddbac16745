package kernels

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// TestChannelKernelsMatchBatchNormTrain: the split kernels compute exactly
// the statistics and running updates BatchNormTrain computes.
func TestChannelKernelsMatchBatchNormTrain(t *testing.T) {
	gemmPaths(t, func(t *testing.T) {
		for _, hw := range []int{4, 100, 784} {
			testChannelKernels(t, 5, 3, hw)
		}
	})
}

func testChannelKernels(t *testing.T, n, c, hw int) {
	rng := rand.New(rand.NewPCG(1, 1))
	x := make([]float32, n*c*hw)
	Normal(x, 0.5, 2, rng)
	w, b := []float32{1, 2, 0.5}, []float32{0, 0.1, -1}
	rm, rv := []float32{0.1, 0.2, 0.3}, []float32{1, 1.5, 0.7}
	dst := make([]float32, len(x))
	mean, inv := make([]float32, c), make([]float32, c)
	frm, frv := slices.Clone(rm), slices.Clone(rv)
	BatchNormTrain(dst, x, w, b, frm, frv, mean, inv, n, c, hw, 0.1, 1e-5)
	m2, i2 := make([]float32, c), make([]float32, c)
	BatchStats(m2, i2, x, n, c, hw, 1e-5)
	nrm, nrv := make([]float32, c), make([]float32, c)
	RunningMean(nrm, rm, x, n, c, hw, 0.1)
	RunningVar(nrv, rv, x, n, c, hw, 0.1)
	if !slices.Equal(mean, m2) || !slices.Equal(inv, i2) || !slices.Equal(frm, nrm) || !slices.Equal(frv, nrv) {
		t.Errorf("split kernels differ: mean %v/%v invStd %v/%v running %v/%v %v/%v", mean, m2, inv, i2, frm, nrm, frv, nrv)
	}
	sum := make([]float32, c)
	ChannelSum(sum, x, n, c, hw)
	for ch := range c {
		want := 0.0
		for i := range n {
			for j := range hw {
				want += float64(x[(i*c+ch)*hw+j])
			}
		}
		if math.Abs(float64(sum[ch])-want) > 1e-6*math.Max(1, math.Abs(want)) {
			t.Errorf("ChannelSum[%d] = %v, want %v", ch, sum[ch], want)
		}
	}
}
