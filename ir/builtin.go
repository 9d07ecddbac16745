package ir

import (
	"strings"

	"github.com/nnc-go/nnc/diag"
	"github.com/nnc-go/nnc/dsl"
)

var unaryBuiltins = map[string]Op{"relu": OpRelu, "sigmoid": OpSigmoid, "tanh": OpTanh, "gelu": OpGelu}

// builtin evaluates a call of a built-in function.
func (in *instance) builtin(x *dsl.Call, sc *scope, text string) (operand, bool) {
	b := in.b
	name := x.Fun.Name
	pos := x.Fun.Pos
	if len(x.Args) == 0 || x.Args[0].Key != nil {
		b.errs.Errorf(pos, "%s: the first argument must be a tensor, given by position", text)
		return operand{}, false
	}
	first, ok := in.expr(x.Args[0].Value, sc)
	if !ok {
		return operand{}, false
	}
	rest := x.Args[1:]
	if name == "matmul" {
		if len(rest) != 1 || rest[0].Key != nil {
			b.errs.Errorf(pos, "%s: matmul takes two tensors", text)
			return operand{}, false
		}
		second, ok := in.expr(rest[0].Value, sc)
		if !ok {
			return operand{}, false
		}
		if first.v == nil || second.v == nil {
			b.errs.Errorf(pos, "%s: matmul multiplies two tensors; use * to scale by a number", text)
			return operand{}, false
		}
		return in.matmul(pos, first, second, sc, text)
	}
	if first.v == nil {
		b.errs.Errorf(pos, "%s: %s takes a tensor, got the constant %s", text, name, first.text)
		return operand{}, false
	}
	xv := first.v
	s := xv.Type.Shape
	if name == "reshape" {
		return in.reshape(x, xv, first.text, rest, sc, text)
	}
	var specs []argSpec
	switch name {
	case "softmax", "log_softmax":
		specs = []argSpec{{name: "dim", kind: 0, def: intConst(-1)}}
	case "sum", "mean":
		specs = []argSpec{{name: "dim", kind: 0}}
	}
	args, ok := in.env.bindArgs(name, pos, rest, specs)
	if !ok {
		return operand{}, false
	}
	dim := func() (int, bool) {
		c := args.vals["dim"]
		if c.kind != kInt {
			b.errs.Errorf(args.pos["dim"], "%s: dim must be an integer, got %s", text, c)
			return 0, false
		}
		d, ok := NormAxis(int(c.I), s.Rank())
		if !ok {
			b.errs.Errorf(args.pos["dim"], "%s: dim %d is out of range for %s %s", text, c.I, first.text, sc.shape(s))
		}
		return d, ok
	}
	switch name {
	case "relu", "sigmoid", "tanh", "gelu":
		return operand{v: in.g.NewValue(unaryBuiltins[name], nil, pos, xv), text: text}, true
	case "softmax", "log_softmax":
		d, ok := dim()
		if !ok {
			return operand{}, false
		}
		op := OpSoftmax
		if name == "log_softmax" {
			op = OpLogSoftmax
		}
		return operand{v: in.g.NewValue(op, Attrs{{"dim", d}}, pos, xv), text: text}, true
	case "sum", "mean":
		if !args.has("dim") {
			v := in.g.NewValue(OpSumAll, nil, pos, xv)
			if name == "mean" {
				if s.HasBatch() {
					b.errs.Errorf(pos, "%s: a mean over every element, the batch dimension included, is not allowed; give dim", text)
					return operand{}, false
				}
				c := floatConst(1 / float64(s.Elems()))
				v = in.g.NewValue(OpMul, nil, pos, v, in.tensor(operand{c: &c}, pos))
			}
			return operand{v: v, text: text}, true
		}
		d, ok := dim()
		if !ok {
			return operand{}, false
		}
		op := OpSum
		if name == "mean" {
			op = OpMean
			if s[d] == Batch {
				b.errs.Errorf(pos, "%s: a mean over the batch dimension is not allowed: its size changes with the last batch", text)
				return operand{}, false
			}
		}
		return operand{v: in.g.NewValue(op, Attrs{{"dim", d}}, pos, xv), text: text}, true
	case "flatten":
		if s.Rank() < 2 {
			b.errs.Errorf(pos, "%s: flatten keeps dimension 0 and needs 2 dimensions or more, %s is %s", text, first.text, sc.shape(s))
			return operand{}, false
		}
		if s.Rank() == 2 {
			return operand{v: xv, text: text}, true
		}
		out := Shape{s[0], Shape(s[1:]).Elems()}
		return operand{v: in.g.NewDeclared(OpReshape, Type{DType: xv.Type.DType, Shape: out}, nil, pos, xv), text: text}, true
	}
	panic("ir: builtin " + name)
}

// reshape evaluates reshape(x, d1, d2, ...): each dimension a size, the
// batch name or -1 for the one inferred.
func (in *instance) reshape(x *dsl.Call, xv *Value, xText string, dims []*dsl.Arg, sc *scope, text string) (operand, bool) {
	b := in.b
	pos := x.Fun.Pos
	s := xv.Type.Shape
	if len(dims) == 0 {
		b.errs.Errorf(pos, "%s: reshape needs the new dimensions", text)
		return operand{}, false
	}
	out := make(Shape, len(dims))
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
			out[infer] = Batch
			if total != known {
				return bad()
			}
		}
	}
	if s.HasBatch() != out.HasBatch() || s.Elems() != out.Elems() {
		return bad()
	}
	return operand{v: in.g.NewDeclared(OpReshape, Type{DType: xv.Type.DType, Shape: out}, nil, pos, xv), text: text}, true
}

// addLoss appends the loss of cfg to a training graph: outputs "loss" and,
// for classification, "correct".
func (b *builder) addLoss(g *Graph, cfg *TrainConfig, fwd *Graph) {
	out := g.Output("out")
	s := out.Type.Shape
	at := cfg.Pos
	ins := g.Sources(OpInput)
	if len(ins) != 1 || ins[0].Type.Shape.Rank() == 0 || ins[0].Type.Shape[0] != Batch {
		b.errs.Errorf(at, "train %s: training needs a model with one input whose first dimension is the batch", cfg.Model)
		return
	}
	if s.Rank() == 0 || s[0] != Batch {
		b.errs.Errorf(at, "train %s: the model returns %s; training needs the batch as its first dimension", cfg.Model, s)
		return
	}
	if cfg.Loss == "" {
		return
	}
	pos := diag.Pos{}
	var loss, correct *Value
	switch cfg.Loss {
	case "cross_entropy":
		if s.Rank() != 2 || s[1] < 2 {
			b.errs.Errorf(at, "train %s: cross_entropy needs class scores [N, C] with C ≥ 2; the model returns %s", cfg.Model, s)
			return
		}
		if src := cfg.Data; src != nil && src.Kind == "random" && src.Classes > s[1] {
			b.errs.Errorf(src.Pos, "random: %d classes, but the model scores %d", src.Classes, s[1])
			return
		}
		y := g.NewDeclared(OpTarget, Type{DType: I32, Shape: Shape{Batch}}, nil, pos)
		y.Name = "y"
		logp := g.NewValue(OpLogSoftmax, Attrs{{"dim", 1}}, out.Pos, out)
		loss = g.NewValue(OpNLLLoss, nil, out.Pos, logp, y)
		correct = g.NewValue(OpCorrect, nil, out.Pos, out, y)
	case "mse", "bce_with_logits":
		y := g.NewDeclared(OpTarget, out.Type, nil, pos)
		y.Name = "y"
		if cfg.Loss == "mse" {
			loss = g.NewValue(OpMSELoss, nil, out.Pos, out, y)
		} else {
			if src := cfg.Data; src != nil && src.Kind == "random" && src.Classes > 2 {
				b.errs.Errorf(src.Pos, "random: bce_with_logits has 2 classes, not %d", src.Classes)
				return
			}
			loss = g.NewValue(OpBCEWithLogitsLoss, nil, out.Pos, out, y)
			correct = g.NewValue(OpCorrectBinary, nil, out.Pos, out, y)
		}
	}
	loss.Name = "loss"
	g.Outputs = []Output{{"loss", loss}}
	if correct != nil {
		g.Outputs = append(g.Outputs, Output{"correct", correct})
	}
	for _, name := range b.updateOrder {
		g.Outputs = append(g.Outputs, Output{name, b.updates[name]})
	}
}
