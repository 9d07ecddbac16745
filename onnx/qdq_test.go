package onnx_test

import (
	"math"
	"testing"

	"github.com/nnc-go/nnc/npy"
)

// TestQDQRound: QuantizeLinear rounds half to even and saturates to its
// int8 zero point's range; DequantizeLinear undoes it exactly.
func TestQDQRound(t *testing.T) {
	x := []float32{-1.25, -0.75, 0.25, 0.75, 1.25, 100, -100, 63.49}
	// x/0.5: -2.5 -1.5 0.5 1.5 2.5 200 -200 126.98, rounded to even, +1,
	// saturated to [-128, 127].
	wantY := []float64{-1, -1, 1, 3, 3, 127, -128, 127}
	out := run(t, "../testdata/onnx/qdq_round.onnx", nil, map[string]*npy.Array{"x": {Shape: []int{8}, F32: x}})
	y, z := out["y"].Float64s(), out["z"].Float64s()
	for i := range wantY {
		if y[i] != wantY[i] || z[i] != (wantY[i]-1)*0.5 {
			t.Errorf("x %v: y %v z %v, want %v and %v", x[i], y[i], z[i], wantY[i], (wantY[i]-1)*0.5)
		}
	}
}

// TestQDQMLP runs the MLP in ONNX Runtime's QDQ form that
// testdata/onnx/gen_qdq.py builds against its numpy reference evaluator.
func TestQDQMLP(t *testing.T) {
	in, err := npy.Read("../testdata/onnx/qdq_mlp.in.npy")
	if err != nil {
		t.Fatal(err)
	}
	want, err := npy.Read("../testdata/onnx/qdq_mlp.out.npy")
	if err != nil {
		t.Fatal(err)
	}
	out := run(t, "../testdata/onnx/qdq_mlp.onnx", nil, map[string]*npy.Array{"x": in})
	got, w := out["y"].Float64s(), want.Float64s()
	if len(got) != len(w) {
		t.Fatalf("%d outputs, want %d", len(got), len(w))
	}
	for i := range w {
		if math.Abs(got[i]-w[i]) > 1e-5 {
			t.Errorf("output %d: %v, want %v", i, got[i], w[i])
		}
	}
}
