package ir

import (
	"fmt"
	"strings"
	"testing"

	"github.com/nnc-go/nnc/diag"
)

func fmtAttrs(as Attrs) string {
	parts := make([]string, len(as))
	for i, a := range as {
		parts[i] = a.Key + "=" + formatAttrVal(a.Val)
	}
	return fmt.Sprintf("{%s}", strings.Join(parts, ","))
}

// TestOnnxShapes checks the shape rules of the ONNX ops: the result types
// ONNX's specification gives, and a clear refusal of what it does not
// define or nnc cannot run.
func TestOnnxShapes(t *testing.T) {
	f := func(s ...int) Type { return Type{DType: F32, Shape: Shape(s)} }
	i64 := func(s ...int) Type { return Type{DType: I64, Shape: Shape(s)} }
	bl := func(s ...int) Type { return Type{DType: Bool, Shape: Shape(s)} }
	N := Batch
	for _, c := range []struct {
		op    Op
		attrs Attrs
		args  []Type
		want  Type
		err   string
	}{
		{op: OpExp, args: []Type{f(N, 3)}, want: f(N, 3)},
		{op: OpExp, args: []Type{i64(3)}, err: "needs a floating-point tensor"},
		{op: OpClip, attrs: Attrs{{"min", 2.0}, {"max", 1.0}}, args: []Type{f(3)}, err: "min 2 is larger than max 1"},
		{op: OpPow, args: []Type{f(N, 1, 4), f(3, 1)}, want: f(N, 3, 4)},
		{op: OpPRelu, args: []Type{f(N, 3, 4), f(3, 1)}, want: f(N, 3, 4)},
		{op: OpPRelu, args: []Type{f(3), f(2, 3)}, err: "does not broadcast to x"},
		{op: OpEqual, args: []Type{i64(N, 4), i64(4)}, want: bl(N, 4)},
		{op: OpLess, args: []Type{bl(4), bl(4)}, err: "needs floats or i64"},
		{op: OpNot, args: []Type{f(4)}, err: "needs a bool tensor"},
		{op: OpWhere, args: []Type{bl(N, 1), f(3), f(1, 1)}, want: f(N, 3)},
		{op: OpWhere, args: []Type{f(3), f(3), f(3)}, err: "condition f32[3] is not a bool tensor"},
		{op: OpWhere, args: []Type{bl(2), f(3), f(3)}, err: "do not broadcast"},
		{op: OpCast, attrs: Attrs{{"to", "i64"}}, args: []Type{f(N, 2)}, want: i64(N, 2)},
		{op: OpCast, attrs: Attrs{{"to", "f64"}}, args: []Type{f(2)}, err: "cast from f32 to f64 is not supported"},
		{op: OpCast, attrs: Attrs{{"to", "float"}}, args: []Type{f(2)}, err: "not an element type"},
		{op: OpReduceMean, attrs: Attrs{{"axes", []int{-1, 0}}}, args: []Type{f(N, 3, 4)}, want: f(1, 3, 1)},
		{op: OpReduceSum, attrs: Attrs{{"axes", []int{1}}, {"keepdims", 0}}, args: []Type{i64(N, 3, 4)}, want: i64(N, 4)},
		{op: OpReduceMax, args: []Type{f(2, 3)}, want: f(1, 1)},
		{op: OpReduceMax, attrs: Attrs{{"axes", []int{2}}}, args: []Type{f(2, 3)}, err: "axis 2 out of range"},
		{op: OpReduceSum, attrs: Attrs{{"axes", []int{1, -1}}}, args: []Type{f(2, 3)}, err: "repeat an axis"},
		{op: OpReduceMean, args: []Type{i64(2)}, err: "needs floats"},
		{op: OpConcat, attrs: Attrs{{"axis", -1}}, args: []Type{f(N, 2), f(N, 3), f(N, 1)}, want: f(N, 6)},
		{op: OpConcat, attrs: Attrs{{"axis", 0}}, args: []Type{f(N, 2), f(N, 2)}, err: "along the batch dimension"},
		{op: OpConcat, attrs: Attrs{{"axis", 1}}, args: []Type{f(2, 2), f(3, 2)}, err: "dimension 0 differs"},
		{op: OpSlice, attrs: Attrs{{"starts", []int{1}}, {"ends", []int{1 << 62}}, {"axes", []int{-1}}}, args: []Type{f(N, 5)}, want: f(N, 4)},
		{op: OpSlice, attrs: Attrs{{"starts", []int{-1}}, {"ends", []int{-1 << 62}}, {"steps", []int{-2}}}, args: []Type{f(5, N)}, want: f(3, N)},
		{op: OpSlice, attrs: Attrs{{"starts", []int{0, 2}}, {"ends", []int{1 << 31, 3}}}, args: []Type{f(N, 5)}, want: f(N, 1)},
		{op: OpSlice, attrs: Attrs{{"starts", []int{1}}, {"ends", []int{3}}}, args: []Type{f(N, 5)}, err: "along the batch dimension"},
		{op: OpSlice, attrs: Attrs{{"starts", []int{3}}, {"ends", []int{3}}, {"axes", []int{1}}}, args: []Type{f(N, 5)}, err: "is empty"},
		{op: OpSlice, attrs: Attrs{{"starts", []int{0}}, {"ends", []int{3}}, {"steps", []int{0}}}, args: []Type{f(5)}, err: "a step of 0"},
		{op: OpGather, attrs: Attrs{{"axis", 1}}, args: []Type{f(N, 5, 2), i64(3, 4)}, want: f(N, 3, 4, 2)},
		{op: OpGather, args: []Type{f(5, 2), i64()}, want: f(2)},
		{op: OpGather, args: []Type{f(N, 2), i64(3)}, err: "along the batch dimension"},
		{op: OpGather, args: []Type{f(5, 2), f(3)}, err: "needs i64 indices"},
		{op: OpTile, attrs: Attrs{{"repeats", []int{1, 3}}}, args: []Type{i64(N, 2)}, want: i64(N, 6)},
		{op: OpTile, attrs: Attrs{{"repeats", []int{2, 1}}}, args: []Type{f(N, 2)}, err: "batch dimension cannot repeat"},
		{op: OpTile, attrs: Attrs{{"repeats", []int{2}}}, args: []Type{f(3, 2)}, err: "one repeat per dimension"},
		{op: OpPad, attrs: Attrs{{"pads", []int{0, 1, 0, -2}}}, args: []Type{f(N, 4)}, want: f(N, 3)},
		{op: OpPad, attrs: Attrs{{"pads", []int{0, 4, 0, 0}}, {"mode", "reflect"}}, args: []Type{f(N, 4)}, err: "smaller than its dimension"},
		{op: OpPad, attrs: Attrs{{"pads", []int{1, 0, 0, 0}}}, args: []Type{f(N, 4)}, err: "along the batch dimension"},
		{op: OpPad, attrs: Attrs{{"pads", []int{0, 0}}, {"mode", "wrap"}}, args: []Type{f(4)}, err: `mode "wrap"`},
		{op: OpConv, attrs: Attrs{{"strides", []int{2}}, {"pads", []int{1, 2}}}, args: []Type{f(N, 3, 9), f(4, 3, 3), f(4)}, want: f(N, 4, 5)},
		{op: OpConv, attrs: Attrs{{"group", 3}, {"dilations", []int{2, 1}}}, args: []Type{f(N, 3, 7, 5), f(6, 1, 3, 3)}, want: f(N, 6, 3, 3)},
		{op: OpConv, attrs: Attrs{{"group", 2}}, args: []Type{f(N, 3, 7, 5), f(6, 1, 3, 3)}, err: "in 2 groups"},
		{op: OpConv, args: []Type{f(N, 3, 2, 5), f(6, 3, 3, 3)}, err: "larger than the padded input"},
		{op: OpConv, attrs: Attrs{{"pads", []int{1, 1}}}, args: []Type{f(N, 3, 4, 5), f(6, 3, 3, 3)}, err: "pads [1 1]: needs 4 entries"},
		{op: OpConv, args: []Type{f(N, 3, 4, 5), f(6, 3, 3, 3), f(5)}, err: "bias [5] does not match"},
		{op: OpMaxPool, attrs: Attrs{{"kernel_shape", []int{2, 2, 2}}, {"strides", []int{2, 2, 2}}}, args: []Type{f(N, 2, 4, 5, 6)}, want: f(N, 2, 2, 2, 3)},
		{op: OpAveragePool, attrs: Attrs{{"kernel_shape", []int{3}}, {"count_include_pad", 2}}, args: []Type{f(N, 2, 4)}, err: "count_include_pad must be 0 or 1"},
		{op: OpAveragePool, attrs: Attrs{{"kernel_shape", []int{3}}}, args: []Type{f(N, 4)}, err: "needs [N, C, D...]"},
		{op: OpMaxPool, attrs: Attrs{{"kernel_shape", []int{3, 2}}, {"strides", []int{2, 2}}, {"ceil_mode", 1}}, args: []Type{f(N, 1, 4, 5)}, want: f(N, 1, 2, 3)},
		{op: OpMaxPool, attrs: Attrs{{"kernel_shape", []int{2}}, {"strides", []int{2}}, {"pads", []int{1, 1}}, {"ceil_mode", 1}}, args: []Type{f(N, 1, 4)}, want: f(N, 1, 3)},
		{op: OpAveragePool, attrs: Attrs{{"kernel_shape", []int{2}}, {"strides", []int{3}}, {"pads", []int{0, 1}}, {"ceil_mode", 1}}, args: []Type{f(N, 1, 5)}, want: f(N, 1, 2)},
		{op: OpAveragePool, attrs: Attrs{{"kernel_shape", []int{2}}, {"count_include_pad", 1}, {"ceil_mode", 1}}, args: []Type{f(N, 1, 5)}, err: "not supported"},
	} {
		b := NewBuilder("g", "f")
		var args []*Value
		for i, a := range c.args {
			v, err := b.Input(string(rune('a'+i)), a, diag.Pos{})
			if err != nil {
				t.Fatal(err)
			}
			args = append(args, v)
		}
		v, err := b.Op(c.op, c.attrs, diag.Pos{}, args...)
		switch {
		case c.err != "" && (err == nil || !strings.Contains(err.Error(), c.err)):
			t.Errorf("%s%s of %v: got %v, want an error with %q", c.op, fmtAttrs(c.attrs), c.args, err, c.err)
		case c.err == "" && err != nil:
			t.Errorf("%s%s of %v: %v", c.op, fmtAttrs(c.attrs), c.args, err)
		case c.err == "" && !v.Type.Equal(c.want):
			t.Errorf("%s%s of %v: %s, want %s", c.op, fmtAttrs(c.attrs), c.args, v.Type, c.want)
		}
	}
}
