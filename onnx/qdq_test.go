package onnx_test

import (
	"math"
	"testing"

	"github.com/nnc-go/nnc/ir"
	"github.com/nnc-go/nnc/npy"
	"github.com/nnc-go/nnc/onnx"
	"github.com/nnc-go/nnc/passes"
	"github.com/nnc-go/nnc/train"
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
// testdata/onnx/gen_qdq.py builds, and its variant with int8 activations,
// against the numpy reference evaluator of ONNX's arithmetic: on nnc's
// int8 kernels (the importer lowers its layers) and, with
// Options.FloatQDQ, as float ops.
func TestQDQMLP(t *testing.T) {
	for _, name := range []string{"qdq_mlp", "qdq_mlp_s8"} {
		for _, float := range []bool{false, true} {
			checkQDQ(t, name, "qdq_mlp", float, []string{"Quantize", "QLinear"})
		}
	}
}

// TestQDQCNN: a CNN in ONNX Runtime's QDQ form (Conv with padding, Relu,
// MaxPool and Flatten between QuantizeLinear / DequantizeLinear pairs of
// one scale, a Gemm), with u8 and with s8 activations, runs on QConv2d,
// QMaxPool2d, a u8 Reshape and QLinear and gives the numpy reference's
// outputs.
func TestQDQCNN(t *testing.T) {
	for _, name := range []string{"qdq_cnn", "qdq_cnn_s8"} {
		for _, float := range []bool{false, true} {
			checkQDQ(t, name, "qdq_cnn", float, []string{"Quantize", "QConv2d", "QMaxPool2d", "QLinear"})
		}
	}
}

// checkQDQ imports testdata/onnx/NAME.onnx (with float QDQ ops when
// float), checks the forward graph it runs has the int8 ops ops and no
// float QDQ arithmetic (or none of them), and runs it on REF.in.npy
// against REF.out.npy.
//
// The outputs are the last layer's, which stores f32: within 1e-5, as
// the float QDQ ops are held to. The int8 kernels sum exactly and scale
// the sum once in f32, where the reference sums in float64 and rounds to
// f32: the two differ by a few ulp of outputs below 4, some 1e-6. An
// activation rounded to another u8 value than the reference's would move
// an output by a weight times a scale, some 1e-3, which 1e-5 catches: the
// test holds every intermediate u8 value to ONNX's.
func checkQDQ(t *testing.T, name, ref string, float bool, ops []string) {
	t.Helper()
	in, err := npy.Read("../testdata/onnx/" + ref + ".in.npy")
	if err != nil {
		t.Fatal(err)
	}
	want, err := npy.Read("../testdata/onnx/" + ref + ".out.npy")
	if err != nil {
		t.Fatal(err)
	}
	path := "../testdata/onnx/" + name + ".onnx"
	m, err := onnx.Read(path)
	if err != nil {
		t.Fatal(err)
	}
	im, err := onnx.Import(m, onnx.Options{FloatQDQ: float})
	if err != nil {
		t.Fatal(err)
	}
	g := im.Program.Forward
	g.Attrs = g.Attrs.Set("batch", 4)
	if err := passes.Run(g, passes.Options{Verify: true}); err != nil {
		t.Fatal(err)
	}
	if train.IsInt8(im.Weights) == float {
		t.Fatalf("%s (float QDQ %v): weights int8 %v", name, float, train.IsInt8(im.Weights))
	}
	run := g
	if !float {
		if run, err = train.Int8Graph(g, im.Weights); err != nil {
			t.Fatal(err)
		}
	}
	count := map[ir.Op]int{}
	for _, v := range run.Values {
		count[v.Op]++
	}
	for _, op := range ops {
		if o, _ := ir.LookupOp(op); (count[o] > 0) == float {
			t.Errorf("%s (float QDQ %v): %d %s ops in\n%s", name, float, count[o], op, ir.Print(run))
		}
	}
	if !float && (count[ir.OpDiv] > 0 || count[ir.OpFloor] > 0) {
		t.Errorf("%s: float QDQ arithmetic left in\n%s", name, ir.Print(run))
	}
	out, err := train.ForwardArrays(im.Program, map[string]*npy.Array{im.Inputs[0].IR: in}, train.ArrayOptions{Weights: im.Weights, WeightsName: path})
	if err != nil {
		t.Fatal(err)
	}
	got, w := out[im.Outputs[0].IR].Float64s(), want.Float64s()
	if len(got) != len(w) {
		t.Fatalf("%s: %d outputs, want %d", name, len(got), len(w))
	}
	for i := range w {
		if math.Abs(got[i]-w[i]) > 1e-5 {
			t.Errorf("%s (float QDQ %v): output %d: %v, want %v", name, float, i, got[i], w[i])
		}
	}
}
