package ir

import (
	"fmt"

	"github.com/nnc-go/nnc/diag"
	"github.com/nnc-go/nnc/dsl"
)

// operand is the value of an expression in forward: a tensor or a
// compile-time constant, with the expression's text for messages.
type operand struct {
	v    *Value
	c    *Const
	text string
}

// binding is a name bound in forward.
type binding struct {
	op   operand
	pos  diag.Pos
	used bool
	bad  bool // its expression had an error: uses stay silent
}

// scope holds the names of one inlined forward.
type scope struct {
	vars      map[string]*binding
	batchName string // the user's name for the batch dimension
	batchDim  int    // Batch, or a size when a nested model's N is bound to one
}

func (s *scope) shape(sh Shape) string {
	name := s.batchName
	if name == "" {
		name = "N"
	}
	return sh.Format(name, ", ")
}

var builtinNames = []string{"relu", "sigmoid", "tanh", "gelu", "softmax", "log_softmax", "flatten", "reshape", "sum", "mean", "matmul"}

func isBuiltin(name string) bool { return contains(builtinNames, name) }

// callForward inlines the forward of in with the given arguments, bound to
// its inputs, and returns the returned value.
func (in *instance) callForward(args []operand, sc *scope, warn bool) *Value {
	b := in.b
	fwd := in.forwardDecl()
	if sc.batchDim == 0 {
		sc.batchDim = Batch
	}
	for i, x := range fwd.Inputs {
		name := x.Name.Name
		if prev := sc.vars[name]; prev != nil {
			b.errs.Errorf(x.Name.Pos, "input %s declared twice", name).Also(prev.pos, "first declared here")
			return nil
		}
		if in.layers[name] != nil {
			b.errs.Errorf(x.Name.Pos, "input %s has the name of a layer", name)
			return nil
		}
		sc.vars[name] = &binding{op: args[i], pos: x.Name.Pos, used: true}
	}
	var result *Value
	for _, st := range fwd.Body {
		if result != nil {
			b.errs.Errorf(st.Start(), "statement after return")
			return nil
		}
		switch st := st.(type) {
		case *dsl.Return:
			op, ok := in.expr(st.Value, sc)
			if !ok {
				return nil
			}
			if op.v == nil {
				b.errs.Errorf(st.Value.Start(), "forward returns the constant %s; it must return a tensor", op.text)
				return nil
			}
			result = op.v
		case *dsl.Assign:
			name := st.Name.Name
			if in.layers[name] != nil {
				b.errs.Errorf(st.Name.Pos, "cannot assign to %s: it is a layer", name).Also(in.layers[name].decl.Name.Pos, "declared here")
				continue
			}
			if _, isConst := in.env.names[name]; isConst {
				b.errs.Errorf(st.Name.Pos, "cannot assign to %s: it is a hyper-parameter", name)
				continue
			}
			op, ok := in.expr(st.Value, sc)
			if !ok {
				sc.vars[name] = &binding{pos: st.Name.Pos, used: true, bad: true}
				continue
			}
			if prev := sc.vars[name]; prev != nil && !prev.used && warn {
				b.errs.Warnf(prev.pos, "%s is assigned and never used", name)
			}
			if op.v != nil && op.v.Name == "" {
				op.v.Name = in.prefix + name
			}
			op.text = name
			sc.vars[name] = &binding{op: op, pos: st.Name.Pos}
		}
	}
	if result == nil {
		if !b.errs.HasErrors() {
			b.errs.Errorf(fwd.Close, "forward of %s has no return statement", in.decl.Name.Name)
		}
		return nil
	}
	if warn {
		for _, name := range keys(sc.vars) {
			if bd := sc.vars[name]; !bd.used {
				b.errs.Warnf(bd.pos, "%s is assigned and never used", name)
			}
		}
	}
	return result
}

// expr evaluates an expression of forward.
func (in *instance) expr(x dsl.Expr, sc *scope) (operand, bool) {
	b := in.b
	text := dsl.ExprString(x)
	switch x := x.(type) {
	case *dsl.Number:
		c, _ := in.env.eval(x, false)
		return operand{c: &c, text: text}, true
	case *dsl.String:
		b.errs.Errorf(x.Pos, "a string cannot appear in forward")
		return operand{}, false
	case *dsl.Ident:
		if bd := sc.vars[x.Name]; bd != nil {
			if bd.bad {
				return operand{}, false
			}
			bd.used = true
			op := bd.op
			op.text = x.Name
			return op, true
		}
		if c, ok := in.env.names[x.Name]; ok {
			return operand{c: &c, text: text}, true
		}
		if l := in.layers[x.Name]; l != nil {
			b.errs.Errorf(x.Pos, "%s is a layer: call it, as %s(x)", x.Name, x.Name)
			return operand{}, false
		}
		if x.Name == sc.batchName {
			b.errs.Errorf(x.Pos, "%s is the batch dimension: it can only be used in reshape", x.Name)
			return operand{}, false
		}
		cands := append(append(keys(sc.vars), keys(in.env.names)...), keys(in.layers)...)
		b.errs.Errorf(x.Pos, "undefined: %s%s", x.Name, suggest(x.Name, cands))
		return operand{}, false
	case *dsl.Unary:
		op, ok := in.expr(x.X, sc)
		if !ok {
			return op, false
		}
		if op.c != nil {
			c, ok := in.env.eval(x, false)
			return operand{c: &c, text: text}, ok
		}
		return operand{v: in.g.NewValue(OpNeg, nil, x.Pos, op.v), text: text}, true
	case *dsl.Binary:
		l, ok1 := in.expr(x.X, sc)
		r, ok2 := in.expr(x.Y, sc)
		if !ok1 || !ok2 {
			return operand{}, false
		}
		return in.binary(x.Op, x.OpPos, l, r, sc, text)
	case *dsl.Call:
		return in.call(x, sc, text)
	}
	return operand{}, false
}

// tensor turns a constant operand into a scalar Const value.
func (in *instance) tensor(op operand, pos diag.Pos) *Value {
	if op.v != nil {
		return op.v
	}
	if op.c.kind != kInt && op.c.kind != kFloat {
		in.b.errs.Errorf(pos, "%s is %s, not a number", op.text, op.c.kindName())
		return nil
	}
	return in.g.NewDeclared(OpConst, Type{DType: in.dtype, Shape: Shape{}}, Attrs{{"value", op.c.F}}, pos)
}

func (in *instance) binary(opText string, pos diag.Pos, l, r operand, sc *scope, text string) (operand, bool) {
	b := in.b
	if l.c != nil && r.c != nil {
		c, err := constArith(opText, *l.c, *r.c)
		if err != nil {
			b.errs.Errorf(pos, "%s: %v", text, err)
			return operand{}, false
		}
		return operand{c: &c, text: text}, true
	}
	if opText == "@" {
		if l.v == nil || r.v == nil {
			b.errs.Errorf(pos, "%s: @ multiplies two tensors; use * to scale by a number", text)
			return operand{}, false
		}
		return in.matmul(pos, l, r, sc, text)
	}
	lv, rv := in.tensor(l, pos), in.tensor(r, pos)
	if lv == nil || rv == nil {
		return operand{}, false
	}
	if _, ok := Broadcast(lv.Type.Shape, rv.Type.Shape); !ok {
		b.errs.Errorf(pos, "%s: cannot broadcast %s %s with %s %s", text, l.text, sc.shape(lv.Type.Shape), r.text, sc.shape(rv.Type.Shape))
		return operand{}, false
	}
	op := map[string]Op{"+": OpAdd, "-": OpSub, "*": OpMul, "/": OpDiv}[opText]
	return operand{v: in.g.NewValue(op, nil, pos, lv, rv), text: text}, true
}

func (in *instance) matmul(pos diag.Pos, l, r operand, sc *scope, text string) (operand, bool) {
	a, bb := l.v.Type.Shape, r.v.Type.Shape
	if _, err := matmulShape([]Type{l.v.Type, r.v.Type}, nil, Type{}); err != nil {
		why := "the inner dimensions differ"
		switch {
		case a.Rank() < 2 || bb.Rank() < 2:
			why = "both operands need 2 dimensions or more"
		case bb.Rank() > 2 && (a.Rank() != bb.Rank() || !a[:a.Rank()-2].Equal(bb[:bb.Rank()-2])):
			why = "the batch dimensions differ"
		}
		in.b.errs.Errorf(pos, "%s: %s: %s is %s, %s is %s", text, why, l.text, sc.shape(a), r.text, sc.shape(bb))
		return operand{}, false
	}
	return operand{v: in.g.NewValue(OpMatMul, nil, pos, l.v, r.v), text: text}, true
}

// call evaluates a call in forward: a layer, a model used as a layer or a
// built-in function.
func (in *instance) call(x *dsl.Call, sc *scope, text string) (operand, bool) {
	b := in.b
	name := x.Fun.Name
	if l := in.layers[name]; l != nil {
		if l.bad {
			return operand{}, false
		}
		var args []operand
		for _, a := range x.Args {
			if a.Key != nil {
				b.errs.Errorf(a.Key.Pos, "%s(...): a layer takes its inputs by position", name)
				return operand{}, false
			}
			op, ok := in.expr(a.Value, sc)
			if !ok {
				return operand{}, false
			}
			args = append(args, op)
		}
		l.calls++
		v := in.callLayer(l, x, args, sc, text)
		return operand{v: v, text: text}, v != nil
	}
	if isBuiltin(name) {
		return in.builtin(x, sc, text)
	}
	if layerTable[name] != nil || b.models[name] != nil {
		b.errs.Errorf(x.Fun.Pos, "%s creates a layer: declare it before forward, as layer = %s, and call the layer", text, text)
		return operand{}, false
	}
	cands := append(append([]string(nil), builtinNames...), keys(in.layers)...)
	b.errs.Errorf(x.Fun.Pos, "undefined function %s%s", name, suggest(name, cands))
	return operand{}, false
}

// callLayer applies a declared layer to its arguments, checking their
// shapes against what the layer expects.
func (in *instance) callLayer(l *layer, x *dsl.Call, args []operand, sc *scope, text string) *Value {
	b := in.b
	pos := x.Fun.Pos
	if l.sub != nil {
		return in.callModel(l, x, args, sc, text)
	}
	if len(args) != 1 {
		b.errs.Errorf(pos, "%s: %s takes one input, got %d", text, l.desc, len(args))
		return nil
	}
	arg := args[0]
	if arg.v == nil {
		b.errs.Errorf(pos, "%s: %s takes a tensor, got the constant %s", text, l.desc, arg.text)
		return nil
	}
	xv, s := arg.v, arg.v.Type.Shape
	fail := func(format string, a ...any) *Value {
		b.errs.Errorf(pos, "%s: %s", text, fmt.Sprintf(format, a...)).Also(l.decl.Name.Pos, "%s declared here", l.decl.Name.Name)
		return nil
	}
	switch l.kind {
	case "Linear":
		inF := l.args.int("in")
		if s.Rank() < 1 || s[s.Rank()-1] != inF {
			return fail("%s expects %d input features, %s is %s", l.desc, inF, arg.text, sc.shape(s))
		}
		if s.Rank() == 1 {
			// A single sample, as torch.nn.Linear takes one: a row of one.
			row := in.g.NewDeclared(OpReshape, Type{DType: xv.Type.DType, Shape: Shape{1, inF}}, nil, pos, xv)
			y := in.linear(l, row, pos)
			return in.g.NewDeclared(OpReshape, Type{DType: xv.Type.DType, Shape: Shape{l.args.int("out")}}, nil, pos, y)
		}
		return in.linear(l, xv, pos)
	case "Conv2d":
		c, k := l.args.int("in"), l.args.int("kernel")
		st, pad := l.args.int("stride"), l.args.int("padding")
		if s.Rank() != 4 || s[1] != c {
			return fail("%s expects [N, %d, H, W] input, %s is %s", l.desc, c, arg.text, sc.shape(s))
		}
		if ConvOut(s[2], k, st, pad) <= 0 || ConvOut(s[3], k, st, pad) <= 0 {
			return fail("%s: kernel %d does not fit the %dx%d input with padding %d", l.desc, k, s[2], s[3], pad)
		}
		attrs := Attrs{{"stride", st}, {"padding", pad}}
		if bias := l.params["bias"]; bias != nil {
			return in.g.NewValue(OpConv2d, attrs, pos, xv, l.params["weight"], bias)
		}
		return in.g.NewValue(OpConv2d, attrs, pos, xv, l.params["weight"])
	case "MaxPool2d":
		k, st := l.args.int("kernel"), l.args.int("stride")
		if s.Rank() != 4 {
			return fail("%s expects [N, C, H, W] input, %s is %s", l.desc, arg.text, sc.shape(s))
		}
		if ConvOut(s[2], k, st, 0) <= 0 || ConvOut(s[3], k, st, 0) <= 0 {
			return fail("%s: window %d does not fit the %dx%d input", l.desc, k, s[2], s[3])
		}
		return in.g.NewValue(OpMaxPool2d, Attrs{{"kernel", k}, {"stride", st}}, pos, xv)
	case "Dropout":
		p := l.args.float("p")
		if !in.training || p == 0 {
			return xv
		}
		mask := in.g.NewDeclared(OpDropoutMask, xv.Type, Attrs{{"p", p}}, pos)
		return in.g.NewValue(OpMul, nil, pos, xv, mask)
	case "BatchNorm1d", "BatchNorm2d":
		rank, layout := 2, "[N, %d]"
		if l.kind == "BatchNorm2d" {
			rank, layout = 4, "[N, %d, H, W]"
		}
		c := l.lk.args[0].name
		if s.Rank() != rank || s[1] != l.args.int(c) {
			return fail("%s expects "+layout+" input, %s is %s", l.desc, l.args.int(c), arg.text, sc.shape(s))
		}
		attrs := Attrs{{"eps", l.args.float("eps")}, {"momentum", l.args.float("momentum")}}
		if in.training {
			y := in.g.NewValue(OpBatchNormTrain, attrs, pos, xv, l.params["weight"], l.params["bias"])
			mom := Attrs{{"momentum", l.args.float("momentum")}}
			for _, st := range []struct {
				name string
				op   Op
			}{{"running_mean", OpRunningMean}, {"running_var", OpRunningVar}} {
				buf := l.params[st.name]
				in.b.update(buf.Name, in.g.NewValue(st.op, mom, pos, in.b.current(buf), xv))
			}
			nbt := l.params["num_batches_tracked"]
			in.b.update(nbt.Name, in.g.NewValue(OpIncrement, nil, pos, in.b.current(nbt)))
			return y
		}
		return in.g.NewValue(OpBatchNorm, attrs, pos, xv, l.params["weight"], l.params["bias"], l.params["running_mean"], l.params["running_var"])
	}
	panic("ir: layer kind " + l.kind)
}

// linear emits x·Wᵀ + b for a Linear layer.
func (in *instance) linear(l *layer, xv *Value, pos diag.Pos) *Value {
	mm := in.g.NewValue(OpMatMul, Attrs{{"tb", true}}, pos, xv, l.params["weight"])
	if bias := l.params["bias"]; bias != nil {
		return in.g.NewValue(OpAdd, nil, pos, mm, bias)
	}
	return mm
}

// callModel inlines the forward of a model used as a layer.
func (in *instance) callModel(l *layer, x *dsl.Call, args []operand, sc *scope, text string) *Value {
	b := in.b
	sub := l.sub
	fwd := sub.forwardDecl()
	if fwd == nil {
		return nil
	}
	if len(args) != len(fwd.Inputs) {
		b.errs.Errorf(x.Fun.Pos, "%s: %s takes %d inputs, got %d", text, sub.decl.Name.Name, len(fwd.Inputs), len(args)).Also(fwd.Pos, "forward of %s", sub.decl.Name.Name)
		return nil
	}
	inner := &scope{vars: map[string]*binding{}, batchDim: 0}
	for i, decl := range fwd.Inputs {
		want, batch, ok := sub.inputType(decl)
		if !ok {
			return nil
		}
		a := args[i]
		if a.v == nil {
			b.errs.Errorf(x.Fun.Pos, "%s: %s takes a tensor, got the constant %s", text, l.decl.Name.Name, a.text)
			return nil
		}
		got := a.v.Type
		match := got.DType == want.DType && got.Shape.Rank() == want.Shape.Rank()
		for j := 0; match && j < len(want.Shape); j++ {
			switch {
			case want.Shape[j] != Batch:
				match = got.Shape[j] == want.Shape[j]
			case inner.batchDim == 0:
				inner.batchDim, inner.batchName = got.Shape[j], batch
			default:
				match = got.Shape[j] == inner.batchDim
			}
		}
		if !match {
			wantText := want.DType.String() + want.Shape.Format(batch, ", ")
			b.errs.Errorf(x.Fun.Pos, "%s: %s expects %s as %s, %s is %s%s", text, l.desc, decl.Name.Name, wantText, a.text, got.DType, sc.shape(got.Shape)).Also(decl.Name.Pos, "input %s of %s", decl.Name.Name, sub.decl.Name.Name)
			return nil
		}
	}
	sub.dtype = in.dtype
	return sub.callForward(args, inner, false)
}
