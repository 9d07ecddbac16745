package build

import (
	"fmt"

	"github.com/nnc-go/nnc/diag"
	"github.com/nnc-go/nnc/ir"
)

// layerKind is a row of the layer table: a built-in layer's constructor
// arguments, the parameters it owns and the IR it lowers to. Its input's
// shape is checked by the shape rules of the ops it emits; the row only
// says, for messages, what input it expects.
type layerKind struct {
	args []argSpec
	// defaults, when set, fills in the defaults that depend on other
	// arguments (MaxPool2d's stride is its kernel).
	defaults func(a boundArgs)
	// params returns the layer's parameters and buffers in state_dict
	// order, given its bound arguments.
	params func(a boundArgs) []paramSpec
	// describe formats the layer for messages: Linear(20, 2).
	describe func(a boundArgs) string
	// rank, when not 0, is the rank the input must have where the ops'
	// rules would accept others (BatchNorm1d takes [N, C] only).
	rank int
	// expects says what input the layer takes: "20 input features".
	expects func(a boundArgs) string
	// window says why a kernel or window does not fit input s, for the
	// layers that have one.
	window func(a boundArgs, s ir.Shape) string
	// constInput, when set, says why an input whose values are known at
	// compile time (x is an OpArange) does not fit, or returns "".
	constInput func(a boundArgs, x *ir.Value) string
	// apply emits the layer on its input x. A shape rule's refusal is
	// returned as is; callLayer decorates it.
	apply func(c *layerCall, x *ir.Value) (*ir.Value, error)
}

// layerCall is one application of a declared layer, at pos.
type layerCall struct {
	in  *instance
	l   *layer
	pos diag.Pos
}

func (c *layerCall) op(op ir.Op, attrs ir.Attrs, args ...*ir.Value) (*ir.Value, error) {
	return c.in.bld.Op(op, attrs, c.pos, args...)
}

func (c *layerCall) param(name string) *ir.Value { return c.l.params[name] }

// paramSpec is a parameter or buffer a layer owns.
type paramSpec struct {
	name   string
	shape  ir.Shape
	buffer bool
	dtype  ir.DType // InvalidDType: the model's
	init   string
	fanIn  int
	std    float64 // of init "normal", when not torch.nn.Embedding's 1
}

func positive(c Const) string {
	if c.kind == kFloat && c.F <= 0 {
		return fmt.Sprintf("must be positive, got %s", c)
	}
	return ""
}

func probability(c Const) string {
	if c.F < 0 || c.F >= 1 {
		return fmt.Sprintf("must be in [0, 1), got %s", c)
	}
	return ""
}

var (
	boolTrue  = Const{kind: kBool, B: true}
	boolFalse = Const{kind: kBool}
)

var layerTable = map[string]*layerKind{
	"Linear": {
		args: []argSpec{
			{name: "in", aliases: []string{"in_features"}, kind: argSize, required: true},
			{name: "out", aliases: []string{"out_features"}, kind: argSize, required: true},
			{name: "bias", kind: argBool, def: boolTrue},
		},
		params: func(a boundArgs) []paramSpec {
			ps := []paramSpec{{name: "weight", shape: ir.Shape{a.int("out"), a.int("in")}, init: "uniform", fanIn: a.int("in")}}
			if a.bool("bias") {
				ps = append(ps, paramSpec{name: "bias", shape: ir.Shape{a.int("out")}, init: "uniform", fanIn: a.int("in")})
			}
			return ps
		},
		describe: func(a boundArgs) string { return fmt.Sprintf("Linear(%d, %d)", a.int("in"), a.int("out")) },
		expects:  func(a boundArgs) string { return fmt.Sprintf("%d input features", a.int("in")) },
		apply:    applyLinear,
	},
	"Conv2d": {
		args: []argSpec{
			{name: "in", aliases: []string{"in_channels"}, kind: argSize, required: true},
			{name: "out", aliases: []string{"out_channels"}, kind: argSize, required: true},
			{name: "kernel", aliases: []string{"kernel_size"}, kind: argSize, required: true},
			{name: "stride", kind: argSize, def: intConst(1)},
			{name: "padding", kind: argCount, def: intConst(0)},
			{name: "bias", kind: argBool, def: boolTrue},
		},
		params: func(a boundArgs) []paramSpec {
			k := a.int("kernel")
			fan := a.int("in") * k * k
			ps := []paramSpec{{name: "weight", shape: ir.Shape{a.int("out"), a.int("in"), k, k}, init: "uniform", fanIn: fan}}
			if a.bool("bias") {
				ps = append(ps, paramSpec{name: "bias", shape: ir.Shape{a.int("out")}, init: "uniform", fanIn: fan})
			}
			return ps
		},
		describe: func(a boundArgs) string {
			return fmt.Sprintf("Conv2d(%d, %d, %d)", a.int("in"), a.int("out"), a.int("kernel"))
		},
		expects: func(a boundArgs) string { return fmt.Sprintf("[N, %d, H, W] input", a.int("in")) },
		window: func(a boundArgs, s ir.Shape) string {
			return fmt.Sprintf("kernel %d does not fit the %dx%d input with padding %d", a.int("kernel"), s[2], s[3], a.int("padding"))
		},
		apply: func(c *layerCall, x *ir.Value) (*ir.Value, error) {
			a := c.l.args
			attrs := ir.Attrs{{Key: "stride", Val: a.int("stride")}, {Key: "padding", Val: a.int("padding")}}
			if bias := c.param("bias"); bias != nil {
				return c.op(ir.OpConv2d, attrs, x, c.param("weight"), bias)
			}
			return c.op(ir.OpConv2d, attrs, x, c.param("weight"))
		},
	},
	"MaxPool2d": {
		args: []argSpec{
			{name: "kernel", aliases: []string{"kernel_size"}, kind: argSize, required: true},
			{name: "stride", kind: argSize},
		},
		defaults: func(a boundArgs) {
			if !a.has("stride") {
				a.vals["stride"] = a.vals["kernel"]
			}
		},
		params:   func(boundArgs) []paramSpec { return nil },
		describe: func(a boundArgs) string { return fmt.Sprintf("MaxPool2d(%d)", a.int("kernel")) },
		expects:  func(boundArgs) string { return "[N, C, H, W] input" },
		window: func(a boundArgs, s ir.Shape) string {
			return fmt.Sprintf("window %d does not fit the %dx%d input", a.int("kernel"), s[2], s[3])
		},
		apply: func(c *layerCall, x *ir.Value) (*ir.Value, error) {
			a := c.l.args
			return c.op(ir.OpMaxPool2d, ir.Attrs{{Key: "kernel", Val: a.int("kernel")}, {Key: "stride", Val: a.int("stride")}}, x)
		},
	},
	"Dropout": {
		args: []argSpec{
			{name: "p", kind: argFloat, def: floatConst(0.5), check: probability},
		},
		params:   func(boundArgs) []paramSpec { return nil },
		describe: func(a boundArgs) string { return fmt.Sprintf("Dropout(%g)", a.float("p")) },
		expects:  func(boundArgs) string { return "a tensor" },
		apply: func(c *layerCall, x *ir.Value) (*ir.Value, error) {
			p := c.l.args.float("p")
			if !c.in.training || p == 0 {
				return x, nil
			}
			mask, err := c.in.bld.Declared(ir.OpDropoutMask, x.Type, ir.Attrs{{Key: "p", Val: p}}, c.pos)
			if err != nil {
				return nil, err
			}
			return c.op(ir.OpMul, nil, x, mask)
		},
	},
	"Embedding": {
		args: []argSpec{
			{name: "num_embeddings", kind: argSize, required: true},
			{name: "embedding_dim", kind: argSize, required: true},
		},
		params: func(a boundArgs) []paramSpec {
			return []paramSpec{{name: "weight", shape: ir.Shape{a.int("num_embeddings"), a.int("embedding_dim")}, init: "normal"}}
		},
		describe: func(a boundArgs) string {
			return fmt.Sprintf("Embedding(%d, %d)", a.int("num_embeddings"), a.int("embedding_dim"))
		},
		expects: func(boundArgs) string { return "i64 token ids" },
		// Positions arange(n) past the table: the context is longer than
		// the one the model embeds positions for (--set ctx=32 on a model
		// with Embedding(16, d) for them), found now rather than as an id
		// out of range on the first batch.
		constInput: func(a boundArgs, x *ir.Value) string {
			if n, num := x.Attrs.Int("n", 0), a.int("num_embeddings"); x.Op == ir.OpArange && n > num {
				return fmt.Sprintf("arange(%d) gives positions 0..%d, more than the %d rows of Embedding(%d, %d): the context (%d) is longer than the model's (%d)", n, n-1, num, num, a.int("embedding_dim"), n, num)
			}
			return ""
		},
		apply: func(c *layerCall, x *ir.Value) (*ir.Value, error) {
			return c.op(ir.OpEmbedding, nil, x, c.param("weight"))
		},
	},
	"LayerNorm": {
		args: []argSpec{
			{name: "normalized_shape", kind: argSize, required: true},
			{name: "eps", kind: argFloat, def: floatConst(1e-5), check: positive},
		},
		params: func(a boundArgs) []paramSpec {
			d := ir.Shape{a.int("normalized_shape")}
			return []paramSpec{{name: "weight", shape: d, init: "ones"}, {name: "bias", shape: d, init: "zeros"}}
		},
		describe: func(a boundArgs) string { return fmt.Sprintf("LayerNorm(%d)", a.int("normalized_shape")) },
		expects:  func(a boundArgs) string { return fmt.Sprintf("a last dimension of %d", a.int("normalized_shape")) },
		apply: func(c *layerCall, x *ir.Value) (*ir.Value, error) {
			return c.op(ir.OpLayerNorm, ir.Attrs{{Key: "eps", Val: c.l.args.float("eps")}}, x, c.param("weight"), c.param("bias"))
		},
	},
	"BatchNorm1d": batchNorm("BatchNorm1d", "features", "num_features", 2, "[N, %d] input"),
	"BatchNorm2d": batchNorm("BatchNorm2d", "channels", "num_features", 4, "[N, %d, H, W] input"),
}

// applyLinear emits x·Wᵀ + b. A single sample [in] is taken as a row of
// one, as torch.nn.Linear takes it.
func applyLinear(c *layerCall, x *ir.Value) (*ir.Value, error) {
	in, out := c.l.args.int("in"), c.l.args.int("out")
	row := x
	if x.Type.Shape.Rank() == 1 {
		var err error
		if row, err = c.in.bld.Declared(ir.OpReshape, ir.Type{DType: x.Type.DType, Shape: ir.Shape{1, in}}, nil, c.pos, x); err != nil {
			return nil, err
		}
	}
	y, err := c.op(ir.OpMatMul, ir.Attrs{{Key: "tb", Val: true}}, row, c.param("weight"))
	if err != nil {
		return nil, err
	}
	if bias := c.param("bias"); bias != nil {
		if y, err = c.op(ir.OpAdd, nil, y, bias); err != nil {
			return nil, err
		}
	}
	if row != x {
		return c.in.bld.Declared(ir.OpReshape, ir.Type{DType: x.Type.DType, Shape: ir.Shape{out}}, nil, c.pos, y)
	}
	return y, nil
}

func batchNorm(name, arg, alias string, rank int, expects string) *layerKind {
	return &layerKind{
		args: []argSpec{
			{name: arg, aliases: []string{alias}, kind: argSize, required: true},
			{name: "eps", kind: argFloat, def: floatConst(1e-5), check: positive},
			{name: "momentum", kind: argFloat, def: floatConst(0.1), check: probability},
		},
		params: func(a boundArgs) []paramSpec {
			c := ir.Shape{a.int(arg)}
			return []paramSpec{
				{name: "weight", shape: c, init: "ones"},
				{name: "bias", shape: c, init: "zeros"},
				{name: "running_mean", shape: c, buffer: true, init: "zeros"},
				{name: "running_var", shape: c, buffer: true, init: "ones"},
				{name: "num_batches_tracked", shape: ir.Shape{}, buffer: true, dtype: ir.I64, init: "zeros"},
			}
		},
		describe: func(a boundArgs) string { return fmt.Sprintf("%s(%d)", name, a.int(arg)) },
		rank:     rank,
		expects:  func(a boundArgs) string { return fmt.Sprintf(expects, a.int(arg)) },
		apply:    applyBatchNorm,
	}
}

// applyBatchNorm normalizes with the batch's statistics in training, and
// computes the new running statistics as updates of the buffers; with the
// running statistics in evaluation.
func applyBatchNorm(c *layerCall, x *ir.Value) (*ir.Value, error) {
	a := c.l.args
	attrs := ir.Attrs{{Key: "eps", Val: a.float("eps")}, {Key: "momentum", Val: a.float("momentum")}}
	if !c.in.training {
		return c.op(ir.OpBatchNorm, attrs, x, c.param("weight"), c.param("bias"), c.param("running_mean"), c.param("running_var"))
	}
	y, err := c.op(ir.OpBatchNormTrain, attrs, x, c.param("weight"), c.param("bias"))
	if err != nil {
		return nil, err
	}
	b := c.in.b
	mom := ir.Attrs{{Key: "momentum", Val: a.float("momentum")}}
	for _, st := range []struct {
		name string
		op   ir.Op
	}{{"running_mean", ir.OpRunningMean}, {"running_var", ir.OpRunningVar}} {
		buf := c.param(st.name)
		u, err := c.op(st.op, mom, b.current(buf), x)
		if err != nil {
			return nil, err
		}
		b.update(buf.Name, u)
	}
	nbt := c.param("num_batches_tracked")
	u, err := c.op(ir.OpIncrement, nil, b.current(nbt))
	if err != nil {
		return nil, err
	}
	b.update(nbt.Name, u)
	return y, nil
}
