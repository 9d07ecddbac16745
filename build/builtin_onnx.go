package build

import (
	"slices"

	"github.com/nnc-go/nnc/dsl"
	"github.com/nnc-go/nnc/ir"
)

// The built-ins of the ONNX op set (issue 13; LANGUAGE.md, "Other model
// files, arrays in and out"): each is the ONNX op named in lower case
// (words joined by _), its attributes keyword arguments of ONNX's names,
// integer lists written [0, 1]. A built-in of several tensors takes them
// first, by position; a number among them is a scalar of the first
// tensor's element type.

// onnxUnary is an element-wise op whose float attributes are keyword
// arguments with ONNX's defaults.
func onnxUnary(name string, op ir.Op, args ...argSpec) *builtinKind {
	return &builtinKind{name: name, args: args, apply: func(c *builtinCall) (operand, bool) {
		var attrs ir.Attrs
		for _, a := range args {
			if c.args.has(a.name) {
				attrs = append(attrs, ir.Attr{Key: a.name, Val: c.args.float(a.name)})
			}
		}
		return c.op(op, attrs, c.x.v)
	}}
}

func floatArg(name string) argSpec { return argSpec{name: name, kind: argFloat} }

// onnxTensors is a built-in of n tensors (at least min) followed by
// keyword arguments; apply receives the tensors.
func onnxTensors(name string, min, n int, args []argSpec, apply func(c *builtinCall, xs []*ir.Value) (operand, bool)) *builtinKind {
	return &builtinKind{name: name, raw: true, apply: func(c *builtinCall) (operand, bool) {
		xs, ok := c.tensors(name, min, n, args)
		if !ok {
			return operand{}, false
		}
		return apply(c, xs)
	}}
}

// tensors evaluates the positional arguments of a raw built-in as tensors
// (between min and n of them, the first included) and binds its keyword
// arguments to args.
func (c *builtinCall) tensors(name string, min, n int, args []argSpec) ([]*ir.Value, bool) {
	b := c.in.b
	ops := []operand{c.x}
	var kw []*dsl.Arg
	for _, a := range c.rest {
		if a.Key != nil {
			kw = append(kw, a)
			continue
		}
		if len(kw) > 0 {
			b.errs.Errorf(a.Value.Start(), "%s: positional argument after a keyword argument", c.text)
			return nil, false
		}
		op, ok := c.in.expr(a.Value, c.sc)
		if !ok {
			return nil, false
		}
		ops = append(ops, op)
	}
	if len(ops) < min || len(ops) > n {
		if min == n {
			b.errs.Errorf(c.pos, "%s: %s takes %d tensors, got %d", c.text, name, n, len(ops))
		} else {
			b.errs.Errorf(c.pos, "%s: %s takes %d tensors or more, got %d", c.text, name, min, len(ops))
		}
		return nil, false
	}
	dt := c.in.dtype
	for _, op := range ops {
		if op.v != nil {
			dt = op.v.Type.DType
			break
		}
	}
	xs := make([]*ir.Value, len(ops))
	for i, op := range ops {
		if op.v != nil {
			xs[i] = op.v
			continue
		}
		if op.c.kind != kInt && op.c.kind != kFloat {
			b.errs.Errorf(c.pos, "%s: %s is %s, not a tensor or a number", c.text, op.text, op.c.kindName())
			return nil, false
		}
		if dt != ir.I64 && !dt.IsFloat() {
			dt = c.in.dtype
		}
		v, err := c.in.bld.Const(op.c.F, dt, c.pos)
		if err != nil {
			c.in.shapeError(c.pos, c.text, err)
			return nil, false
		}
		xs[i] = v
	}
	if !slices.ContainsFunc(ops, func(op operand) bool { return op.v != nil }) {
		b.errs.Errorf(c.pos, "%s: %s needs a tensor, got only constants", c.text, name)
		return nil, false
	}
	var ok bool
	if c.args, ok = c.in.env.bindArgs(name, c.pos, kw, args); !ok {
		return nil, false
	}
	return xs, true
}

// ints returns the integer-list argument name as []int.
func (c *builtinCall) ints(name string) []int {
	l := c.args.vals[name].L
	out := make([]int, len(l))
	for i, x := range l {
		out[i] = int(x)
	}
	return out
}

func binaryOnnx(name string, op ir.Op) *builtinKind {
	return onnxTensors(name, 2, 2, nil, func(c *builtinCall, xs []*ir.Value) (operand, bool) {
		return c.op(op, nil, xs...)
	})
}

// chainOnnx is ONNX's variadic Min and Max: a chain of binary ops.
func chainOnnx(name string, op ir.Op) *builtinKind {
	return onnxTensors(name, 2, maxBuiltinTensors, nil, func(c *builtinCall, xs []*ir.Value) (operand, bool) {
		r := operand{v: xs[0]}
		for _, x := range xs[1:] {
			var ok bool
			if r, ok = c.op(op, nil, r.v, x); !ok {
				return operand{}, false
			}
		}
		return r, true
	})
}

// maxBuiltinTensors bounds the tensors of concat, min and max.
const maxBuiltinTensors = 256

var reduceArgs = []argSpec{{name: "axes", kind: argInts}, {name: "keepdims", kind: argCount, def: intConst(1)}}

func reduceOnnx(name string, op ir.Op) *builtinKind {
	return &builtinKind{name: name, args: reduceArgs, apply: func(c *builtinCall) (operand, bool) {
		attrs := ir.Attrs{{Key: "keepdims", Val: c.args.int("keepdims")}}
		if c.args.has("axes") {
			attrs = append(ir.Attrs{{Key: "axes", Val: c.ints("axes")}}, attrs...)
		}
		return c.op(op, attrs, c.x.v)
	}}
}

// intsAttrs turns the integer-list arguments given into attributes.
func (c *builtinCall) intsAttrs(names ...string) ir.Attrs {
	var attrs ir.Attrs
	for _, n := range names {
		if c.args.has(n) {
			attrs = append(attrs, ir.Attr{Key: n, Val: c.ints(n)})
		}
	}
	return attrs
}

func onnxBuiltins() []*builtinKind {
	return []*builtinKind{
		onnxUnary("exp", ir.OpExp),
		onnxUnary("log", ir.OpLog),
		onnxUnary("sqrt", ir.OpSqrt),
		onnxUnary("abs", ir.OpAbs),
		onnxUnary("erf", ir.OpErf),
		onnxUnary("softplus", ir.OpSoftplus),
		onnxUnary("softsign", ir.OpSoftsign),
		onnxUnary("leaky_relu", ir.OpLeakyRelu, floatArg("alpha")),
		onnxUnary("elu", ir.OpElu, floatArg("alpha")),
		onnxUnary("selu", ir.OpSelu, floatArg("alpha"), floatArg("gamma")),
		onnxUnary("hard_sigmoid", ir.OpHardSigmoid, floatArg("alpha"), floatArg("beta")),
		onnxUnary("hard_swish", ir.OpHardSwish),
		onnxUnary("clip", ir.OpClip, floatArg("min"), floatArg("max")),
		onnxUnary("reciprocal", ir.OpReciprocal),
		onnxUnary("floor", ir.OpFloor),
		onnxUnary("ceil", ir.OpCeil),
		binaryOnnx("pow", ir.OpPow),
		chainOnnx("min", ir.OpMin),
		chainOnnx("max", ir.OpMax),
		binaryOnnx("prelu", ir.OpPRelu),
		binaryOnnx("equal", ir.OpEqual),
		binaryOnnx("less", ir.OpLess),
		binaryOnnx("greater", ir.OpGreater),
		{name: "not", apply: func(c *builtinCall) (operand, bool) { return c.op(ir.OpNot, nil, c.x.v) }},
		binaryOnnx("and", ir.OpAnd),
		binaryOnnx("or", ir.OpOr),
		binaryOnnx("xor", ir.OpXor),
		onnxTensors("mod", 2, 2, []argSpec{{name: "fmod", kind: argCount, def: intConst(0)}}, func(c *builtinCall, xs []*ir.Value) (operand, bool) {
			return c.op(ir.OpMod, ir.Attrs{{Key: "fmod", Val: c.args.int("fmod")}}, xs...)
		}),
		onnxTensors("where", 3, 3, nil, func(c *builtinCall, xs []*ir.Value) (operand, bool) {
			return c.op(ir.OpWhere, nil, xs...)
		}),
		{name: "cast", args: []argSpec{{name: "to", kind: argString, required: true}}, apply: func(c *builtinCall) (operand, bool) {
			return c.op(ir.OpCast, ir.Attrs{{Key: "to", Val: c.args.str("to")}}, c.x.v)
		}},
		reduceOnnx("reduce_sum", ir.OpReduceSum),
		reduceOnnx("reduce_mean", ir.OpReduceMean),
		reduceOnnx("reduce_max", ir.OpReduceMax),
		onnxTensors("concat", 1, maxBuiltinTensors, []argSpec{{name: "axis", required: true}}, func(c *builtinCall, xs []*ir.Value) (operand, bool) {
			if c.args.vals["axis"].kind != kInt {
				c.in.b.errs.Errorf(c.args.pos["axis"], "%s: axis must be an integer", c.text)
				return operand{}, false
			}
			return c.op(ir.OpConcat, ir.Attrs{{Key: "axis", Val: c.args.int("axis")}}, xs...)
		}),
		{name: "slice", args: []argSpec{{name: "starts", kind: argInts, required: true}, {name: "ends", kind: argInts, required: true},
			{name: "axes", kind: argInts}, {name: "steps", kind: argInts}}, apply: func(c *builtinCall) (operand, bool) {
			return c.op(ir.OpSlice, c.intsAttrs("starts", "ends", "axes", "steps"), c.x.v)
		}},
		onnxTensors("gather", 2, 2, []argSpec{{name: "axis", def: intConst(0)}}, func(c *builtinCall, xs []*ir.Value) (operand, bool) {
			if c.args.vals["axis"].kind != kInt {
				c.in.b.errs.Errorf(c.args.pos["axis"], "%s: axis must be an integer", c.text)
				return operand{}, false
			}
			return c.op(ir.OpGather, ir.Attrs{{Key: "axis", Val: c.args.int("axis")}}, xs...)
		}),
		onnxTensors("gather_elements", 2, 2, []argSpec{{name: "axis", def: intConst(0)}}, func(c *builtinCall, xs []*ir.Value) (operand, bool) {
			if c.args.vals["axis"].kind != kInt {
				c.in.b.errs.Errorf(c.args.pos["axis"], "%s: axis must be an integer", c.text)
				return operand{}, false
			}
			return c.op(ir.OpGatherElements, ir.Attrs{{Key: "axis", Val: c.args.int("axis")}}, xs...)
		}),
		{name: "expand", raw: true, apply: builtinExpand},
		onnxTensors("conv", 2, 3, []argSpec{{name: "strides", kind: argInts}, {name: "pads", kind: argInts}, {name: "dilations", kind: argInts},
			{name: "group", kind: argSize, def: intConst(1)}}, func(c *builtinCall, xs []*ir.Value) (operand, bool) {
			attrs := append(c.intsAttrs("strides", "pads", "dilations"), ir.Attr{Key: "group", Val: c.args.int("group")})
			return c.op(ir.OpConv, attrs, xs...)
		}),
		{name: "max_pool", args: poolArgs(argSpec{name: "dilations", kind: argInts}), apply: func(c *builtinCall) (operand, bool) {
			return c.op(ir.OpMaxPool, c.ceilMode(c.intsAttrs("kernel_shape", "strides", "pads", "dilations")), c.x.v)
		}},
		{name: "average_pool", args: poolArgs(argSpec{name: "count_include_pad", kind: argCount, def: intConst(0)}), apply: func(c *builtinCall) (operand, bool) {
			attrs := append(c.intsAttrs("kernel_shape", "strides", "pads"), ir.Attr{Key: "count_include_pad", Val: c.args.int("count_include_pad")})
			return c.op(ir.OpAveragePool, c.ceilMode(attrs), c.x.v)
		}},
		// global_average_pool(x): the mean over every spatial dimension,
		// kept as 1 (ONNX's GlobalAveragePool is this ReduceMean).
		{name: "global_average_pool", apply: func(c *builtinCall) (operand, bool) {
			var axes []int
			for i := 2; i < c.x.v.Type.Shape.Rank(); i++ {
				axes = append(axes, i)
			}
			if len(axes) == 0 {
				c.in.b.errs.Errorf(c.pos, "%s: global_average_pool needs [N, C, D...], %s is %s", c.text, c.x.text, c.sc.shape(c.x.v.Type.Shape))
				return operand{}, false
			}
			return c.op(ir.OpReduceMean, ir.Attrs{{Key: "axes", Val: axes}}, c.x.v)
		}},
		{name: "tile", args: []argSpec{{name: "repeats", kind: argInts, required: true}}, apply: func(c *builtinCall) (operand, bool) {
			return c.op(ir.OpTile, c.intsAttrs("repeats"), c.x.v)
		}},
		{name: "pad", args: []argSpec{{name: "pads", kind: argInts, required: true}, {name: "mode", kind: argString}, floatArg("value")},
			apply: func(c *builtinCall) (operand, bool) {
				attrs := c.intsAttrs("pads")
				if c.args.has("mode") {
					attrs = append(attrs, ir.Attr{Key: "mode", Val: c.args.str("mode")})
				}
				if c.args.has("value") {
					attrs = append(attrs, ir.Attr{Key: "value", Val: c.args.float("value")})
				}
				return c.op(ir.OpPad, attrs, c.x.v)
			}},
	}
}

func poolArgs(last argSpec) []argSpec {
	return []argSpec{{name: "kernel_shape", kind: argInts, required: true}, {name: "strides", kind: argInts}, {name: "pads", kind: argInts}, last,
		{name: "ceil_mode", kind: argCount, def: intConst(0)}}
}

// ceilMode adds the ceil_mode argument, when 1, to a pool's attributes.
func (c *builtinCall) ceilMode(attrs ir.Attrs) ir.Attrs {
	if m := c.args.int("ceil_mode"); m != 0 {
		attrs = append(attrs, ir.Attr{Key: "ceil_mode", Val: m})
	}
	return attrs
}

// builtinExpand is expand(x, d1, d2, ...): x broadcast with the shape
// [d1, d2, ...] as ONNX's Expand, each dimension a size or the batch name.
func builtinExpand(c *builtinCall) (operand, bool) {
	in, b, sc := c.in, c.in.b, c.sc
	if c.x.v == nil || len(c.rest) == 0 {
		b.errs.Errorf(c.pos, "%s: expand takes a tensor and the dimensions to broadcast it to", c.text)
		return operand{}, false
	}
	dims := make(ir.Shape, len(c.rest))
	for i, a := range c.rest {
		if a.Key != nil {
			b.errs.Errorf(a.Key.Pos, "%s: expand takes its dimensions by position", c.text)
			return operand{}, false
		}
		if id, ok := a.Value.(*dsl.Ident); ok && id.Name == sc.batchName && sc.batchName != "" {
			if _, isConst := in.env.names[id.Name]; !isConst {
				dims[i] = sc.batchDim
				continue
			}
		}
		k, ok := in.env.eval(a.Value, false)
		if !ok {
			return operand{}, false
		}
		if k.kind != kInt || k.I < 1 || k.I > 1<<31 {
			b.errs.Errorf(a.Value.Start(), "%s: dimension %s must be a positive integer or the batch name", c.text, dsl.ExprString(a.Value))
			return operand{}, false
		}
		dims[i] = int(k.I)
	}
	out, ok := ir.Broadcast(c.x.v.Type.Shape, dims)
	if !ok {
		b.errs.Errorf(c.pos, "%s: %s %s does not broadcast to %s", c.text, c.x.text, sc.shape(c.x.v.Type.Shape), sc.shape(dims))
		return operand{}, false
	}
	v, err := in.bld.Declared(ir.OpExpand, ir.Type{DType: c.x.v.Type.DType, Shape: out}, nil, c.pos, c.x.v)
	if err != nil {
		in.shapeError(c.pos, c.text, err)
		return operand{}, false
	}
	return operand{v: v, text: c.text}, true
}
