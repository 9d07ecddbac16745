package kernels

import "testing"

// TestNoAllocs checks that the kernels a training step runs allocate
// nothing (Gemm, Linear, CrossEntropy and Broadcast have their own tests).
func TestNoAllocs(t *testing.T) {
	rng := newRNG()
	cs := ConvShape{N: 2, C: 3, H: 12, W: 12, K: 4, KH: 5, KW: 5, Stride: 1, Pad: 2}
	ps := PoolShape{N: 2, C: 4, H: 12, W: 12, Kernel: 2, Stride: 2}
	x := randSlice[float32](rng, cs.N*cs.C*cs.H*cs.W, -1, 1)
	w := randSlice[float32](rng, cs.K*cs.C*cs.KH*cs.KW, -1, 1)
	b := randSlice[float32](rng, cs.K, -1, 1)
	y := make([]float32, cs.N*cs.K*cs.OutH()*cs.OutW())
	col := make([]float32, cs.ColSize())
	dx, dw, db := make([]float32, len(x)), make([]float32, len(w)), make([]float32, len(b))
	pooled := make([]float32, ps.N*ps.C*ps.OutH()*ps.OutW())
	idx := make([]int32, len(pooled))
	c := make([]float32, 4)
	mean, invStd := make([]float32, 4), make([]float32, 4)
	m, v := make([]float32, len(w)), make([]float32, len(w))
	for name, f := range map[string]func(){
		"Conv2d":         func() { Conv2d(y, x, w, b, col, cs) },
		"Conv2dBackward": func() { Conv2dBackward(dx, dw, db, y, x, w, col, cs) },
		"MaxPool2d": func() {
			MaxPool2d(pooled, idx, y, ps)
			MaxPool2dBackward(y, pooled, idx, ps)
		},
		"BatchNorm": func() {
			BatchNormTrain(y, y, c, c, c, c, mean, invStd, 2, 4, 144, 0.1, 1e-5)
			BatchNormBackward(y, c, c, y, y, c, mean, invStd, 2, 4, 144)
		},
		"Softmax": func() {
			Softmax(y, y, 8, 12, 12)
			LogSoftmaxBackward(y, y, y, 8, 144, 1)
		},
		"Sum":  func() { Sum(pooled, y, 2, 4, 144) },
		"Adam": func() { Adam(w, dw, m, v, 3, AdamConfig{LR: 1e-3, Beta1: 0.9, Beta2: 0.999, Eps: 1e-8}) },
		"SGD":  func() { SGD(w, dw, m, SGDConfig{LR: 0.1, Momentum: 0.9}, false) },
	} {
		if a := testing.AllocsPerRun(5, f); a != 0 {
			t.Errorf("%s: %v allocations, want 0", name, a)
		}
	}
}
