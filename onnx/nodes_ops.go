package onnx

import (
	"math"
	"slices"

	"github.com/nnc-go/nnc/ir"
)

// The ops of ONNX's operator set that the IR spells after ONNX (ir's
// onnx_ops.go): element-wise, comparisons, reductions over axes, data
// movement, N-d convolution and pooling.

func init() {
	for name, op := range map[string]ir.Op{
		"Exp": ir.OpExp, "Log": ir.OpLog, "Sqrt": ir.OpSqrt, "Erf": ir.OpErf,
		"Softplus": ir.OpSoftplus, "Softsign": ir.OpSoftsign, "Reciprocal": ir.OpReciprocal,
		"Floor": ir.OpFloor, "Ceil": ir.OpCeil, "HardSwish": ir.OpHardSwish,
	} {
		handlers[name] = unaryOp(op)
	}
	handlers["Abs"] = numUnaryOp(ir.OpAbs)
	handlers["And"] = logic(ir.OpAnd)
	handlers["Or"] = logic(ir.OpOr)
	handlers["Xor"] = logic(ir.OpXor)
	handlers["Mod"] = (*importer).mod
	handlers["GatherElements"] = (*importer).gatherElements
	handlers["LeakyRelu"] = unaryAttrs(ir.OpLeakyRelu, "alpha", 0.01)
	handlers["Elu"] = unaryAttrs(ir.OpElu, "alpha", 1.0)
	handlers["Selu"] = unaryAttrs(ir.OpSelu, "alpha", 1.67326319217681884765625, "gamma", 1.05070102214813232421875)
	handlers["HardSigmoid"] = unaryAttrs(ir.OpHardSigmoid, "alpha", 0.2, "beta", 0.5)
	handlers["Clip"] = (*importer).clip
	handlers["Pow"] = binaryOp(ir.OpPow)
	handlers["PRelu"] = (*importer).prelu
	handlers["Min"] = variadic(ir.OpMin, false)
	handlers["Max"] = variadic(ir.OpMax, false)
	handlers["Sum"] = variadic(ir.OpAdd, false)
	handlers["Mean"] = variadic(ir.OpAdd, true)
	handlers["Equal"] = compare(ir.OpEqual)
	handlers["Less"] = compare(ir.OpLess)
	handlers["Greater"] = compare(ir.OpGreater)
	handlers["GreaterOrEqual"] = notOf(ir.OpLess)
	handlers["LessOrEqual"] = notOf(ir.OpGreater)
	handlers["Not"] = (*importer).not
	handlers["Where"] = (*importer).where
	handlers["Cast"] = (*importer).castOp
	handlers["ReduceSum"] = reduceAxes(ir.OpReduceSum, 13)
	handlers["ReduceMean"] = reduceAxes(ir.OpReduceMean, 18)
	handlers["ReduceMax"] = reduceAxes(ir.OpReduceMax, 18)
	handlers["Concat"] = (*importer).concat
	handlers["Slice"] = (*importer).slice
	handlers["Expand"] = (*importer).expand
	handlers["Tile"] = (*importer).tile
	handlers["Pad"] = (*importer).pad
	handlers["AveragePool"] = (*importer).averagePool
	handlers["GlobalAveragePool"] = (*importer).globalAveragePool
	handlers["Split"] = (*importer).split
}

// prelu: before opset 7 a 1-D slope of one entry per channel applies
// along axis 1 (the legacy broadcast), as a [C, 1, ...] slope does since.
func (im *importer) prelu() error {
	x, err := im.floatIn(0)
	if err != nil {
		return err
	}
	slope, err := im.floatIn(1)
	if err != nil {
		return err
	}
	s, r := slope.Type.Shape, x.Type.Shape.Rank()
	if im.m.Opset < 7 && s.Rank() == 1 && r > 2 && s[0] == x.Type.Shape[1] && s[0] != x.Type.Shape[r-1] {
		shape := ir.Shape{s[0]}
		for range r - 2 {
			shape = append(shape, 1)
		}
		if slope, err = im.reshapeTo(slope, shape); err != nil {
			return err
		}
	}
	y, err := im.op(ir.OpPRelu, nil, x, slope)
	if err != nil {
		return err
	}
	return im.set(0, y)
}

func unaryAttrs(op ir.Op, kv ...any) func(im *importer) error {
	return func(im *importer) error {
		x, err := im.floatIn(0)
		if err != nil {
			return err
		}
		var attrs ir.Attrs
		for i := 0; i < len(kv); i += 2 {
			f, err := im.attrFloat(kv[i].(string), kv[i+1].(float64))
			if err != nil {
				return err
			}
			attrs = append(attrs, ir.Attr{Key: kv[i].(string), Val: f})
		}
		y, err := im.op(op, attrs, x)
		if err != nil {
			return err
		}
		return im.set(0, y)
	}
}

// scalarIn returns the value of constant scalar input i, def when absent.
func (im *importer) scalarIn(i int, def float64) (float64, error) {
	if i >= len(im.node.Input) || im.node.Input[i] == "" {
		return def, nil
	}
	t, ok := im.constIn(i)
	if !ok {
		return 0, im.notSupported("input %d computed at run time (nnc folds it when compiling)", i)
	}
	if t.Elems() != 1 {
		return 0, im.errorf("input %d must be a scalar", i)
	}
	v, ok := t.get(0)
	if !ok {
		return 0, im.errorf("input %d is the symbolic batch size", i)
	}
	return v, nil
}

func (im *importer) clip() error {
	x, err := im.floatIn(0)
	if err != nil {
		return err
	}
	lo, hi := math.Inf(-1), math.Inf(1)
	if im.m.Opset < 11 {
		if lo, err = im.attrFloat("min", lo); err != nil {
			return err
		}
		if hi, err = im.attrFloat("max", hi); err != nil {
			return err
		}
	} else {
		if lo, err = im.scalarIn(1, lo); err != nil {
			return err
		}
		if hi, err = im.scalarIn(2, hi); err != nil {
			return err
		}
	}
	if lo > hi {
		// ONNX: every element becomes max.
		lo = hi
	}
	y, err := im.op(ir.OpClip, ir.Attrs{{Key: "min", Val: lo}, {Key: "max", Val: hi}}, x)
	if err != nil {
		return err
	}
	return im.set(0, y)
}

// variadic folds Min, Max, Sum and Mean over their inputs, left to right.
func variadic(op ir.Op, mean bool) func(im *importer) error {
	return func(im *importer) error {
		in := (*importer).numIn
		if mean {
			in = (*importer).floatIn
		}
		y, err := in(im, 0)
		if err != nil {
			return err
		}
		for i := 1; i < len(im.node.Input); i++ {
			x, err := in(im, i)
			if err != nil {
				return err
			}
			if y, err = im.op(op, nil, y, x); err != nil {
				return err
			}
		}
		if mean && len(im.node.Input) > 1 {
			n, err := im.b.Const(float64(len(im.node.Input)), y.Type.DType, im.pos())
			if err != nil {
				return im.errorf("%v", err)
			}
			if y, err = im.op(ir.OpDiv, nil, y, n); err != nil {
				return err
			}
		}
		return im.set(0, y)
	}
}

func compare(op ir.Op) func(im *importer) error {
	return func(im *importer) error {
		a, err := im.in(0)
		if err != nil {
			return err
		}
		b, err := im.in(1)
		if err != nil {
			return err
		}
		y, err := im.op(op, nil, a, b)
		if err != nil {
			return err
		}
		return im.set(0, y)
	}
}

// notOf is a ≥ b as not(a < b), and a ≤ b as not(a > b).
func notOf(op ir.Op) func(im *importer) error {
	return func(im *importer) error {
		if err := compare(op)(im); err != nil {
			return err
		}
		y, err := im.op(ir.OpNot, nil, im.vals[im.node.Output[0]])
		if err != nil {
			return err
		}
		return im.set(0, y)
	}
}

// logic is And, Or or Xor of bool tensors.
func logic(op ir.Op) func(im *importer) error {
	return func(im *importer) error { return im.binary(op, nil, (*importer).in) }
}

// mod is ONNX's Mod: fmod 0 (Python's %, integers only) or 1 (C's fmod);
// Mod's shape rule refuses floats with fmod 0.
func (im *importer) mod() error {
	fmod, err := im.attrInt("fmod", 0)
	if err != nil {
		return err
	}
	if fmod != 0 && fmod != 1 {
		return im.notSupported("fmod=%d", fmod)
	}
	return im.binary(ir.OpMod, ir.Attrs{{Key: "fmod", Val: fmod}}, (*importer).numIn)
}

func (im *importer) gatherElements() error {
	axis, err := im.attrInt("axis", 0)
	if err != nil {
		return err
	}
	return im.binary(ir.OpGatherElements, ir.Attrs{{Key: "axis", Val: axis}}, (*importer).in)
}

func (im *importer) not() error {
	x, err := im.in(0)
	if err != nil {
		return err
	}
	y, err := im.op(ir.OpNot, nil, x)
	if err != nil {
		return err
	}
	return im.set(0, y)
}

func (im *importer) where() error {
	var args []*ir.Value
	for i := range 3 {
		v, err := im.in(i)
		if err != nil {
			return err
		}
		args = append(args, v)
	}
	y, err := im.op(ir.OpWhere, nil, args...)
	if err != nil {
		return err
	}
	return im.set(0, y)
}

// castOp casts at run time; to the type a value has already it is the
// value itself.
func (im *importer) castOp() error {
	to, err := im.attrInt("to", 0)
	if err != nil {
		return err
	}
	im.attr("saturate")
	x, err := im.in(0)
	if err != nil {
		return err
	}
	dt, ok := dtypeOf(int32(to))
	if ok && dt == ir.I64 && int32(to) == 6 {
		dt = ir.I32
	}
	if !ok || (int32(to) != 7 && int32(to) != 6 && int32(to) != 1 && int32(to) != 11 && int32(to) != 9) {
		return im.notSupported("cast to %s", typeName(int32(to)))
	}
	if dt == ir.I32 {
		// nnc holds ONNX's integers as i64.
		dt = ir.I64
	}
	if dt == x.Type.DType {
		return im.set(0, x)
	}
	y, err := im.op(ir.OpCast, ir.Attrs{{Key: "to", Val: dt.String()}}, x)
	if err != nil {
		return err
	}
	return im.set(0, y)
}

// reduceAxes maps ReduceSum, ReduceMean and ReduceMax: axes an attribute
// before the opset given, the second input from it.
func reduceAxes(op ir.Op, inputFrom int) func(im *importer) error {
	return func(im *importer) error {
		x, err := im.in(0)
		if err != nil {
			return err
		}
		y, err := im.reduce(op, x, inputFrom)
		if err != nil {
			return err
		}
		return im.set(0, y)
	}
}

// composite reductions, written with the ops nnc has: before the
// reduction (pre, on x) and after it (post, on the reduced value).
func composite(op ir.Op, pre func(im *importer, x *ir.Value) (*ir.Value, error), post func(im *importer, y *ir.Value) (*ir.Value, error)) func(im *importer) error {
	return func(im *importer) error {
		x, err := im.floatIn(0)
		if err != nil {
			return err
		}
		if pre != nil {
			if x, err = pre(im, x); err != nil {
				return err
			}
		}
		y, err := im.reduce(op, x, 18)
		if err != nil {
			return err
		}
		if post != nil {
			if y, err = post(im, y); err != nil {
				return err
			}
		}
		return im.set(0, y)
	}
}

func init() {
	square := func(im *importer, x *ir.Value) (*ir.Value, error) { return im.op(ir.OpMul, nil, x, x) }
	neg := func(im *importer, x *ir.Value) (*ir.Value, error) { return im.op(ir.OpNeg, nil, x) }
	apply := func(op ir.Op) func(im *importer, x *ir.Value) (*ir.Value, error) {
		return func(im *importer, x *ir.Value) (*ir.Value, error) { return im.op(op, nil, x) }
	}
	handlers["ReduceSumSquare"] = composite(ir.OpReduceSum, square, nil)
	handlers["ReduceL2"] = composite(ir.OpReduceSum, square, apply(ir.OpSqrt))
	handlers["ReduceL1"] = composite(ir.OpReduceSum, apply(ir.OpAbs), nil)
	handlers["ReduceLogSum"] = composite(ir.OpReduceSum, nil, apply(ir.OpLog))
	handlers["ReduceMin"] = composite(ir.OpReduceMax, neg, neg)
	handlers["ReduceLogSumExp"] = (*importer).reduceLogSumExp
	handlers["GlobalMaxPool"] = (*importer).globalMaxPool
}

// reduceLogSumExp is log(Σ exp(x − m)) + m with m the maximum, as stable
// as ONNX's reference.
func (im *importer) reduceLogSumExp() error {
	x, err := im.floatIn(0)
	if err != nil {
		return err
	}
	keep, err := im.attrInt("keepdims", 1)
	if err != nil {
		return err
	}
	m, err := im.reduceKeep(ir.OpReduceMax, x, 18, 1)
	if err != nil {
		return err
	}
	d, err := im.op(ir.OpSub, nil, x, m)
	if err != nil {
		return err
	}
	if d, err = im.op(ir.OpExp, nil, d); err != nil {
		return err
	}
	y, err := im.reduceKeep(ir.OpReduceSum, d, 18, keep)
	if err != nil {
		return err
	}
	if y, err = im.op(ir.OpLog, nil, y); err != nil {
		return err
	}
	if keep == 0 {
		if m, err = im.reshapeTo(m, y.Type.Shape); err != nil {
			return err
		}
	}
	if y, err = im.op(ir.OpAdd, nil, y, m); err != nil {
		return err
	}
	return im.set(0, y)
}

func (im *importer) globalMaxPool() error {
	x, err := im.floatIn(0)
	if err != nil {
		return err
	}
	var axes []int
	for i := 2; i < x.Type.Shape.Rank(); i++ {
		axes = append(axes, i)
	}
	if len(axes) == 0 {
		return im.errorf("input %s has no spatial dimensions", x.Type.Shape)
	}
	y, err := im.op(ir.OpReduceMax, ir.Attrs{{Key: "axes", Val: axes}, {Key: "keepdims", Val: 1}}, x)
	if err != nil {
		return err
	}
	return im.set(0, y)
}

// reduce emits reduction op over x with the node's axes and keepdims, or
// returns x when there are none and noop_with_empty_axes says so.
func (im *importer) reduce(op ir.Op, x *ir.Value, inputFrom int) (*ir.Value, error) {
	keep, err := im.attrInt("keepdims", 1)
	if err != nil {
		return nil, err
	}
	return im.reduceKeep(op, x, inputFrom, keep)
}

func (im *importer) reduceKeep(op ir.Op, x *ir.Value, inputFrom, keep int) (*ir.Value, error) {
	{
		noop, err := im.attrInt("noop_with_empty_axes", 0)
		if err != nil {
			return nil, err
		}
		var in []*Tensor
		if t, ok := im.constIn(1); ok {
			in = []*Tensor{nil, t}
		} else if len(im.node.Input) > 1 && im.node.Input[1] != "" {
			return nil, im.notSupported("axes computed at run time")
		}
		axes, _, err := im.axisList(in, inputFrom)
		if err != nil {
			return nil, err
		}
		if len(axes) == 0 {
			if noop != 0 {
				return x, nil // no axes: the reduction is the identity
			}
			for i := range x.Type.Shape.Rank() {
				axes = append(axes, i)
			}
		}
		return im.op(op, ir.Attrs{{Key: "axes", Val: axes}, {Key: "keepdims", Val: keep}}, x)
	}
}

func (im *importer) concat() error {
	axis, err := im.attrInt("axis", 0)
	if err != nil {
		return err
	}
	var args []*ir.Value
	for i := range im.node.Input {
		v, err := im.in(i)
		if err != nil {
			return err
		}
		args = append(args, v)
	}
	if len(args) == 1 {
		return im.set(0, args[0])
	}
	y, err := im.op(ir.OpConcat, ir.Attrs{{Key: "axis", Val: axis}}, args...)
	if err != nil {
		return err
	}
	return im.set(0, y)
}

// intsIn returns constant integer input i as ints, nil when absent.
func (im *importer) intsIn(i int) ([]int, error) {
	if i >= len(im.node.Input) || im.node.Input[i] == "" {
		return nil, nil
	}
	t, ok := im.constIn(i)
	if !ok {
		return nil, im.notSupported("input %d computed at run time (nnc folds it when compiling)", i)
	}
	if t.DType.IsFloat() || len(t.I) > MaxRank*2 {
		return nil, im.errorf("input %d must be a short list of integers", i)
	}
	out := make([]int, len(t.I))
	for j, x := range t.I {
		switch {
		case x == batchDim:
			return nil, im.errorf("input %d holds the symbolic batch size", i)
		case x > math.MaxInt32:
			x = math.MaxInt32
		case x < math.MinInt32:
			x = math.MinInt32
		}
		out[j] = int(x)
	}
	return out, nil
}

func (im *importer) slice() error {
	x, err := im.in(0)
	if err != nil {
		return err
	}
	var starts, ends, axes, steps []int
	if im.m.Opset < 10 {
		if starts, _, err = im.attrInts("starts"); err != nil {
			return err
		}
		if ends, _, err = im.attrInts("ends"); err != nil {
			return err
		}
		if axes, _, err = im.attrInts("axes"); err != nil {
			return err
		}
	} else {
		for i, p := range []*[]int{&starts, &ends, &axes, &steps} {
			if *p, err = im.intsIn(i + 1); err != nil {
				return err
			}
		}
	}
	attrs := ir.Attrs{{Key: "starts", Val: starts}, {Key: "ends", Val: ends}}
	if axes != nil {
		attrs = append(attrs, ir.Attr{Key: "axes", Val: axes})
	}
	if steps != nil {
		attrs = append(attrs, ir.Attr{Key: "steps", Val: steps})
	}
	y, err := im.op(ir.OpSlice, attrs, x)
	if err != nil {
		return err
	}
	return im.set(0, y)
}

func (im *importer) expand() error {
	x, err := im.in(0)
	if err != nil {
		return err
	}
	spec, err := im.intsIn(1)
	if err != nil {
		return err
	}
	shape, ok := broadcastShapes(x.Type.Shape, spec)
	if !ok || !checkSize(shape, MaxElems) {
		return im.errorf("cannot expand %s to %v", x.Type.Shape, spec)
	}
	if slices.Equal(shape, []int(x.Type.Shape)) {
		return im.set(0, x)
	}
	y, err := im.b.Declared(ir.OpExpand, ir.Type{DType: x.Type.DType, Shape: shape}, nil, im.pos(), x)
	if err != nil {
		return im.errorf("%v", err)
	}
	return im.set(0, y)
}

func (im *importer) tile() error {
	x, err := im.in(0)
	if err != nil {
		return err
	}
	reps, err := im.intsIn(1)
	if err != nil {
		return err
	}
	y, err := im.op(ir.OpTile, ir.Attrs{{Key: "repeats", Val: reps}}, x)
	if err != nil {
		return err
	}
	return im.set(0, y)
}

func (im *importer) pad() error {
	x, err := im.in(0)
	if err != nil {
		return err
	}
	mode, err := im.attrString("mode", "constant")
	if err != nil {
		return err
	}
	var pads []int
	value := 0.0
	if im.m.Opset < 11 {
		if pads, _, err = im.attrInts("pads"); err != nil {
			return err
		}
		if value, err = im.attrFloat("value", 0); err != nil {
			return err
		}
	} else {
		if pads, err = im.intsIn(1); err != nil {
			return err
		}
		if value, err = im.scalarIn(2, 0); err != nil {
			return err
		}
		if len(im.node.Input) > 3 && im.node.Input[3] != "" {
			axes, err := im.intsIn(3)
			if err != nil {
				return err
			}
			r := x.Type.Shape.Rank()
			full := make([]int, 2*r)
			if len(pads) != 2*len(axes) {
				return im.errorf("pads %v for axes %v", pads, axes)
			}
			for i, a := range axes {
				if a < 0 {
					a += r
				}
				if a < 0 || a >= r {
					return im.errorf("axis %d out of range", axes[i])
				}
				full[a], full[r+a] = pads[i], pads[len(axes)+i]
			}
			pads = full
		}
	}
	y, err := im.op(ir.OpPad, ir.Attrs{{Key: "pads", Val: pads}, {Key: "mode", Val: mode}, {Key: "value", Val: value}}, x)
	if err != nil {
		return err
	}
	return im.set(0, y)
}

// windowND reads the window attributes of Conv and the pools for an
// input x with kernel sizes ks: strides, pads ([begin..., end...], auto_pad
// and ceil_mode resolved) and dilations.
func (im *importer) windowND(x *ir.Value, ks []int, ceilOK bool) (strides, pads, dils []int, err error) {
	s := x.Type.Shape
	r := s.Rank() - 2
	if r < 1 || len(ks) != r {
		return nil, nil, nil, im.errorf("a kernel %v for input %s", ks, s)
	}
	for _, d := range s[2:] {
		if d == ir.Batch {
			return nil, nil, nil, im.notSupported("a window over the batch dimension")
		}
	}
	fill := func(name string, def, n int) ([]int, error) {
		l, ok, err := im.attrInts(name)
		if err != nil {
			return nil, err
		}
		if !ok || len(l) == 0 {
			l = make([]int, n)
			for i := range l {
				l[i] = def
			}
		}
		if len(l) != n {
			return nil, im.errorf("%s %v: needs %d entries", name, l, n)
		}
		return l, nil
	}
	if strides, err = fill("strides", 1, r); err != nil {
		return
	}
	if dils, err = fill("dilations", 1, r); err != nil {
		return
	}
	if pads, err = fill("pads", 0, 2*r); err != nil {
		return
	}
	autoPad, err := im.attrString("auto_pad", "NOTSET")
	if err != nil {
		return
	}
	for i := range r {
		if strides[i] < 1 || dils[i] < 1 || ks[i] < 1 {
			return nil, nil, nil, im.errorf("strides %v, dilations %v, kernel %v", strides, dils, ks)
		}
	}
	switch autoPad {
	case "NOTSET":
	case "VALID":
		clear(pads)
	case "SAME_UPPER", "SAME_LOWER":
		for i := range r {
			in := s[2+i]
			out := (in + strides[i] - 1) / strides[i]
			total := max(0, (out-1)*strides[i]+(ks[i]-1)*dils[i]+1-in)
			begin := total / 2
			if autoPad == "SAME_LOWER" {
				begin = total - total/2
			}
			pads[i], pads[r+i] = begin, total-begin
		}
	default:
		return nil, nil, nil, im.errorf("unknown auto_pad %q", autoPad)
	}
	ceil := 0
	if ceilOK {
		if ceil, err = im.attrInt("ceil_mode", 0); err != nil {
			return
		}
	}
	if ceil != 0 {
		for i := range r {
			in := s[2+i] + pads[i] + pads[r+i]
			span := (ks[i]-1)*dils[i] + 1
			if in < span {
				continue
			}
			out := (in-span+strides[i]-1)/strides[i] + 1
			if (out-1)*strides[i] >= s[2+i]+pads[i] {
				out-- // the last window must start inside the input
			}
			if extra := (out-1)*strides[i] + span - in; extra > 0 {
				pads[r+i] += extra
			}
		}
	}
	return strides, pads, dils, nil
}

// convND is Conv beyond nnc's Conv2d: 1-D to 3-D, groups, dilations,
// uneven pads.
func (im *importer) convND(x, w, b *ir.Value, group int, kernel []int) error {
	strides, pads, dils, err := im.windowND(x, kernel, false)
	if err != nil {
		return err
	}
	attrs := ir.Attrs{{Key: "strides", Val: strides}, {Key: "pads", Val: pads}, {Key: "dilations", Val: dils}, {Key: "group", Val: group}}
	args := []*ir.Value{x, w}
	if b != nil {
		args = append(args, b)
	}
	y, err := im.op(ir.OpConv, attrs, args...)
	if err != nil {
		return err
	}
	return im.set(0, y)
}

func (im *importer) maxPoolND(x *ir.Value, kernel []int) error {
	strides, pads, dils, err := im.windowND(x, kernel, true)
	if err != nil {
		return err
	}
	y, err := im.op(ir.OpMaxPool, ir.Attrs{{Key: "kernel_shape", Val: kernel}, {Key: "strides", Val: strides}, {Key: "pads", Val: pads}, {Key: "dilations", Val: dils}}, x)
	if err != nil {
		return err
	}
	return im.set(0, y)
}

func (im *importer) averagePool() error {
	x, err := im.floatIn(0)
	if err != nil {
		return err
	}
	kernel, _, err := im.attrInts("kernel_shape")
	if err != nil {
		return err
	}
	include, err := im.attrInt("count_include_pad", 0)
	if err != nil {
		return err
	}
	ceil, err := im.attrInt("ceil_mode", 0)
	if err != nil {
		return err
	}
	if ceil != 0 && include != 0 {
		return im.notSupported("ceil_mode with count_include_pad")
	}
	strides, pads, dils, err := im.windowND(x, kernel, true)
	if err != nil {
		return err
	}
	if slices.ContainsFunc(dils, func(d int) bool { return d != 1 }) {
		return im.notSupported("dilations %v in an average pool", dils)
	}
	y, err := im.op(ir.OpAveragePool, ir.Attrs{{Key: "kernel_shape", Val: kernel}, {Key: "strides", Val: strides}, {Key: "pads", Val: pads}, {Key: "count_include_pad", Val: include}}, x)
	if err != nil {
		return err
	}
	return im.set(0, y)
}

// globalAveragePool is the mean over the spatial axes, kept.
func (im *importer) globalAveragePool() error {
	x, err := im.floatIn(0)
	if err != nil {
		return err
	}
	var axes []int
	for i := 2; i < x.Type.Shape.Rank(); i++ {
		axes = append(axes, i)
	}
	if len(axes) == 0 {
		return im.errorf("input %s has no spatial dimensions", x.Type.Shape)
	}
	y, err := im.op(ir.OpReduceMean, ir.Attrs{{Key: "axes", Val: axes}, {Key: "keepdims", Val: 1}}, x)
	if err != nil {
		return err
	}
	return im.set(0, y)
}

// split is one Slice per output.
func (im *importer) split() error {
	x, err := im.in(0)
	if err != nil {
		return err
	}
	axis, err := im.attrInt("axis", 0)
	if err != nil {
		return err
	}
	r := x.Type.Shape.Rank()
	a, ok := ir.NormAxis(axis, r)
	if !ok {
		return im.errorf("axis %d out of range for %s", axis, x.Type.Shape)
	}
	d := x.Type.Shape[a]
	if d == ir.Batch {
		return im.notSupported("splitting the batch dimension")
	}
	var sizes []int
	if im.m.Opset < 13 {
		if sizes, _, err = im.attrInts("split"); err != nil {
			return err
		}
	} else if sizes, err = im.intsIn(1); err != nil {
		return err
	}
	n := len(im.node.Output)
	if im.m.Opset >= 18 {
		parts, err := im.attrInt("num_outputs", 0)
		if err != nil {
			return err
		}
		if parts > 0 {
			n = parts
		}
	}
	if sizes == nil {
		if n == 0 {
			return im.errorf("no outputs")
		}
		per := (d + n - 1) / n
		for i := range n {
			sizes = append(sizes, max(0, min(per, d-i*per)))
		}
	}
	if len(sizes) != len(im.node.Output) {
		return im.errorf("%d sizes for %d outputs", len(sizes), len(im.node.Output))
	}
	start := 0
	for i, sz := range sizes {
		if sz < 0 || start+sz > d {
			return im.errorf("split sizes %v for a dimension of %d", sizes, d)
		}
		y, err := im.op(ir.OpSlice, ir.Attrs{{Key: "starts", Val: []int{start}}, {Key: "ends", Val: []int{start + sz}}, {Key: "axes", Val: []int{a}}}, x)
		if err != nil {
			return err
		}
		if err := im.set(i, y); err != nil {
			return err
		}
		start += sz
	}
	return nil
}

func init() {
	handlers["ThresholdedRelu"] = (*importer).thresholdedRelu
	handlers["Shrink"] = (*importer).shrink
	handlers["Celu"] = (*importer).celu
}

// scalar is the constant c of x's element type.
func (im *importer) scalar(c float64, x *ir.Value) (*ir.Value, error) {
	v, err := im.b.Const(c, x.Type.DType, im.pos())
	if err != nil {
		return nil, im.errorf("%v", err)
	}
	return v, nil
}

// thresholdedRelu is where(x > alpha, x, 0).
func (im *importer) thresholdedRelu() error {
	x, err := im.floatIn(0)
	if err != nil {
		return err
	}
	alpha, err := im.attrFloat("alpha", 1)
	if err != nil {
		return err
	}
	a, err := im.scalar(alpha, x)
	if err != nil {
		return err
	}
	zero, err := im.scalar(0, x)
	if err != nil {
		return err
	}
	c, err := im.op(ir.OpGreater, nil, x, a)
	if err != nil {
		return err
	}
	y, err := im.op(ir.OpWhere, nil, c, x, zero)
	if err != nil {
		return err
	}
	return im.set(0, y)
}

// shrink is where(x < -lambd, x + bias, where(x > lambd, x - bias, 0)).
func (im *importer) shrink() error {
	x, err := im.floatIn(0)
	if err != nil {
		return err
	}
	lambd, err := im.attrFloat("lambd", 0.5)
	if err != nil {
		return err
	}
	bias, err := im.attrFloat("bias", 0)
	if err != nil {
		return err
	}
	l, err := im.scalar(lambd, x)
	if err != nil {
		return err
	}
	nl, err := im.scalar(-lambd, x)
	if err != nil {
		return err
	}
	b, err := im.scalar(bias, x)
	if err != nil {
		return err
	}
	zero, err := im.scalar(0, x)
	if err != nil {
		return err
	}
	hi, err := im.op(ir.OpGreater, nil, x, l)
	if err != nil {
		return err
	}
	lo, err := im.op(ir.OpLess, nil, x, nl)
	if err != nil {
		return err
	}
	sub, err := im.op(ir.OpSub, nil, x, b)
	if err != nil {
		return err
	}
	add, err := im.op(ir.OpAdd, nil, x, b)
	if err != nil {
		return err
	}
	inner, err := im.op(ir.OpWhere, nil, hi, sub, zero)
	if err != nil {
		return err
	}
	y, err := im.op(ir.OpWhere, nil, lo, add, inner)
	if err != nil {
		return err
	}
	return im.set(0, y)
}

// celu is max(0, x) + min(0, alpha·(exp(x/alpha) − 1)).
func (im *importer) celu() error {
	x, err := im.floatIn(0)
	if err != nil {
		return err
	}
	alpha, err := im.attrFloat("alpha", 1)
	if err != nil {
		return err
	}
	if alpha == 0 {
		return im.errorf("alpha is 0")
	}
	a, err := im.scalar(alpha, x)
	if err != nil {
		return err
	}
	one, err := im.scalar(1, x)
	if err != nil {
		return err
	}
	zero, err := im.scalar(0, x)
	if err != nil {
		return err
	}
	e, err := im.op(ir.OpDiv, nil, x, a)
	if err == nil {
		e, err = im.op(ir.OpExp, nil, e)
	}
	if err == nil {
		e, err = im.op(ir.OpSub, nil, e, one)
	}
	if err == nil {
		e, err = im.op(ir.OpMul, nil, e, a)
	}
	if err == nil {
		e, err = im.op(ir.OpMin, nil, e, zero)
	}
	var p *ir.Value
	if err == nil {
		p, err = im.op(ir.OpMax, nil, x, zero)
	}
	if err != nil {
		return err
	}
	y, err := im.op(ir.OpAdd, nil, p, e)
	if err != nil {
		return err
	}
	return im.set(0, y)
}
