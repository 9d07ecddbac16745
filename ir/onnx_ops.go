package ir

import (
	"fmt"
	"slices"
)

// The shape rules, lowerings and VJPs of the ONNX op set (issue 13). Each
// op follows ONNX's operator specification; where ONNX takes a constant
// input (Clip's min and max, Slice's starts, Pad's pads, Expand's shape,
// Tile's repeats, Reduce's axes), the IR holds it as an attribute, which an
// importer folds.

// maxConcat is the most inputs one Concat takes.
const maxConcat = 256

var (
	reduceAttrs      = []AttrSpec{attr("axes", []int{}), attr("keepdims", 1)}
	convNDAttrs      = []AttrSpec{attr("strides", []int{}), attr("pads", []int{}), attr("dilations", []int{}), attr("group", 1)}
	maxPoolAttrs     = []AttrSpec{need("kernel_shape", []int{}), attr("strides", []int{}), attr("pads", []int{}), attr("dilations", []int{}), attr("ceil_mode", 0)}
	averagePoolAttrs = []AttrSpec{need("kernel_shape", []int{}), attr("strides", []int{}), attr("pads", []int{}), attr("count_include_pad", 0), attr("ceil_mode", 0)}
)

// floatShape: an element-wise op of a float tensor.
func floatShape(args []Type, _ Attrs, _ Type) (Type, error) {
	if !args[0].DType.IsFloat() {
		return Type{}, shapeErr(ShapeDType, 0, "needs a floating-point tensor, not %s", args[0])
	}
	return args[0], nil
}

func clipShape(args []Type, attrs Attrs, decl Type) (Type, error) {
	if lo, hi := attrs.Float("min", 0), attrs.Float("max", 0); lo > hi {
		return Type{}, fmt.Errorf("clip: min %v is larger than max %v", lo, hi)
	}
	return floatShape(args, attrs, decl)
}

// unaryGradOf are the ops UnaryGrad differentiates: each has a kernel
// named after it with Backward appended.
var unaryGradOf = []string{"Exp", "Log", "Sqrt", "Abs", "Erf", "Softplus", "Softsign", "LeakyRelu", "Elu", "Selu",
	"HardSigmoid", "HardSwish", "Clip", "Reciprocal", "Floor", "Ceil"}

func unaryGradShape(args []Type, attrs Attrs, decl Type) (Type, error) {
	if !slices.Contains(unaryGradOf, attrs.String("of")) {
		return Type{}, fmt.Errorf("UnaryGrad of %q, not an element-wise op with a gradient kernel", attrs.String("of"))
	}
	return gradShape(args, attrs, decl)
}

func floatBroadcastShape(args []Type, attrs Attrs, decl Type) (Type, error) {
	if !args[0].DType.IsFloat() {
		return Type{}, shapeErr(ShapeDType, 0, "needs floating-point tensors, not %s", args[0])
	}
	return broadcastShape(args, attrs, decl)
}

// preluShape: the slope broadcasts to x, which keeps its shape.
func preluShape(args []Type, attrs Attrs, decl Type) (Type, error) {
	t, err := floatBroadcastShape(args, attrs, decl)
	if err != nil {
		return Type{}, err
	}
	if !t.Shape.Equal(args[0].Shape) {
		return Type{}, shapeErr(ShapeBroadcast, 1, "prelu slope %s does not broadcast to x %s", args[1].Shape, args[0].Shape)
	}
	return t, nil
}

// floatOrI64 reports whether the data-movement kernels take dt.
func floatOrI64(dt DType) bool { return dt.IsFloat() || dt == I64 }

func compareShape(args []Type, attrs Attrs, decl Type) (Type, error) {
	if !floatOrI64(args[0].DType) {
		return Type{}, shapeErr(ShapeDType, 0, "comparison of %s: needs floats or i64", args[0])
	}
	t, err := broadcastShape(args, attrs, decl)
	if err != nil {
		return Type{}, err
	}
	return Type{DType: Bool, Shape: t.Shape}, nil
}

// arithShape: a binary op of floats or i64, broadcast.
func arithShape(args []Type, attrs Attrs, decl Type) (Type, error) {
	if !floatOrI64(args[0].DType) {
		return Type{}, shapeErr(ShapeDType, 0, "needs floats or i64, not %s", args[0])
	}
	return broadcastShape(args, attrs, decl)
}

// arithUnaryShape: an element-wise op of floats or i64.
func arithUnaryShape(args []Type, _ Attrs, _ Type) (Type, error) {
	if !floatOrI64(args[0].DType) {
		return Type{}, shapeErr(ShapeDType, 0, "needs floats or i64, not %s", args[0])
	}
	return args[0], nil
}

func logicShape(args []Type, attrs Attrs, decl Type) (Type, error) {
	if args[0].DType != Bool {
		return Type{}, shapeErr(ShapeDType, 0, "needs bool tensors, not %s", args[0])
	}
	return broadcastShape(args, attrs, decl)
}

func modShape(args []Type, attrs Attrs, decl Type) (Type, error) {
	switch fmod := attrs.Int("fmod", 0); {
	case fmod != 0 && fmod != 1:
		return Type{}, fmt.Errorf("mod: fmod is %d, not 0 or 1", fmod)
	case args[0].DType.IsFloat() && fmod != 1:
		return Type{}, fmt.Errorf("mod of floats needs fmod = 1 (the remainder with the dividend's sign)")
	}
	return arithShape(args, attrs, decl)
}

func notShape(args []Type, _ Attrs, _ Type) (Type, error) {
	if args[0].DType != Bool {
		return Type{}, shapeErr(ShapeDType, 0, "not of %s: needs a bool tensor", args[0])
	}
	return args[0], nil
}

func whereShape(args []Type, _ Attrs, _ Type) (Type, error) {
	c, a, b := args[0], args[1], args[2]
	if c.DType != Bool {
		return Type{}, shapeErr(ShapeDType, 0, "where's condition %s is not a bool tensor", c)
	}
	if a.DType != b.DType {
		return Type{}, shapeErr(ShapeDType, -1, "where of %s and %s: mixed element types", a.DType, b.DType)
	}
	if !floatOrI64(a.DType) {
		return Type{}, shapeErr(ShapeDType, 1, "where of %s: needs floats or i64", a)
	}
	s, ok := Broadcast(c.Shape, a.Shape)
	if ok {
		s, ok = Broadcast(s, b.Shape)
	}
	if !ok {
		return Type{}, shapeErr(ShapeBroadcast, -1, "shapes %s, %s and %s do not broadcast", c.Shape, a.Shape, b.Shape)
	}
	return Type{DType: a.DType, Shape: s}, nil
}

// castKernels names the kernel of each cast the back ends run: from the
// argument's element type to the result's. A float type is the model's.
func castKernel(from, to DType) string {
	switch {
	case from == to && from.IsFloat():
		return "Copy"
	case from == to && from == I64:
		return "CopyI64"
	case from.IsFloat() && to == I64:
		return "CastToI64"
	case from == I64 && to.IsFloat():
		return "CastFromI64"
	case from.IsFloat() && to == Bool:
		return "CastToBool"
	case from == Bool && to.IsFloat():
		return "CastFromBool"
	case from == I64 && to == Bool:
		return "CastI64ToBool"
	case from == Bool && to == I64:
		return "CastBoolToI64"
	case from == I32 && to.IsFloat():
		return "CastFromI32"
	case from == I32 && to == I64:
		return "CastI32ToI64"
	}
	return ""
}

func castShape(args []Type, attrs Attrs, _ Type) (Type, error) {
	to, ok := ParseDType(attrs.String("to"))
	if !ok {
		return Type{}, fmt.Errorf("cast to %q: not an element type (f32, f64, i64, i32, bool)", attrs.String("to"))
	}
	from := args[0].DType
	if castKernel(from, to) == "" || (from.IsFloat() && to.IsFloat() && from != to) {
		return Type{}, shapeErr(ShapeDType, 0, "cast from %s to %s is not supported", from, to)
	}
	return Type{DType: to, Shape: args[0].Shape}, nil
}

// reduceAxes returns the axes of a Reduce op over a tensor of rank r,
// normalized and sorted (all of them when none are given).
func reduceAxes(axes []int, r int) ([]int, error) {
	if len(axes) == 0 {
		out := make([]int, r)
		for i := range out {
			out[i] = i
		}
		return out, nil
	}
	out := make([]int, len(axes))
	for i, a := range axes {
		n, ok := NormAxis(a, r)
		if !ok {
			return nil, shapeErr(ShapeAxis, 0, "axis %d out of range for rank %d", a, r)
		}
		out[i] = n
	}
	slices.Sort(out)
	if len(slices.Compact(slices.Clone(out))) != len(out) {
		return nil, fmt.Errorf("axes %v repeat an axis", axes)
	}
	return out, nil
}

// axesMask is the bit mask of axes the reduction kernels take.
func axesMask(axes []int) int {
	m := 0
	for _, a := range axes {
		m |= 1 << a
	}
	return m
}

func reduceAxesShape(ints bool) func([]Type, Attrs, Type) (Type, error) {
	return func(args []Type, attrs Attrs, _ Type) (Type, error) {
		x := args[0]
		if !x.DType.IsFloat() && !(ints && x.DType == I64) {
			return Type{}, shapeErr(ShapeDType, 0, "reduction of %s: needs floats%s", x, map[bool]string{true: " or i64"}[ints])
		}
		if x.Shape.Rank() > maxRank {
			return Type{}, shapeErr(ShapeRank, 0, "reduction of %s: more than %d dimensions", x, maxRank)
		}
		axes, err := reduceAxes(attrs.Ints("axes"), x.Shape.Rank())
		if err != nil {
			return Type{}, err
		}
		keep := attrs.Int("keepdims", 1)
		if keep != 0 && keep != 1 {
			return Type{}, fmt.Errorf("keepdims must be 0 or 1, not %d", keep)
		}
		var out Shape
		for i, d := range x.Shape {
			switch {
			case !slices.Contains(axes, i):
				out = append(out, d)
			case keep == 1:
				out = append(out, 1)
			}
		}
		return Type{DType: x.DType, Shape: out}, nil
	}
}

// maxRank is the most dimensions the data-movement kernels walk
// (kernels.MaxRank).
const maxRank = 8

func lowerReduceAxes(kernel string) func(*Graph, *Value) []Call {
	return func(_ *Graph, v *Value) []Call {
		x := v.Args[0]
		axes, _ := reduceAxes(v.AttrInts("axes"), x.Type.Shape.Rank())
		return []Call{call(i64Kernel(kernel, x), buf(v), buf(x), shapeOf(x), num(axesMask(axes)))}
	}
}

// i64Kernel names the int64 form of a kernel when x holds i64.
func i64Kernel(kernel string, x *Value) string {
	if x.Type.DType == I64 {
		return kernel + "I64"
	}
	return kernel
}

func reduceGradShape(args []Type, attrs Attrs, _ Type) (Type, error) {
	dy, x := args[0], args[1]
	axes, err := reduceAxes(attrs.Ints("axes"), x.Shape.Rank())
	if err != nil {
		return Type{}, err
	}
	want := x.Shape.Clone()
	for _, a := range axes {
		want[a] = 1
	}
	if dy.DType != x.DType || !x.DType.IsFloat() || dy.Shape.Elems() != want.Elems() || dy.Shape.HasBatch() != want.HasBatch() {
		return Type{}, fmt.Errorf("reduction gradient %s for an input %s over axes %v", dy, x, axes)
	}
	return x, nil
}

func lowerReduceGrad(_ *Graph, v *Value) []Call {
	x := v.Args[1]
	axes, _ := reduceAxes(v.AttrInts("axes"), x.Type.Shape.Rank())
	return []Call{call("ReduceBackward", buf(v), shapeOf(x), buf(v.Args[0]), num(axesMask(axes)), flag(v.AttrBool("mean")))}
}

func vjpReduce(mean bool) func(g *Graph, v, dy *Value) []*Value {
	return func(g *Graph, v, dy *Value) []*Value {
		x := v.Args[0]
		axes, _ := reduceAxes(v.AttrInts("axes"), x.Type.Shape.Rank())
		return []*Value{g.NewValue(OpReduceGrad, Attrs{{"axes", axes}, {"mean", mean}}, v.Pos, dy, x)}
	}
}

func concatShape(args []Type, attrs Attrs, _ Type) (Type, error) {
	if err := sameDType(args); err != nil {
		return Type{}, err
	}
	if !floatOrI64(args[0].DType) {
		return Type{}, shapeErr(ShapeDType, 0, "concat of %s: needs floats or i64", args[0])
	}
	s0 := args[0].Shape
	a, ok := NormAxis(attrs.Int("axis", 0), s0.Rank())
	if !ok {
		return Type{}, shapeErr(ShapeAxis, 0, "concat along axis %d of %s", attrs.Int("axis", 0), s0)
	}
	out := s0.Clone()
	out[a] = 0
	for i, t := range args {
		s := t.Shape
		if s.Rank() != s0.Rank() {
			return Type{}, shapeErr(ShapeRank, i, "concat of %s and %s: ranks differ", s0, s)
		}
		for k := range s {
			if k != a && s[k] != s0[k] {
				return Type{}, shapeErr(ShapeMismatch, i, "concat of %s and %s along axis %d: dimension %d differs", s0, s, a, k)
			}
		}
		if s[a] == Batch {
			return Type{}, shapeErr(ShapeBatchAxis, i, "concat of %s along the batch dimension", s)
		}
		out[a] += s[a]
	}
	return Type{DType: args[0].DType, Shape: out}, nil
}

func lowerConcat(_ *Graph, v *Value) []Call {
	s := v.Type.Shape
	a, _ := NormAxis(v.AttrInt("axis"), s.Rank())
	outer, inner := elems(s[:a]), elems(s[a+1:])
	var cs []Call
	off := 0
	for _, x := range v.Args {
		d := x.Type.Shape[a]
		cs = append(cs, call(i64Kernel("ConcatInto", x), buf(v), buf(x), dim(outer), num(d), dim(inner), num(off), num(s[a])))
		off += d
	}
	return cs
}

// vjpConcat slices dy back into the pieces.
func vjpConcat(g *Graph, v, dy *Value) []*Value {
	s := v.Type.Shape
	a, _ := NormAxis(v.AttrInt("axis"), s.Rank())
	out := make([]*Value, len(v.Args))
	off := 0
	for i, x := range v.Args {
		d := x.Type.Shape[a]
		out[i] = g.NewValue(OpSlice, Attrs{{"starts", []int{off}}, {"ends", []int{off + d}}, {"axes", []int{a}}}, v.Pos, dy)
		off += d
	}
	return out
}

// sliceBounds are a Slice's start and step along every dimension of x,
// ONNX's bounds normalized and clamped, and the result's shape.
func sliceBounds(x Shape, attrs Attrs) (starts, steps []int, out Shape, err error) {
	r := x.Rank()
	st, en, ax, sp := attrs.Ints("starts"), attrs.Ints("ends"), attrs.Ints("axes"), attrs.Ints("steps")
	if len(st) != len(en) || len(st) == 0 {
		return nil, nil, nil, fmt.Errorf("slice: starts %v and ends %v need one entry per axis sliced", st, en)
	}
	if len(ax) == 0 {
		for i := range st {
			ax = append(ax, i)
		}
	}
	if len(sp) == 0 {
		sp = slices.Repeat([]int{1}, len(st))
	}
	if len(ax) != len(st) || len(sp) != len(st) {
		return nil, nil, nil, fmt.Errorf("slice: starts %v, ends %v, axes %v and steps %v differ in length", st, en, ax, sp)
	}
	starts, steps, out = make([]int, r), slices.Repeat([]int{1}, r), x.Clone()
	seen := map[int]bool{}
	for i, a0 := range ax {
		a, ok := NormAxis(a0, r)
		if !ok || seen[a] {
			return nil, nil, nil, shapeErr(ShapeAxis, 0, "slice of %s along axis %d: out of range or repeated", x, a0)
		}
		seen[a] = true
		step := sp[i]
		if step == 0 {
			return nil, nil, nil, fmt.Errorf("slice: a step of 0")
		}
		d := x[a]
		if d == Batch {
			if st[i] != 0 || step != 1 || en[i] < 1<<31-1 {
				return nil, nil, nil, shapeErr(ShapeBatchAxis, 0, "slice of %s along the batch dimension", x)
			}
			continue
		}
		s, e := st[i], en[i]
		if s < 0 {
			s += d
		}
		if e < 0 {
			e += d
		}
		var n int
		if step > 0 {
			s, e = min(max(s, 0), d), min(max(e, 0), d)
			n = (e - s + step - 1) / step
		} else {
			s, e = min(max(s, 0), d-1), min(max(e, -1), d-1)
			n = (s - e - step - 1) / -step
		}
		if n <= 0 {
			return nil, nil, nil, shapeErr(ShapeWindow, 0, "slice of %s along axis %d from %d to %d by %d is empty", x, a, st[i], en[i], step)
		}
		starts[a], steps[a], out[a] = s, step, n
	}
	return starts, steps, out, nil
}

func sliceShape(args []Type, attrs Attrs, _ Type) (Type, error) {
	if !floatOrI64(args[0].DType) {
		return Type{}, shapeErr(ShapeDType, 0, "slice of %s: needs floats or i64", args[0])
	}
	if args[0].Shape.Rank() > maxRank {
		return Type{}, shapeErr(ShapeRank, 0, "slice of %s: more than %d dimensions", args[0], maxRank)
	}
	_, _, out, err := sliceBounds(args[0].Shape, attrs)
	if err != nil {
		return Type{}, err
	}
	return Type{DType: args[0].DType, Shape: out}, nil
}

// sliceAttrs are a Slice value's attributes, defaults included.
func sliceAttrs(v *Value) Attrs {
	return Attrs{{"starts", v.AttrInts("starts")}, {"ends", v.AttrInts("ends")}, {"axes", v.AttrInts("axes")}, {"steps", v.AttrInts("steps")}}
}

func lowerSlice(_ *Graph, v *Value) []Call {
	x := v.Args[0]
	starts, steps, _, _ := sliceBounds(x.Type.Shape, sliceAttrs(v))
	return []Call{call(i64Kernel("SliceCopy", x), buf(v), shapeOf(v), buf(x), shapeOf(x), intList(starts), intList(steps))}
}

func sliceGradShape(args []Type, attrs Attrs, _ Type) (Type, error) {
	dy, x := args[0], args[1]
	_, _, out, err := sliceBounds(x.Shape, attrs)
	if err != nil {
		return Type{}, err
	}
	if !x.DType.IsFloat() || !dy.Equal(Type{DType: x.DType, Shape: out}) {
		return Type{}, fmt.Errorf("slice gradient %s for a slice of %s", dy, x)
	}
	return x, nil
}

func lowerSliceGrad(_ *Graph, v *Value) []Call {
	x := v.Args[1]
	starts, steps, _, _ := sliceBounds(x.Type.Shape, sliceAttrs(v))
	return []Call{call("SliceBackward", buf(v), shapeOf(x), buf(v.Args[0]), shapeOf(v.Args[0]), intList(starts), intList(steps))}
}

// vjpSlice pads dy back to x's shape with zeros for steps of 1, else
// scatters it (SliceGrad).
func vjpSlice(g *Graph, v, dy *Value) []*Value {
	x := v.Args[0].Type.Shape
	starts, steps, out, _ := sliceBounds(x, sliceAttrs(v))
	pads := make([]int, 2*x.Rank())
	for i := range x {
		if steps[i] != 1 {
			return []*Value{g.NewValue(OpSliceGrad, v.Attrs, v.Pos, dy, v.Args[0])}
		}
		if x[i] != Batch {
			pads[i], pads[x.Rank()+i] = starts[i], x[i]-starts[i]-out[i]
		}
	}
	return []*Value{g.NewValue(OpPad, Attrs{{"pads", pads}}, v.Pos, dy)}
}

// gatherAxis checks the operands of a gather (data of floats or i64, i64
// indices) and returns its axis, counted from 0.
func gatherAxis(name string, x, ids Type, attrs Attrs) (int, error) {
	if !floatOrI64(x.DType) {
		return 0, shapeErr(ShapeDType, 0, "%s from %s: needs floats or i64", name, x)
	}
	if ids.DType != I64 {
		return 0, shapeErr(ShapeDType, 1, "%s with indices %s: needs i64 indices", name, ids)
	}
	a, ok := NormAxis(attrs.Int("axis", 0), x.Shape.Rank())
	if !ok {
		return 0, shapeErr(ShapeAxis, 0, "%s along axis %d of %s", name, attrs.Int("axis", 0), x.Shape)
	}
	return a, nil
}

func gatherShape(args []Type, attrs Attrs, _ Type) (Type, error) {
	x, ids := args[0], args[1]
	a, err := gatherAxis("gather", x, ids, attrs)
	if err != nil {
		return Type{}, err
	}
	if x.Shape[a] == Batch {
		return Type{}, shapeErr(ShapeBatchAxis, 0, "gather along the batch dimension of %s", x.Shape)
	}
	out := append(append(x.Shape[:a].Clone(), ids.Shape...), x.Shape[a+1:]...)
	return Type{DType: x.DType, Shape: out}, nil
}

func lowerGather(_ *Graph, v *Value) []Call {
	x, ids := v.Args[0], v.Args[1]
	s := x.Type.Shape
	a, _ := NormAxis(v.AttrInt("axis"), s.Rank())
	return []Call{call(i64Kernel("Gather", x), buf(v), buf(x), buf(ids), dim(elems(s[:a])), num(s[a]), dim(elems(s[a+1:])))}
}

// gatherElementsShape: the result has the indices' shape, which matches
// the data's rank and is no larger off the axis; the batch dimension must
// be both or neither's, and not the axis.
func gatherElementsShape(args []Type, attrs Attrs, _ Type) (Type, error) {
	x, ids := args[0], args[1]
	a, err := gatherAxis("gather_elements", x, ids, attrs)
	if err != nil {
		return Type{}, err
	}
	r := x.Shape.Rank()
	if ids.Shape.Rank() != r {
		return Type{}, shapeErr(ShapeRank, 1, "gather_elements: indices %s and data %s differ in rank", ids.Shape, x.Shape)
	}
	for k := range r {
		dx, di := x.Shape[k], ids.Shape[k]
		switch {
		case (dx == Batch) != (di == Batch):
			return Type{}, shapeErr(ShapeBatchAxis, 1, "gather_elements: indices %s and data %s, the batch dimension in one only", ids.Shape, x.Shape)
		case dx == Batch && k == a:
			return Type{}, shapeErr(ShapeBatchAxis, 0, "gather_elements along the batch dimension of %s", x.Shape)
		case k != a && di > dx:
			return Type{}, shapeErr(ShapeBroadcast, 1, "gather_elements: indices %s larger than data %s off axis %d", ids.Shape, x.Shape, a)
		}
	}
	return Type{DType: x.DType, Shape: ids.Shape}, nil
}

func lowerGatherElements(_ *Graph, v *Value) []Call {
	x, ids := v.Args[0], v.Args[1]
	a, _ := NormAxis(v.AttrInt("axis"), x.Type.Shape.Rank())
	return []Call{call(i64Kernel("GatherElements", x), buf(v), buf(x), shapeOf(x), buf(ids), shapeOf(ids), num(a))}
}

func expandShape(args []Type, _ Attrs, decl Type) (Type, error) {
	x := args[0]
	if !floatOrI64(x.DType) {
		return Type{}, shapeErr(ShapeDType, 0, "expand of %s: needs floats or i64", x)
	}
	if s, ok := Broadcast(x.Shape, decl.Shape); !ok || !s.Equal(decl.Shape) || decl.DType != x.DType {
		return Type{}, shapeErr(ShapeDeclared, 0, "cannot expand %s to %s", x, decl)
	}
	return decl, nil
}

func lowerExpand(_ *Graph, v *Value) []Call {
	x := v.Args[0]
	k := "BroadcastTo"
	if x.Type.DType == I64 {
		k = "BroadcastToI64"
	}
	return []Call{call(k, buf(v), shapeOf(v), buf(x), shapeOf(x))}
}

func tileShape(args []Type, attrs Attrs, _ Type) (Type, error) {
	x := args[0]
	if !floatOrI64(x.DType) {
		return Type{}, shapeErr(ShapeDType, 0, "tile of %s: needs floats or i64", x)
	}
	rep := attrs.Ints("repeats")
	if len(rep) != x.Shape.Rank() || x.Shape.Rank() > maxRank {
		return Type{}, shapeErr(ShapeRank, 0, "tile of %s with repeats %v: needs one repeat per dimension", x.Shape, rep)
	}
	out := x.Shape.Clone()
	for i, r := range rep {
		switch {
		case r < 1:
			return Type{}, fmt.Errorf("tile: repeats %v must be positive", rep)
		case out[i] == Batch && r != 1:
			return Type{}, shapeErr(ShapeBatchAxis, 0, "tile of %s: the batch dimension cannot repeat", x.Shape)
		case out[i] != Batch:
			out[i] *= r
		}
	}
	return Type{DType: x.DType, Shape: out}, nil
}

func lowerTile(_ *Graph, v *Value) []Call {
	x := v.Args[0]
	return []Call{call(i64Kernel("Tile", x), buf(v), shapeOf(v), buf(x), shapeOf(x))}
}

// The modes of Pad, as kernels.PadConstant, PadReflect and PadEdge.
var padModes = map[string]int{"constant": 0, "reflect": 1, "edge": 2}

func padShape(args []Type, attrs Attrs, _ Type) (Type, error) {
	x := args[0]
	if !floatOrI64(x.DType) {
		return Type{}, shapeErr(ShapeDType, 0, "pad of %s: needs floats or i64", x)
	}
	mode, ok := padModes[attrs.String("mode")]
	if !ok {
		return Type{}, fmt.Errorf("pad: mode %q, needs \"constant\", \"reflect\" or \"edge\"", attrs.String("mode"))
	}
	r := x.Shape.Rank()
	pads := attrs.Ints("pads")
	if len(pads) != 2*r || r > maxRank {
		return Type{}, shapeErr(ShapeRank, 0, "pad of %s with pads %v: needs a begin and an end per dimension", x.Shape, pads)
	}
	out := x.Shape.Clone()
	for i := range out {
		b, e := pads[i], pads[r+i]
		if out[i] == Batch {
			if b != 0 || e != 0 {
				return Type{}, shapeErr(ShapeBatchAxis, 0, "pad of %s along the batch dimension", x.Shape)
			}
			continue
		}
		if mode == 1 && (b >= out[i] || e >= out[i]) {
			return Type{}, shapeErr(ShapeWindow, 0, "reflect pad of %s by %v: a pad must be smaller than its dimension", x.Shape, pads)
		}
		out[i] += b + e
		if out[i] <= 0 {
			return Type{}, shapeErr(ShapeWindow, 0, "pad of %s by %v leaves nothing", x.Shape, pads)
		}
	}
	return Type{DType: x.DType, Shape: out}, nil
}

func lowerPad(_ *Graph, v *Value) []Call {
	x := v.Args[0]
	r := x.Type.Shape.Rank()
	pads := v.AttrInts("pads")
	return []Call{call(i64Kernel("Pad", x), buf(v), shapeOf(v), buf(x), shapeOf(x), intList(pads[:r]),
		num(padModes[v.AttrString("mode")]), flt(v.AttrFloat("value")))}
}

// vjpPad slices dy back to x for a constant pad by non-negative amounts.
func vjpPad(g *Graph, v, dy *Value) []*Value {
	x := v.Args[0].Type.Shape
	r := x.Rank()
	pads := v.AttrInts("pads")
	if v.AttrString("mode") != "constant" {
		return nil
	}
	var st, en, ax []int
	for i := range x {
		if pads[i] < 0 || pads[r+i] < 0 {
			return nil
		}
		if pads[i] != 0 || pads[r+i] != 0 {
			st, en, ax = append(st, pads[i]), append(en, pads[i]+x[i]), append(ax, i)
		}
	}
	if len(ax) == 0 {
		return []*Value{dy}
	}
	return []*Value{g.NewValue(OpSlice, Attrs{{"starts", st}, {"ends", en}, {"axes", ax}}, v.Pos, dy)}
}

// lowerUnaryAttrs is an element-wise kernel taking the attributes keys
// after its buffers, as floats.
func lowerUnaryAttrs(kernel string, keys ...string) func(*Graph, *Value) []Call {
	return func(_ *Graph, v *Value) []Call {
		args := []Operand{buf(v), buf(v.Args[0])}
		for _, k := range keys {
			args = append(args, flt(v.AttrFloat(k)))
		}
		return []Call{call(kernel, args...)}
	}
}

func lowerUnaryGrad(_ *Graph, v *Value) []Call {
	return []Call{call(v.AttrString("of")+"Backward", buf(v), buf(v.Args[0]), buf(v.Args[1]), flt(v.AttrFloat("alpha")), flt(v.AttrFloat("beta")))}
}

// vjpUnary is the UnaryGrad of the op, its attributes keys passed as alpha
// and beta.
func vjpUnary(keys ...string) func(g *Graph, v, dy *Value) []*Value {
	return func(g *Graph, v, dy *Value) []*Value {
		attrs := Attrs{{"of", v.Op.String()}}
		for i, k := range keys {
			attrs = append(attrs, Attr{[]string{"alpha", "beta"}[i], v.AttrFloat(k)})
		}
		return []*Value{g.NewValue(OpUnaryGrad, attrs, v.Pos, dy, v.Args[0])}
	}
}

// lowerBroadcastOnly is a binary op with its broadcasting kernel whatever
// the shapes, its i64 form for i64 operands.
func lowerBroadcastOnly(kernel string) func(*Graph, *Value) []Call {
	return func(_ *Graph, v *Value) []Call {
		a, b := v.Args[0], v.Args[1]
		return []Call{call(i64Kernel("Broadcast"+kernel, a), buf(v), shapeOf(v), buf(a), shapeOf(a), buf(b), shapeOf(b))}
	}
}

// lowerUnaryI64 is an element-wise op of floats or, by its I64 kernel,
// of i64.
func lowerUnaryI64(kernel string) func(*Graph, *Value) []Call {
	return func(_ *Graph, v *Value) []Call { return []Call{call(i64Kernel(kernel, v), buf(v), buf(v.Args[0]))} }
}

// lowerMod: fmod 1 is C's fmod (the sign of a), else Python's % (b's).
func lowerMod(_ *Graph, v *Value) []Call {
	a, b := v.Args[0], v.Args[1]
	kernel := "BroadcastMod"
	if v.Attrs.Int("fmod", 0) == 1 {
		kernel = "BroadcastFmod"
	}
	return []Call{call(i64Kernel(kernel, a), buf(v), shapeOf(v), buf(a), shapeOf(a), buf(b), shapeOf(b))}
}

func lowerWhere(_ *Graph, v *Value) []Call {
	c, a, b := v.Args[0], v.Args[1], v.Args[2]
	return []Call{call(i64Kernel("Where", a), buf(v), shapeOf(v), buf(c), shapeOf(c), buf(a), shapeOf(a), buf(b), shapeOf(b))}
}

func lowerCast(_ *Graph, v *Value) []Call {
	return []Call{call(castKernel(v.Args[0].Type.DType, v.Type.DType), buf(v), buf(v.Args[0]))}
}

func init() {
	vjps := map[Op]func(g *Graph, v, dy *Value) []*Value{
		OpExp: vjpUnary(), OpLog: vjpUnary(), OpSqrt: vjpUnary(), OpAbs: vjpUnary(), OpErf: vjpUnary(),
		OpSoftplus: vjpUnary(), OpSoftsign: vjpUnary(), OpLeakyRelu: vjpUnary("alpha"), OpElu: vjpUnary("alpha"),
		OpSelu: vjpUnary("alpha", "gamma"), OpHardSigmoid: vjpUnary("alpha", "beta"), OpHardSwish: vjpUnary(),
		OpClip: vjpUnary("min", "max"), OpReciprocal: vjpUnary(), OpFloor: vjpUnary(), OpCeil: vjpUnary(),
		OpReduceSum: vjpReduce(false), OpReduceMean: vjpReduce(true),
		OpConcat: vjpConcat,
		OpExpand: func(g *Graph, v, dy *Value) []*Value {
			return []*Value{reduce(g, v, dy, v.Args[0])}
		},
	}
	for op, f := range vjps {
		opTable[op].VJP = f
	}
	// Slice and Pad differentiate through each other where they can (steps
	// of 1; constant, non-negative pads); elsewhere their rules return nil
	// and the grad pass reports that it cannot train through them.
	opTable[OpSlice].VJP = vjpSlice
	// Not yet differentiated: the grad pass says so at the user's line.
	opTable[OpGather].VJP = func(g *Graph, v, dy *Value) []*Value {
		return []*Value{g.NewValue(OpGatherGrad, Attrs{{"axis", v.AttrInt("axis")}}, v.Pos, dy, v.Args[1], v.Args[0]), nil}
	}
	opTable[OpTile].VJP = func(g *Graph, v, dy *Value) []*Value {
		return []*Value{g.NewValue(OpTileGrad, nil, v.Pos, dy, v.Args[0])}
	}
	opTable[OpReduceMax].VJP = func(g *Graph, v, dy *Value) []*Value {
		x := v.Args[0]
		if !x.Type.DType.IsFloat() {
			return []*Value{nil}
		}
		axes, _ := reduceAxes(v.AttrInts("axes"), x.Type.Shape.Rank())
		return []*Value{g.NewValue(OpReduceMaxGrad, Attrs{{"axes", axes}}, v.Pos, dy, x, v)}
	}
	opTable[OpMax].VJP = vjpMinMax(OpGreater, OpLess)
	opTable[OpMin].VJP = vjpMinMax(OpLess, OpGreater)
	opTable[OpConv].VJP = func(g *Graph, v, dy *Value) []*Value {
		x, w := v.Args[0], v.Args[1]
		out := []*Value{
			g.NewValue(OpConvGradInput, v.Attrs, v.Pos, dy, x, w),
			g.NewValue(OpConvGradWeight, v.Attrs, v.Pos, dy, x, w),
		}
		if len(v.Args) == 3 {
			out = append(out, g.NewValue(OpChannelSum, nil, v.Pos, dy))
		}
		return out
	}
	opTable[OpMaxPool].VJP = func(g *Graph, v, dy *Value) []*Value {
		return []*Value{g.NewValue(OpMaxPoolGrad, v.Attrs, v.Pos, dy, v.Args[0])}
	}
	opTable[OpAveragePool].VJP = func(g *Graph, v, dy *Value) []*Value {
		return []*Value{g.NewValue(OpAveragePoolGrad, v.Attrs, v.Pos, dy, v.Args[0])}
	}
	opTable[OpWhere].VJP = vjpWhere
	opTable[OpMod].VJP = vjpMod
	// Not yet differentiated (a scatter-add into the data): the grad pass
	// says so at the user's line.
	opTable[OpGatherElements].VJP = func(*Graph, *Value, *Value) []*Value { return nil }
	opTable[OpPRelu].VJP = vjpPRelu
	opTable[OpPow].VJP = vjpPow
	opTable[OpPad].VJP = vjpPad
	// A cast between floats passes the gradient; to or from integers and
	// bools none flows, as in torch.
	opTable[OpCast].VJP = func(g *Graph, v, dy *Value) []*Value {
		if v.Type.DType == v.Args[0].Type.DType {
			return []*Value{dy}
		}
		return []*Value{nil}
	}
}

// scalar is the constant c of x's element type.
func scalar(g *Graph, x *Value, c float64) *Value {
	return g.NewDeclared(OpConst, Type{DType: x.Type.DType, Shape: Shape{}}, Attrs{{"value", c}}, x.Pos)
}

// vjpWhere routes dy to a where the condition holds, to b elsewhere.
// vjpMod: fmod(a, b) = a - trunc(a/b)·b, so da = dy and
// db = -dy·trunc(a/b) = -dy·(a - fmod(a, b))/b; none flows through i64.
func vjpMod(g *Graph, v, dy *Value) []*Value {
	a, b := v.Args[0], v.Args[1]
	if !v.Type.DType.IsFloat() {
		return []*Value{nil, nil}
	}
	q := g.NewValue(OpDiv, nil, v.Pos, g.NewValue(OpSub, nil, v.Pos, a, v), b)
	return []*Value{reduce(g, v, dy, a), reduce(g, v, g.NewValue(OpNeg, nil, v.Pos, g.NewValue(OpMul, nil, v.Pos, dy, q)), b)}
}

func vjpWhere(g *Graph, v, dy *Value) []*Value {
	c, a, b := v.Args[0], v.Args[1], v.Args[2]
	zero := scalar(g, v, 0)
	return []*Value{nil,
		reduce(g, v, g.NewValue(OpWhere, nil, v.Pos, c, dy, zero), a),
		reduce(g, v, g.NewValue(OpWhere, nil, v.Pos, c, zero, dy), b)}
}

// vjpPRelu: dx = dy where x ≥ 0, dy·slope elsewhere; dslope = dy·x where
// x < 0, summed to the slope's shape.
func vjpPRelu(g *Graph, v, dy *Value) []*Value {
	x, s := v.Args[0], v.Args[1]
	zero := scalar(g, v, 0)
	neg := g.NewValue(OpLess, nil, v.Pos, x, zero)
	dx := g.NewValue(OpWhere, nil, v.Pos, neg, g.NewValue(OpMul, nil, v.Pos, dy, s), dy)
	ds := g.NewValue(OpWhere, nil, v.Pos, neg, g.NewValue(OpMul, nil, v.Pos, dy, x), zero)
	return []*Value{dx, reduce(g, v, ds, s)}
}

// vjpPow: d(aᵇ) = b·aᵇ⁻¹·da + ln(a)·aᵇ·db.
func vjpPow(g *Graph, v, dy *Value) []*Value {
	a, b := v.Args[0], v.Args[1]
	bm1 := g.NewValue(OpSub, nil, v.Pos, b, scalar(g, v, 1))
	da := g.NewValue(OpMul, nil, v.Pos, dy, g.NewValue(OpMul, nil, v.Pos, b, g.NewValue(OpPow, nil, v.Pos, a, bm1)))
	db := g.NewValue(OpMul, nil, v.Pos, dy, g.NewValue(OpMul, nil, v.Pos, v, g.NewValue(OpLog, nil, v.Pos, a)))
	return []*Value{reduce(g, v, da, a), reduce(g, v, db, b)}
}

// windowGeom is the geometry of a convolution or pooling over x with
// kernel sizes ks, in the []int form kernels.ConvND and PoolND take, and
// the output's spatial sizes.
func windowGeom(x Shape, m, group int, ks []int, attrs Attrs) (geom []int, out []int, err error) {
	r := x.Rank() - 2
	if r < 1 || r > 3 {
		return nil, nil, shapeErr(ShapeRank, 0, "%s: needs [N, C, D...] with 1 to 3 spatial dimensions", x)
	}
	for _, d := range x[1:] {
		if d == Batch {
			return nil, nil, shapeErr(ShapeBatchAxis, 0, "%s: only the first dimension can be the batch", x)
		}
	}
	list := func(name string, def, n int) ([]int, error) {
		l := attrs.Ints(name)
		if len(l) == 0 {
			l = make([]int, n)
			for i := range l {
				l[i] = def
			}
		}
		if len(l) != n {
			return nil, fmt.Errorf("%s %v: needs %d entries for %s", name, attrs.Ints(name), n, x)
		}
		return l, nil
	}
	strides, err := list("strides", 1, r)
	if err != nil {
		return nil, nil, err
	}
	pads, err := list("pads", 0, 2*r)
	if err != nil {
		return nil, nil, err
	}
	dils, err := list("dilations", 1, r)
	if err != nil {
		return nil, nil, err
	}
	if len(ks) != r {
		return nil, nil, fmt.Errorf("kernel %v for %s: needs %d sizes", ks, x, r)
	}
	out = make([]int, r)
	for i := range r {
		if strides[i] < 1 || dils[i] < 1 || ks[i] < 1 || pads[i] < 0 || pads[r+i] < 0 {
			return nil, nil, fmt.Errorf("kernel %v, strides %v, pads %v, dilations %v: sizes, strides and dilations must be positive, pads not negative", ks, strides, pads, dils)
		}
		span := x[2+i] + pads[i] + pads[r+i] - dils[i]*(ks[i]-1) - 1
		if span < 0 {
			return nil, nil, shapeErr(ShapeWindow, 0, "window %v larger than the padded input %s", ks, x)
		}
		out[i] = span/strides[i] + 1
		if attrs.Int("ceil_mode", 0) == 1 && span%strides[i] != 0 {
			// ONNX's ceil((span)/stride + 1), less a last window that
			// would start in the end padding, as torch and onnxruntime.
			out[i]++
			if (out[i]-1)*strides[i] >= x[2+i]+pads[i] {
				out[i]--
			}
		}
	}
	geom = append([]int{r, x[1], m, group}, x[2:]...)
	geom = append(append(append(append(append(geom, ks...), out...), strides...), pads[:r]...), dils...)
	return geom, out, nil
}

func convNDShape(args []Type, attrs Attrs, _ Type) (Type, error) {
	if err := sameDType(args); err != nil {
		return Type{}, err
	}
	if !args[0].DType.IsFloat() {
		return Type{}, shapeErr(ShapeDType, 0, "conv of %s: needs floats", args[0])
	}
	x, w := args[0].Shape, args[1].Shape
	g := attrs.Int("group", 1)
	if w.Rank() != x.Rank() || w.HasBatch() || g < 1 || x.Rank() < 3 || x[1]%g != 0 || w[0]%g != 0 || w[1]*g != x[1] {
		return Type{}, shapeErr(ShapeMismatch, 1, "conv of %s with weight %s in %d groups: needs [N, C, D...] and [M, C/group, K...] with M a multiple of group", x, w, g)
	}
	if len(args) == 3 && !args[2].Shape.Equal(Shape{w[0]}) {
		return Type{}, shapeErr(ShapeMismatch, 2, "conv bias %s does not match weight %s", args[2].Shape, w)
	}
	_, out, err := windowGeom(x, w[0], g, w[2:], attrs)
	if err != nil {
		return Type{}, err
	}
	return Type{DType: args[0].DType, Shape: append(Shape{x[0], w[0]}, out...)}, nil
}

func convGeomOf(v *Value) []int {
	x, w := v.Args[0].Type.Shape, v.Args[1].Type.Shape
	geom, _, _ := windowGeom(x, w[0], v.AttrInt("group"), w[2:], v.Attrs)
	return geom
}

// batchOf is the first dimension of x as a Dim.
func batchOf(x Shape) Dim {
	if x[0] == Batch {
		return batchN
	}
	return Dim{C: x[0]}
}

func scratchConvND(_ *Graph, v *Value) []Scratch {
	geom := convGeomOf(v)
	r := geom[0]
	k, o := 1, 1
	for i := range r {
		k *= geom[4+r+i]
		o *= geom[4+2*r+i]
	}
	return []Scratch{{Type: Type{DType: v.Type.DType, Shape: Shape{geom[1] / geom[3] * k * o}}}}
}

func lowerConvND(_ *Graph, v *Value) []Call {
	return []Call{call("ConvND", buf(v), buf(v.Args[0]), buf(v.Args[1]), optArg(v, 2), scratch(v, 0), dim(batchOf(v.Args[0].Type.Shape)), intList(convGeomOf(v)))}
}

func poolNDShape(args []Type, attrs Attrs, _ Type) (Type, error) {
	x := args[0].Shape
	if !args[0].DType.IsFloat() {
		return Type{}, shapeErr(ShapeDType, 0, "pooling of %s: needs floats", args[0])
	}
	if c := attrs.Int("count_include_pad", 0); c != 0 && c != 1 {
		return Type{}, fmt.Errorf("count_include_pad must be 0 or 1, not %d", c)
	}
	switch c := attrs.Int("ceil_mode", 0); {
	case c != 0 && c != 1:
		return Type{}, fmt.Errorf("ceil_mode must be 0 or 1, not %d", c)
	case c == 1 && attrs.Int("count_include_pad", 0) == 1:
		return Type{}, fmt.Errorf("ceil_mode 1 with count_include_pad 1 is not supported")
	}
	if x.Rank() < 3 {
		return Type{}, shapeErr(ShapeRank, 0, "pooling of %s: needs [N, C, D...]", x)
	}
	_, out, err := windowGeom(x, x[1], 1, attrs.Ints("kernel_shape"), attrs)
	if err != nil {
		return Type{}, err
	}
	return Type{DType: args[0].DType, Shape: append(Shape{x[0], x[1]}, out...)}, nil
}

func lowerPoolND(_ *Graph, v *Value) []Call {
	x := v.Args[0].Type.Shape
	geom, _, _ := windowGeom(x, x[1], 1, v.AttrInts("kernel_shape"), v.Attrs)
	mode := 0 // kernels.PoolMax
	if v.Op == OpAveragePool {
		mode = 1 + v.AttrInt("count_include_pad")
	}
	return []Call{call("PoolND", buf(v), buf(v.Args[0]), dim(batchOf(x)), intList(geom), num(mode))}
}

// vjpMinMax routes dy to the operand that won (win(a, b): a's), halved
// between them where they tie, as torch.maximum and torch.minimum.
func vjpMinMax(win, lose Op) func(g *Graph, v, dy *Value) []*Value {
	return func(g *Graph, v, dy *Value) []*Value {
		a, b := v.Args[0], v.Args[1]
		zero := scalar(g, v, 0)
		half := g.NewValue(OpMul, nil, v.Pos, dy, scalar(g, v, 0.5))
		tie := g.NewValue(OpWhere, nil, v.Pos, g.NewValue(OpEqual, nil, v.Pos, a, b), half, zero)
		da := g.NewValue(OpWhere, nil, v.Pos, g.NewValue(win, nil, v.Pos, a, b), dy, tie)
		db := g.NewValue(OpWhere, nil, v.Pos, g.NewValue(lose, nil, v.Pos, a, b), dy, tie)
		return []*Value{reduce(g, v, da, a), reduce(g, v, db, b)}
	}
}

func gatherGradShape(args []Type, attrs Attrs, decl Type) (Type, error) {
	dy, ids, x := args[0], args[1], args[2]
	y, err := gatherShape([]Type{x, ids}, attrs, decl)
	if err != nil {
		return Type{}, err
	}
	if !x.DType.IsFloat() || !dy.Equal(y) {
		return Type{}, fmt.Errorf("gather gradient %s for an output %s", dy, y)
	}
	return x, nil
}

func lowerGatherGrad(_ *Graph, v *Value) []Call {
	s := v.Type.Shape
	a, _ := NormAxis(v.AttrInt("axis"), s.Rank())
	return []Call{call("GatherBackward", buf(v), buf(v.Args[0]), buf(v.Args[1]), dim(elems(s[:a])), num(s[a]), dim(elems(s[a+1:])))}
}

func tileGradShape(args []Type, _ Attrs, _ Type) (Type, error) {
	dy, x := args[0], args[1]
	if !x.DType.IsFloat() || dy.DType != x.DType || dy.Shape.Rank() != x.Shape.Rank() {
		return Type{}, fmt.Errorf("tile gradient %s for an input %s", dy, x)
	}
	for i, d := range x.Shape {
		if (d == Batch) != (dy.Shape[i] == Batch) || d != Batch && dy.Shape[i]%d != 0 {
			return Type{}, fmt.Errorf("tile gradient %s for an input %s", dy, x)
		}
	}
	return x, nil
}

func lowerTileGrad(_ *Graph, v *Value) []Call {
	return []Call{call("TileBackward", buf(v), shapeOf(v), buf(v.Args[0]), shapeOf(v.Args[0]))}
}

func reduceMaxGradShape(args []Type, attrs Attrs, _ Type) (Type, error) {
	dy, x, y := args[0], args[1], args[2]
	if !dy.Equal(y) || !x.DType.IsFloat() || x.DType != y.DType || y.Shape.Elems() > x.Shape.Elems() {
		return Type{}, fmt.Errorf("reduce max gradient %s for an input %s and output %s", dy, x, y)
	}
	if _, err := reduceAxes(attrs.Ints("axes"), x.Shape.Rank()); err != nil {
		return Type{}, err
	}
	return x, nil
}

func scratchReduceMaxGrad(_ *Graph, v *Value) []Scratch {
	return []Scratch{{Type: v.Args[2].Type}}
}

func lowerReduceMaxGrad(_ *Graph, v *Value) []Call {
	x := v.Args[1]
	axes, _ := reduceAxes(v.AttrInts("axes"), x.Type.Shape.Rank())
	return []Call{call("ReduceMaxBackward", buf(v), shapeOf(x), buf(x), buf(v.Args[2]), buf(v.Args[0]), scratch(v, 0), num(axesMask(axes)))}
}

// convNDGradShape: the gradient of Conv's argument i given dy, x, w.
func convNDGradShape(i int) func([]Type, Attrs, Type) (Type, error) {
	return func(args []Type, attrs Attrs, decl Type) (Type, error) {
		y, err := convNDShape(args[1:], attrs, decl)
		if err != nil {
			return Type{}, err
		}
		if !y.Equal(args[0]) {
			return Type{}, fmt.Errorf("conv gradient %s for an output of type %s", args[0], y)
		}
		return args[i], nil
	}
}

func scratchConvNDGrad(_ *Graph, v *Value) []Scratch {
	x, w := v.Args[1].Type.Shape, v.Args[2].Type.Shape
	geom, out, _ := windowGeom(x, w[0], v.AttrInt("group"), w[2:], v.Attrs)
	k, o := 1, 1
	for i, d := range w[2:] {
		k, o = k*d, o*out[i]
	}
	return []Scratch{{Type: Type{DType: v.Type.DType, Shape: Shape{geom[1] / geom[3] * k * o}}}}
}

func lowerConvNDGrad(input bool) func(*Graph, *Value) []Call {
	return func(_ *Graph, v *Value) []Call {
		x, w := v.Args[1].Type.Shape, v.Args[2].Type.Shape
		geom, _, _ := windowGeom(x, w[0], v.AttrInt("group"), w[2:], v.Attrs)
		dx, dw := buf(v), none
		if !input {
			dx, dw = none, buf(v)
		}
		return []Call{call("ConvNDBackward", dx, dw, buf(v.Args[0]), buf(v.Args[1]), buf(v.Args[2]), scratch(v, 0), dim(batchOf(x)), intList(geom))}
	}
}

func poolNDGradShape(args []Type, attrs Attrs, decl Type) (Type, error) {
	y, err := poolNDShape(args[1:], attrs, decl)
	if err != nil {
		return Type{}, err
	}
	if !y.Equal(args[0]) {
		return Type{}, fmt.Errorf("pooling gradient %s for an output of type %s", args[0], y)
	}
	return args[1], nil
}

func lowerPoolNDGrad(_ *Graph, v *Value) []Call {
	x := v.Args[1].Type.Shape
	geom, _, _ := windowGeom(x, x[1], 1, v.AttrInts("kernel_shape"), v.Attrs)
	mode := 0 // kernels.PoolMax
	if v.Op == OpAveragePoolGrad {
		mode = 1 + v.AttrInt("count_include_pad")
	}
	return []Call{call("PoolNDBackward", buf(v), buf(v.Args[0]), buf(v.Args[1]), dim(batchOf(x)), intList(geom), num(mode))}
}
