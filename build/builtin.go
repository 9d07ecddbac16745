package build

import (
	"strings"

	"github.com/nnc-go/nnc/diag"
	"github.com/nnc-go/nnc/dsl"
	"github.com/nnc-go/nnc/ir"
)

// builtinKind is a row of the built-in function table. Every built-in
// takes a tensor first, by position; args are the arguments after it,
// bound by position or name, unless raw is set and apply reads them
// itself (matmul's second tensor, reshape's dimensions).
type builtinKind struct {
	name  string
	args  []argSpec
	raw   bool
	apply func(c *builtinCall) (operand, bool)
}

// builtinCall is one call of a built-in, its first argument evaluated.
type builtinCall struct {
	in   *instance
	sc   *scope
	pos  diag.Pos
	text string     // the call as written, for messages
	x    operand    // the first argument
	rest []*dsl.Arg // the arguments after it
	args boundArgs  // rest bound to the row's args, unless raw
}

// op adds op over args; a refusal of its rule is reported in the rule's
// words.
func (c *builtinCall) op(op ir.Op, attrs ir.Attrs, args ...*ir.Value) (operand, bool) {
	v, err := c.in.bld.Op(op, attrs, c.pos, args...)
	if err != nil {
		c.in.shapeError(c.pos, c.text, err)
		return operand{}, false
	}
	return operand{v: v, text: c.text}, true
}

// dim returns the integer dim argument as written, or reports it.
func (c *builtinCall) dim() (int, bool) {
	d := c.args.vals["dim"]
	if d.kind != kInt {
		c.in.b.errs.Errorf(c.args.pos["dim"], "%s: dim must be an integer, got %s", c.text, d)
		return 0, false
	}
	return int(d.I), true
}

// axisOp adds an op with a dim attribute. The op's rule checks the dim;
// the attribute is then normalized to 0..rank-1.
func (c *builtinCall) axisOp(op ir.Op) (operand, bool) {
	d, ok := c.dim()
	if !ok {
		return operand{}, false
	}
	v, err := c.in.bld.Op(op, ir.Attrs{{Key: "dim", Val: d}}, c.pos, c.x.v)
	s := c.x.v.Type.Shape
	switch {
	case err == nil:
		n, _ := ir.NormAxis(d, s.Rank())
		v.Attrs = ir.Attrs{{Key: "dim", Val: n}}
		return operand{v: v, text: c.text}, true
	case shapeKind(err) == ir.ShapeAxis:
		c.in.b.errs.Errorf(c.args.pos["dim"], "%s: dim %d is out of range for %s %s", c.text, d, c.x.text, c.sc.shape(s))
	case shapeKind(err) == ir.ShapeBatchAxis:
		c.in.b.errs.Errorf(c.pos, "%s: a mean over the batch dimension is not allowed: its size changes with the last batch", c.text)
	default:
		c.in.shapeError(c.pos, c.text, err)
	}
	return operand{}, false
}

func unary(name string, op ir.Op) *builtinKind {
	return &builtinKind{name: name, apply: func(c *builtinCall) (operand, bool) { return c.op(op, nil, c.x.v) }}
}

func softmax(name string, op ir.Op) *builtinKind {
	return &builtinKind{name: name, args: []argSpec{{name: "dim", def: intConst(-1)}},
		apply: func(c *builtinCall) (operand, bool) { return c.axisOp(op) }}
}

// reduction is sum or mean: along dim, or over every element without it.
func reduction(name string, op ir.Op) *builtinKind {
	return &builtinKind{name: name, args: []argSpec{{name: "dim"}}, apply: func(c *builtinCall) (operand, bool) {
		if c.args.has("dim") {
			return c.axisOp(op)
		}
		s := c.x.v.Type.Shape
		if op == ir.OpMean && s.HasBatch() {
			c.in.b.errs.Errorf(c.pos, "%s: a mean over every element, the batch dimension included, is not allowed; give dim", c.text)
			return operand{}, false
		}
		sum, ok := c.op(ir.OpSumAll, nil, c.x.v)
		if !ok || op != ir.OpMean {
			return sum, ok
		}
		k := floatConst(1 / float64(s.Elems()))
		scale := c.in.tensor(operand{c: &k}, c.pos)
		if scale == nil {
			return operand{}, false
		}
		return c.op(ir.OpMul, nil, sum.v, scale)
	}}
}

// builtins are the built-in functions, in the order suggestions try them;
// builtinTable has them by name. (Set in init: their rows refer to the
// expression evaluator, which refers to the table.)
var (
	builtins     []*builtinKind
	builtinTable map[string]*builtinKind
)

func init() {
	builtins = []*builtinKind{
		unary("relu", ir.OpRelu),
		unary("sigmoid", ir.OpSigmoid),
		unary("tanh", ir.OpTanh),
		{name: "gelu", args: []argSpec{{name: "approximate", kind: argString, def: Const{kind: kString, S: "none"}}}, apply: builtinGelu},
		softmax("softmax", ir.OpSoftmax),
		softmax("log_softmax", ir.OpLogSoftmax),
		{name: "flatten", apply: builtinFlatten},
		{name: "reshape", raw: true, apply: builtinReshape},
		reduction("sum", ir.OpSum),
		reduction("mean", ir.OpMean),
		{name: "matmul", raw: true, apply: builtinMatmul},
		{name: "arange", raw: true, apply: builtinArange},
		// scaled_dot_product_attention(q, k, v, causal = false) (issue 14)
		{name: "scaled_dot_product_attention", raw: true, apply: builtinAttention},
		// Attention written out by hand (issue 14).
		{name: "transpose", args: []argSpec{{name: "d0", required: true}, {name: "d1", required: true}}, apply: builtinTranspose},
	}
	// The ONNX op set (issue 13).
	builtins = append(builtins, onnxBuiltins()...)
	builtins = append(builtins, onnxMoreBuiltins()...)
	builtinTable = map[string]*builtinKind{}
	for _, bk := range builtins {
		builtinTable[bk.name] = bk
	}
}

func builtinNames() []string {
	names := make([]string, len(builtins))
	for i, bk := range builtins {
		names[i] = bk.name
	}
	return names
}

// builtin evaluates a call of a built-in function.
func (in *instance) builtin(bk *builtinKind, x *dsl.Call, sc *scope, text string) (operand, bool) {
	b := in.b
	pos := x.Fun.Pos
	if len(x.Args) == 0 || x.Args[0].Key != nil {
		b.errs.Errorf(pos, "%s: the first argument must be a tensor, given by position", text)
		return operand{}, false
	}
	first, ok := in.expr(x.Args[0].Value, sc)
	if !ok {
		return operand{}, false
	}
	c := &builtinCall{in: in, sc: sc, pos: pos, text: text, x: first, rest: x.Args[1:]}
	if bk.raw {
		return bk.apply(c)
	}
	if first.v == nil {
		b.errs.Errorf(pos, "%s: %s takes a tensor, got the constant %s", text, bk.name, first.text)
		return operand{}, false
	}
	if c.args, ok = in.env.bindArgs(bk.name, pos, c.rest, bk.args); !ok {
		return operand{}, false
	}
	return bk.apply(c)
}

func builtinMatmul(c *builtinCall) (operand, bool) {
	b := c.in.b
	if len(c.rest) != 1 || c.rest[0].Key != nil {
		b.errs.Errorf(c.pos, "%s: matmul takes two tensors", c.text)
		return operand{}, false
	}
	second, ok := c.in.expr(c.rest[0].Value, c.sc)
	if !ok {
		return operand{}, false
	}
	if c.x.v == nil || second.v == nil {
		b.errs.Errorf(c.pos, "%s: matmul multiplies two tensors; use * to scale by a number", c.text)
		return operand{}, false
	}
	return c.in.matmul(c.pos, c.x, second, c.sc, c.text)
}

// builtinFlatten keeps dimension 0 and flattens the others into one.
func builtinFlatten(c *builtinCall) (operand, bool) {
	xv := c.x.v
	s := xv.Type.Shape
	if s.Rank() < 2 {
		c.in.b.errs.Errorf(c.pos, "%s: flatten keeps dimension 0 and needs 2 dimensions or more, %s is %s", c.text, c.x.text, c.sc.shape(s))
		return operand{}, false
	}
	if s.Rank() == 2 {
		return operand{v: xv, text: c.text}, true
	}
	out := ir.Shape{s[0], ir.Shape(s[1:]).Elems()}
	v, err := c.in.bld.Declared(ir.OpReshape, ir.Type{DType: xv.Type.DType, Shape: out}, nil, c.pos, xv)
	if err != nil {
		c.in.shapeError(c.pos, c.text, err)
		return operand{}, false
	}
	return operand{v: v, text: c.text}, true
}

// reshape evaluates reshape(x, d1, d2, ...): each dimension a size, the
// batch name or -1 for the one inferred.
func builtinReshape(c *builtinCall) (operand, bool) {
	in, b, sc, text, pos := c.in, c.in.b, c.sc, c.text, c.pos
	if c.x.v == nil {
		b.errs.Errorf(pos, "%s: reshape takes a tensor, got the constant %s", text, c.x.text)
		return operand{}, false
	}
	xv, xText, dims := c.x.v, c.x.text, c.rest
	s := xv.Type.Shape
	if len(dims) == 0 {
		b.errs.Errorf(pos, "%s: reshape needs the new dimensions", text)
		return operand{}, false
	}
	out := make(ir.Shape, len(dims))
	infer := -1
	known := 1
	for i, a := range dims {
		if a.Key != nil {
			b.errs.Errorf(a.Key.Pos, "%s: reshape takes its dimensions by position", text)
			return operand{}, false
		}
		if id, ok := a.Value.(*dsl.Ident); ok && id.Name == sc.batchName && sc.batchName != "" {
			if _, isConst := in.env.names[id.Name]; !isConst {
				out[i] = sc.batchDim
				if sc.batchDim > 0 {
					known *= sc.batchDim
				}
				continue
			}
		}
		c, ok := in.env.eval(a.Value, false)
		if !ok {
			return operand{}, false
		}
		switch {
		case c.kind == kInt && c.I == -1:
			if infer >= 0 {
				b.errs.Errorf(a.Value.Start(), "%s: only one dimension may be -1", text)
				return operand{}, false
			}
			infer = i
		case c.kind == kInt && c.I > 0 && c.I <= 1<<31:
			out[i] = int(c.I)
			known *= out[i]
		default:
			b.errs.Errorf(a.Value.Start(), "%s: dimension %s must be a positive integer, -1 or the batch name", text, dsl.ExprString(a.Value))
			return operand{}, false
		}
	}
	bad := func() (operand, bool) {
		want := make([]string, len(dims))
		for i, a := range dims {
			want[i] = dsl.ExprString(a.Value)
		}
		b.errs.Errorf(pos, "%s: cannot reshape %s %s (%d elements per sample) into [%s]", text, xText, sc.shape(s), s.Elems(), strings.Join(want, ", "))
		return operand{}, false
	}
	if infer >= 0 {
		total := s.Elems()
		if known == 0 || total%known != 0 {
			out[infer] = 0
			return bad()
		}
		out[infer] = total / known
		if s.HasBatch() && !out.HasBatch() {
			// The batch dimension cannot hide inside an inferred size.
			out[infer] = ir.Batch
			if total != known {
				return bad()
			}
		}
	}
	v, err := in.bld.Declared(ir.OpReshape, ir.Type{DType: xv.Type.DType, Shape: out}, nil, pos, xv)
	if err != nil {
		return bad()
	}
	return operand{v: v, text: text}, true
}

// builtinArange is the i64[n] constant 0..n-1, n an integer constant:
// the positions of a sequence, for a positional embedding.
func builtinArange(c *builtinCall) (operand, bool) {
	if len(c.rest) != 0 || c.x.c == nil || c.x.c.kind != kInt || c.x.c.I < 1 {
		c.in.b.errs.Errorf(c.pos, "%s: arange takes one positive integer constant, such as a hyper-parameter", c.text)
		return operand{}, false
	}
	return c.op(ir.OpArange, ir.Attrs{{Key: "n", Val: int(c.x.c.I)}})
}

// attentionArgs are scaled_dot_product_attention's arguments after q, k
// and v.
var attentionArgs = []argSpec{{name: "causal", aliases: []string{"is_causal"}, kind: argBool, def: Const{kind: kBool}}}

// builtinAttention is scaled_dot_product_attention(q, k, v, causal =
// false): q, k and v by position, then causal, a constant true or false.
func builtinAttention(c *builtinCall) (operand, bool) {
	b := c.in.b
	if len(c.rest) < 2 || c.rest[0].Key != nil || c.rest[1].Key != nil {
		b.errs.Errorf(c.pos, "%s: scaled_dot_product_attention takes q, k and v by position, then causal", c.text)
		return operand{}, false
	}
	ops := []operand{c.x}
	for _, a := range c.rest[:2] {
		o, ok := c.in.expr(a.Value, c.sc)
		if !ok {
			return operand{}, false
		}
		ops = append(ops, o)
	}
	for _, o := range ops {
		if o.v == nil {
			b.errs.Errorf(c.pos, "%s: q, k and v must be tensors, got the constant %s", c.text, o.text)
			return operand{}, false
		}
	}
	args, ok := c.in.env.bindArgs("scaled_dot_product_attention", c.pos, c.rest[2:], attentionArgs)
	if !ok {
		return operand{}, false
	}
	var attrs ir.Attrs
	if args.bool("causal") {
		attrs = ir.Attrs{{Key: "causal", Val: true}}
	}
	return c.op(ir.OpAttention, attrs, ops[0].v, ops[1].v, ops[2].v)
}

// builtinGelu is gelu(x, approximate = "none"), approximate "tanh" for
// its tanh form, as torch.nn.functional.gelu.
func builtinGelu(c *builtinCall) (operand, bool) {
	a := c.args.str("approximate")
	if a != "none" && a != "tanh" {
		c.in.b.errs.Errorf(c.args.pos["approximate"], "%s: approximate must be \"none\" or \"tanh\", got %q", c.text, a)
		return operand{}, false
	}
	var attrs ir.Attrs // the default form prints as before
	if a == "tanh" {
		attrs = ir.Attrs{{Key: "approximate", Val: a}}
	}
	return c.op(ir.OpGelu, attrs, c.x.v)
}

// builtinTranspose is transpose(x, d0, d1), swapping two dimensions, each
// of which may count from the end; the attributes are then normalized to
// 0..rank-1.
func builtinTranspose(c *builtinCall) (operand, bool) {
	s := c.x.v.Type.Shape
	var d [2]int
	for i, name := range []string{"d0", "d1"} {
		v := c.args.vals[name]
		n, ok := ir.NormAxis(int(v.I), s.Rank())
		if v.kind != kInt || !ok {
			c.in.b.errs.Errorf(c.args.pos[name], "%s: %s must be a dimension of %s %s, in [%d, %d), got %s", c.text, name, c.x.text, c.sc.shape(s), -s.Rank(), s.Rank(), v)
			return operand{}, false
		}
		d[i] = n
	}
	return c.op(ir.OpTranspose, ir.Attrs{{Key: "d0", Val: d[0]}, {Key: "d1", Val: d[1]}}, c.x.v)
}
