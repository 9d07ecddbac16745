package ir

import (
	"fmt"
	"math"
)

// ONNX's ArgMax, ArgMin, Trilu, NegativeLogLikelihoodLoss and ReduceProd
// (issue 13),
// with ONNX's attributes and semantics.

var (
	argAttrs = []AttrSpec{attr("axis", 0), attr("keepdims", 1), attr("select_last_index", 0)}
	// ignore_index is NoIgnoreIndex unless a target value is ignored.
	nllAttrs = []AttrSpec{attr("reduction", "mean"), attr("ignore_index", NoIgnoreIndex)}
)

// NoIgnoreIndex is NegativeLogLikelihoodLoss's ignore_index when no target
// is ignored (kernels.NoIgnoreIndex).
const NoIgnoreIndex = math.MinInt64

// nllReductions are NegativeLogLikelihoodLoss's reductions, as
// kernels.LossNone, LossSum and LossMean.
var nllReductions = map[string]int{"none": 0, "sum": 1, "mean": 2}

func argShape(args []Type, attrs Attrs, _ Type) (Type, error) {
	x := args[0]
	if !floatOrI64(x.DType) {
		return Type{}, shapeErr(ShapeDType, 0, "arg max or min of %s: needs floats or i64", x)
	}
	a, ok := NormAxis(attrs.Int("axis", 0), x.Shape.Rank())
	if !ok {
		return Type{}, shapeErr(ShapeRank, 0, "axis %d out of range for %s", attrs.Int("axis", 0), x.Shape)
	}
	if x.Shape[a] == 0 {
		return Type{}, shapeErr(ShapeRank, 0, "axis %d of %s is empty", a, x.Shape)
	}
	keep, last := attrs.Int("keepdims", 1), attrs.Int("select_last_index", 0)
	if keep != 0 && keep != 1 || last != 0 && last != 1 {
		return Type{}, fmt.Errorf("keepdims and select_last_index must be 0 or 1, not %d and %d", keep, last)
	}
	out := x.Shape.Clone()
	if keep == 1 {
		out[a] = 1
	} else {
		out = append(out[:a], out[a+1:]...)
	}
	return Type{DType: I64, Shape: out}, nil
}

func lowerArg(kernel string) func(*Graph, *Value) []Call {
	return func(_ *Graph, v *Value) []Call {
		x := v.Args[0]
		s := x.Type.Shape
		a, _ := NormAxis(v.AttrInt("axis"), s.Rank())
		return []Call{call(i64Kernel(kernel, x), buf(v), buf(x), dim(elems(s[:a])), dim(elems(s[a:a+1])), dim(elems(s[a+1:])), flag(v.AttrInt("select_last_index") == 1))}
	}
}

func triluShape(args []Type, attrs Attrs, _ Type) (Type, error) {
	x := args[0]
	if !floatOrI64(x.DType) {
		return Type{}, shapeErr(ShapeDType, 0, "trilu of %s: needs floats or i64", x)
	}
	r := x.Shape.Rank()
	if r < 2 {
		return Type{}, shapeErr(ShapeRank, 0, "trilu of %s: needs matrices, of 2 dimensions or more", x.Shape)
	}
	if u := attrs.Int("upper", 1); u != 0 && u != 1 {
		return Type{}, fmt.Errorf("trilu: upper must be 0 or 1, not %d", u)
	}
	return x, nil
}

func lowerTrilu(_ *Graph, v *Value) []Call {
	x := v.Args[0]
	s := x.Type.Shape
	r := s.Rank()
	return []Call{call(i64Kernel("Trilu", x), buf(v), buf(x), dim(elems(s[:r-2])), dim(elems(s[r-2:r-1])), dim(elems(s[r-1:])), num(v.AttrInt("k")), flag(v.AttrInt("upper") == 1))}
}

// nllShape: x [N, C, d...] floats, target i64 [N, d...], weight [C]; the
// losses of target's shape for reduction "none", else a scalar.
func nllShape(args []Type, attrs Attrs, _ Type) (Type, error) {
	if err := nllArgs(args); err != nil {
		return Type{}, err
	}
	red, ok := nllReductions[attrs.String("reduction")]
	if !ok {
		return Type{}, fmt.Errorf("reduction %q: needs \"none\", \"sum\" or \"mean\"", attrs.String("reduction"))
	}
	if red == 0 {
		return Type{DType: args[0].DType, Shape: args[1].Shape}, nil
	}
	return Type{DType: args[0].DType, Shape: Shape{}}, nil
}

func nllArgs(args []Type) error {
	x, t := args[0], args[1]
	if !x.DType.IsFloat() {
		return shapeErr(ShapeDType, 0, "negative log-likelihood of %s: needs floats", x)
	}
	if x.Shape.Rank() < 2 || x.Shape[1] == Batch {
		return shapeErr(ShapeRank, 0, "negative log-likelihood of %s: needs [N, C, d...]", x.Shape)
	}
	if t.DType != I64 {
		return shapeErr(ShapeDType, 1, "targets %s are not i64 class indices", t)
	}
	want := append(Shape{x.Shape[0]}, x.Shape[2:]...)
	if !t.Shape.Equal(want) {
		return shapeErr(ShapeBroadcast, 1, "targets %s for input %s: need %s", t.Shape, x.Shape, want)
	}
	if len(args) == 3 {
		w := args[2]
		if w.DType != x.DType || !w.Shape.Equal(Shape{x.Shape[1]}) {
			return shapeErr(ShapeBroadcast, 2, "class weights %s for input %s: need %s[%d]", w, x.Shape, x.DType, x.Shape[1])
		}
	}
	return nil
}

func nllGradShape(args []Type, attrs Attrs, decl Type) (Type, error) {
	t, err := nllShape(args[1:], attrs, decl)
	if err != nil {
		return Type{}, err
	}
	if dy := args[0]; !dy.Shape.Equal(t.Shape) || dy.DType != t.DType {
		return Type{}, shapeErr(ShapeBroadcast, 0, "gradient %s of a loss %s", dy, t)
	}
	return args[1], nil
}

// lowerNLL lowers NegativeLogLikelihoodLoss and its gradient, whose first
// argument is the loss's gradient.
func lowerNLL(_ *Graph, v *Value) []Call {
	args := v.Args
	kernel := "NegativeLogLikelihoodLoss"
	ops := []Operand{buf(v)}
	if v.Op == OpNegativeLogLikelihoodLossGrad {
		kernel += "Backward"
		ops = append(ops, buf(args[0]))
		args = args[1:]
	} else {
		ops = append(ops, buf(args[0]))
	}
	s := args[0].Type.Shape
	w := Operand{Kind: OpdNil}
	if len(args) == 3 {
		w = buf(args[2])
	}
	ops = append(ops, buf(args[1]), w, dim(elems(s[:1])), num(s[1]), dim(elems(s[2:])),
		num(nllReductions[v.AttrString("reduction")]), num(v.AttrInt("ignore_index")))
	return []Call{call(kernel, ops...)}
}

func init() {
	// Not yet differentiated (dy·y/x fails where x holds a 0): the grad
	// pass says it cannot train through ReduceProd, at the user's line.
	opTable[OpReduceProd].VJP = func(*Graph, *Value, *Value) []*Value { return nil }
	opTable[OpTrilu].VJP = func(g *Graph, v, dy *Value) []*Value {
		if !v.Type.DType.IsFloat() {
			return []*Value{nil}
		}
		return []*Value{g.NewValue(OpTrilu, v.Attrs, v.Pos, dy)}
	}
	// The gradient flows into the log-probabilities; none into the
	// targets, and none into the class weights (the grad pass says so if
	// they are trained).
	opTable[OpNegativeLogLikelihoodLoss].VJP = func(g *Graph, v, dy *Value) []*Value {
		args := append([]*Value{dy}, v.Args...)
		out := []*Value{g.NewValue(OpNegativeLogLikelihoodLossGrad, v.Attrs, v.Pos, args...), nil}
		if len(v.Args) == 3 {
			out = append(out, nil)
		}
		return out
	}
}
