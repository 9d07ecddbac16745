package train

import (
	"slices"
	"testing"

	"github.com/nnc-go/nnc/diag"
	"github.com/nnc-go/nnc/ir"
	"github.com/nnc-go/nnc/npy"
	"github.com/nnc-go/nnc/passes"
)

// TestForwardArraysBool feeds bool inputs (as bools, and as the int64 0
// and 1 npy.Read gives for NumPy's bools) and reads a bool output, as an
// ONNX model of And/Or/Xor has them (issue 13).
func TestForwardArraysBool(t *testing.T) {
	b := ir.NewBuilder("m.forward", "m")
	typ := ir.Type{DType: ir.Bool, Shape: ir.Shape{ir.Batch, 3}}
	p, err := b.Input("p", typ, diag.Pos{})
	if err != nil {
		t.Fatal(err)
	}
	q, err := b.Input("q", ir.Type{DType: ir.Bool, Shape: ir.Shape{3}}, diag.Pos{})
	if err != nil {
		t.Fatal(err)
	}
	y, err := b.Op(ir.OpXor, nil, diag.Pos{}, p, q)
	if err != nil {
		t.Fatal(err)
	}
	b.Output("out", y)
	prog := &ir.Program{Model: "m", Forward: b.Graph()}
	if err := passes.Run(prog.Forward, passes.Options{}); err != nil {
		t.Fatal(err)
	}
	in := map[string]*npy.Array{
		"p": {Shape: []int{2, 3}, Bool: []bool{true, false, true, false, false, true}},
		"q": {Shape: []int{3}, I64: []int64{1, 1, 0}},
	}
	out, err := ForwardArrays(prog, in, ArrayOptions{})
	if err != nil {
		t.Fatal(err)
	}
	want := []bool{false, true, true, true, true, true}
	if got := out["out"]; !slices.Equal(got.Shape, []int{2, 3}) || !slices.Equal(got.Bool, want) {
		t.Errorf("got %v %v, want [2 3] %v", got.Shape, got.Bool, want)
	}
	in["q"] = &npy.Array{Shape: []int{3}, I64: []int64{1, 2, 0}}
	if _, err := ForwardArrays(prog, in, ArrayOptions{}); err == nil {
		t.Error("an integer 2 for a bool input: no error")
	}
	in["q"] = &npy.Array{Shape: []int{3}, F32: []float32{1, 0, 0}}
	if _, err := ForwardArrays(prog, in, ArrayOptions{}); err == nil {
		t.Error("floats for a bool input: no error")
	}
}
