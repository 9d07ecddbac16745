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

// run imports the model at path and runs its forward pass over the
// arrays, through the interpreter.
func run(t *testing.T, path string, in map[string]*npy.Array) map[string]*npy.Array {
	t.Helper()
	m, err := onnx.Read(path)
	if err != nil {
		t.Fatal(err)
	}
	im, err := onnx.Import(m, onnx.Options{})
	if err != nil {
		t.Fatal(err)
	}
	g := im.Program.Forward
	g.Attrs = g.Attrs.Set("batch", 4)
	if err := passes.Run(g, passes.Options{Verify: true}); err != nil {
		t.Fatal(err)
	}
	named := map[string]*npy.Array{}
	for _, n := range im.Inputs {
		named[n.IR] = in[n.ONNX]
	}
	out, err := train.ForwardArrays(im.Program, named, train.ArrayOptions{Weights: im.Weights, WeightsName: path})
	if err != nil {
		t.Fatal(err)
	}
	res := map[string]*npy.Array{}
	for _, n := range im.Outputs {
		res[n.ONNX] = out[n.IR]
	}
	return res
}

// TestPyTorch checks the models testdata/onnx/gen.py exported from
// PyTorch 1.13 against PyTorch's outputs, within 1e-4.
func TestPyTorch(t *testing.T) {
	for _, tc := range []struct {
		name, input string
		dims        map[string]int
		// missing is the error of a model that needs an op nnc lacks yet
		// (the op work of issue 13 adds them): pinned, so that the test
		// fails, and is updated, the day the model imports.
		missing string
	}{
		{name: "mlp", input: "x"},
		{name: "cnn", input: "x"},
		{name: "depthwise", input: "x", missing: "../testdata/onnx/depthwise.onnx: node /dw/Conv (Conv, opset 17): group = 6 (nnc's Conv2d has one group) is not supported"},
		// The attention of nn.TransformerEncoderLayer reshapes to [T, N·heads, D]:
		// its batch is fixed (--set N=4).
		{name: "encoder", input: "ids", dims: map[string]int{"N": 4}, missing: "../testdata/onnx/encoder.onnx: node /layer/self_attn/Slice (Slice, opset 17): nnc folds Slice over constant inputs only, and an input is computed at run time"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := "../testdata/onnx/"
			if tc.missing != "" {
				m, err := onnx.Read(dir + tc.name + ".onnx")
				if err != nil {
					t.Fatal(err)
				}
				_, err = onnx.Import(m, onnx.Options{Dims: tc.dims})
				if err == nil || err.Error() != tc.missing {
					t.Fatalf("import error %v, want %s", err, tc.missing)
				}
				return
			}
			x, err := npy.Read(dir + tc.name + ".in.npy")
			if err != nil {
				t.Fatal(err)
			}
			want, err := npy.Read(dir + tc.name + ".out.npy")
			if err != nil {
				t.Fatal(err)
			}
			got := run(t, dir+tc.name+".onnx", map[string]*npy.Array{tc.input: x})["y"]
			if got == nil {
				t.Fatal("no output y")
			}
			if !equalShapes(got.Shape, want.Shape) {
				t.Fatalf("shape %v, PyTorch's %v", got.Shape, want.Shape)
			}
			worst := 0.0
			for i, w := range want.F32 {
				worst = max(worst, math.Abs(float64(got.F32[i]-w)))
			}
			if worst > 1e-4 {
				t.Errorf("largest difference from PyTorch %g, more than 1e-4", worst)
			}
		})
	}
}

func equalShapes(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

var _ = ir.Batch
