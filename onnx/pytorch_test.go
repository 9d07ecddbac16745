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

// importAt4 imports m with opt and compiles its forward graph for batch 4.
func importAt4(t *testing.T, m *onnx.Model, opt onnx.Options) (*onnx.Imported, *ir.Graph) {
	t.Helper()
	im, err := onnx.Import(m, opt)
	if err != nil {
		t.Fatal(err)
	}
	g := im.Program.Forward
	g.Attrs = g.Attrs.Set("batch", 4)
	if err := passes.Run(g, passes.Options{Verify: true}); err != nil {
		t.Fatal(err)
	}
	return im, g
}

// run imports the model at path and runs its forward pass over the
// arrays, through the interpreter.
func run(t *testing.T, path string, dims map[string]int, in map[string]*npy.Array) map[string]*npy.Array {
	t.Helper()
	m, err := onnx.Read(path)
	if err != nil {
		t.Fatal(err)
	}
	im, _ := importAt4(t, m, onnx.Options{Dims: dims})
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
	}{
		{name: "mlp", input: "x"},
		{name: "cnn", input: "x"},
		{name: "depthwise", input: "x"},
		// The attention of nn.TransformerEncoderLayer reshapes to [T, N·heads, D]:
		// its batch is fixed (--set N=4).
		{name: "encoder", input: "ids", dims: map[string]int{"N": 4}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := "../testdata/onnx/"
			x, err := npy.Read(dir + tc.name + ".in.npy")
			if err != nil {
				t.Fatal(err)
			}
			want, err := npy.Read(dir + tc.name + ".out.npy")
			if err != nil {
				t.Fatal(err)
			}
			got := run(t, dir+tc.name+".onnx", tc.dims, map[string]*npy.Array{tc.input: x})["y"]
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
