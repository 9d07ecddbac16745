package build

import (
	"errors"
	"fmt"
	"strings"

	"github.com/nnc-go/nnc/diag"
	"github.com/nnc-go/nnc/dsl"
	"github.com/nnc-go/nnc/ir"
)

// operand is the value of an expression in forward: a tensor or a
// compile-time constant, with the expression's text for messages.
type operand struct {
	v    *ir.Value
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
	batchDim  int    // ir.Batch, or a size when a nested model's N is bound to one
}

func (s *scope) shape(sh ir.Shape) string {
	name := s.batchName
	if name == "" {
		name = "N"
	}
	return sh.Format(name, ", ")
}

// callForward inlines the forward of in with the given arguments, bound to
// its inputs, and returns the returned value.
func (in *instance) callForward(args []operand, sc *scope, warn bool) *ir.Value {
	b := in.b
	fwd := in.forwardDecl()
	if sc.batchDim == 0 {
		sc.batchDim = ir.Batch
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
	var result *ir.Value
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
		if l := in.layers[x.Name]; l != nil && l.params[""] != nil { // a Parameter
			l.calls++
			return operand{v: l.params[""], text: text}, true
		}
		if l := in.layers[x.Name]; l != nil {
			if l.bad {
				return operand{}, false
			}
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
	case *dsl.Selector:
		v := in.paramValue(x)
		return operand{v: v, text: text}, v != nil
	case *dsl.Unary:
		op, ok := in.expr(x.X, sc)
		if !ok {
			return op, false
		}
		if op.c != nil {
			c, ok := in.env.eval(x, false)
			return operand{c: &c, text: text}, ok
		}
		v, err := in.bld.Op(ir.OpNeg, nil, x.Pos, op.v)
		if err != nil {
			in.shapeError(x.Pos, text, err)
			return operand{}, false
		}
		return operand{v: v, text: text}, true
	case *dsl.Binary:
		l, ok1 := in.expr(x.X, sc)
		r, ok2 := in.expr(x.Y, sc)
		if !ok1 || !ok2 {
			return operand{}, false
		}
		return in.binary(x.Op, x.OpPos, l, r, sc, text)
	case *dsl.Call:
		return in.call(x, sc, text)
	case *dsl.List:
		b.errs.Errorf(x.Pos, "%s: a list of integers is an argument of a built-in (axes = [0, 1]), not a value", text)
		return operand{}, false
	}
	return operand{}, false
}

// shapeError reports a shape rule's refusal that no message of the
// language anticipates, in the rule's own words after the expression.
func (in *instance) shapeError(pos diag.Pos, text string, err error) {
	in.b.errs.Errorf(pos, "%s: %v", text, err)
}

// shapeKind returns the kind of a shape rule's refusal.
func shapeKind(err error) ir.ShapeKind {
	var se *ir.ShapeError
	if errors.As(err, &se) {
		return se.Kind
	}
	return ir.ShapeMismatch
}

// tensor turns a constant operand into a scalar Const value.
func (in *instance) tensor(op operand, pos diag.Pos) *ir.Value {
	if op.v != nil {
		return op.v
	}
	if op.c.kind != kInt && op.c.kind != kFloat {
		in.b.errs.Errorf(pos, "%s is %s, not a number", op.text, op.c.kindName())
		return nil
	}
	v, err := in.bld.Const(op.c.F, in.dtype, pos)
	if err != nil {
		in.shapeError(pos, op.text, err)
		return nil
	}
	return v
}

var binaryOps = map[string]ir.Op{"+": ir.OpAdd, "-": ir.OpSub, "*": ir.OpMul, "/": ir.OpDiv}

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
	v, err := in.bld.Op(binaryOps[opText], nil, pos, lv, rv)
	switch {
	case err == nil:
		return operand{v: v, text: text}, true
	case shapeKind(err) == ir.ShapeBroadcast:
		b.errs.Errorf(pos, "%s: cannot broadcast %s %s with %s %s", text, l.text, sc.shape(lv.Type.Shape), r.text, sc.shape(rv.Type.Shape))
	default:
		in.shapeError(pos, text, err)
	}
	return operand{}, false
}

// matmulWhy says, in the user's words, why two tensors do not multiply.
var matmulWhy = map[ir.ShapeKind]string{
	ir.ShapeRank:      "both operands need 2 dimensions or more",
	ir.ShapeBatchDims: "the batch dimensions differ",
	ir.ShapeInner:     "the inner dimensions differ",
}

func (in *instance) matmul(pos diag.Pos, l, r operand, sc *scope, text string) (operand, bool) {
	v, err := in.bld.Op(ir.OpMatMul, nil, pos, l.v, r.v)
	if err != nil {
		why, ok := matmulWhy[shapeKind(err)]
		if !ok {
			in.shapeError(pos, text, err)
			return operand{}, false
		}
		in.b.errs.Errorf(pos, "%s: %s: %s is %s, %s is %s", text, why, l.text, sc.shape(l.v.Type.Shape), r.text, sc.shape(r.v.Type.Shape))
		return operand{}, false
	}
	return operand{v: v, text: text}, true
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
		if l.params[""] != nil {
			b.errs.Errorf(x.Fun.Pos, "%s: %s is a tensor, not a function: use it by its name", text, name).Also(l.decl.Name.Pos, "%s declared here", name)
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
	if bk := builtinTable[name]; bk != nil {
		return in.builtin(bk, x, sc, text)
	}
	if layerTable[name] != nil || b.models[name] != nil {
		b.errs.Errorf(x.Fun.Pos, "%s creates a layer: declare it before forward, as layer = %s, and call the layer", text, text)
		return operand{}, false
	}
	cands := append(builtinNames(), keys(in.layers)...)
	b.errs.Errorf(x.Fun.Pos, "undefined function %s%s", name, suggest(name, cands))
	return operand{}, false
}

// callLayer applies a declared layer to its arguments, checking their
// shapes against what the layer expects.
func (in *instance) callLayer(l *layer, x *dsl.Call, args []operand, sc *scope, text string) *ir.Value {
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
	lk := l.lk
	fail := func(format string, a ...any) *ir.Value {
		b.errs.Errorf(pos, "%s: %s", text, fmt.Sprintf(format, a...)).Also(l.decl.Name.Pos, "%s declared here", l.decl.Name.Name)
		return nil
	}
	if lk.rank != 0 && s.Rank() != lk.rank {
		return fail("%s expects %s, %s is %s", l.desc, lk.expects(l.args), arg.text, sc.shape(s))
	}
	if lk.constInput != nil {
		if why := lk.constInput(l.args, xv); why != "" {
			return fail("%s", why)
		}
	}
	y, err := lk.apply(&layerCall{in: in, l: l, pos: pos}, xv)
	if err != nil {
		if shapeKind(err) == ir.ShapeWindow && lk.window != nil {
			return fail("%s: %s", l.desc, lk.window(l.args, s))
		}
		return fail("%s expects %s, %s is %s", l.desc, lk.expects(l.args), arg.text, sc.shape(s))
	}
	return y
}

// callModel inlines the forward of a model used as a layer.
func (in *instance) callModel(l *layer, x *dsl.Call, args []operand, sc *scope, text string) *ir.Value {
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
			case want.Shape[j] != ir.Batch:
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

// paramValue resolves `layer.param` (or `model.layer.param` through models
// used as layers) to the layer's Param value itself, for weight tying: the
// same value the layer computes with, so the gradients of both uses add up.
func (in *instance) paramValue(x *dsl.Selector) *ir.Value {
	b := in.b
	cur := in
	for i, id := range x.Path[:len(x.Path)-1] {
		l := cur.layers[id.Name]
		if l == nil {
			what := "model " + cur.decl.Name.Name
			if i > 0 {
				what = dsl.ExprString(&dsl.Selector{Path: x.Path[:i]})
			}
			b.errs.Errorf(id.Pos, "%s: %s has no layer %s (its layers: %s)%s", x.Name(), what, id.Name,
				layerNames(cur), suggest(id.Name, keys(cur.layers)))
			return nil
		}
		if l.bad {
			return nil
		}
		l.calls++
		if l.sub != nil {
			if i == len(x.Path)-2 {
				last := x.Path[len(x.Path)-1]
				b.errs.Errorf(last.Pos, "%s: %s is a model, not a layer: name one of its layers' parameters, as %s.%s",
					x.Name(), l.name, dsl.ExprString(&dsl.Selector{Path: x.Path[:i+1]}), firstParam(l.sub))
				return nil
			}
			cur = l.sub
			continue
		}
		if i < len(x.Path)-2 {
			next := x.Path[i+1]
			b.errs.Errorf(next.Pos, "%s: layer %s is a %s, not a model: it has no layer %s", x.Name(), l.name, l.desc, next.Name)
			return nil
		}
		last := x.Path[len(x.Path)-1]
		names := paramNames(l)
		v := l.params[last.Name]
		switch {
		case v != nil && v.Op == ir.OpParam:
			return v
		case len(names) == 0:
			b.errs.Errorf(last.Pos, "%s: layer %s (%s) has no parameters", x.Name(), l.name, l.desc)
		case v != nil:
			b.errs.Errorf(last.Pos, "%s: %s is a buffer of layer %s, not a parameter; its parameters are %s", x.Name(), last.Name, l.name, strings.Join(names, ", "))
		default:
			b.errs.Errorf(last.Pos, "%s: layer %s (%s) has no parameter %s; its parameters are %s", x.Name(), l.name, l.desc, last.Name, strings.Join(names, ", "))
		}
		return nil
	}
	return nil
}

// paramNames lists the parameters (not the buffers) of a layer, in
// state_dict order.
func paramNames(l *layer) []string {
	var names []string
	for _, ps := range l.lk.params(l.args) {
		if !ps.buffer {
			names = append(names, ps.name)
		}
	}
	return names
}

// layerNames lists the layers of a model, in declaration order.
func layerNames(in *instance) string {
	var names []string
	for _, l := range in.order {
		names = append(names, l.decl.Name.Name)
	}
	if len(names) == 0 {
		return "none"
	}
	return strings.Join(names, ", ")
}

// firstParam names a parameter of a model used as a layer, for messages.
func firstParam(in *instance) string {
	for _, l := range in.order {
		if l.sub != nil {
			return l.decl.Name.Name + "." + firstParam(l.sub)
		}
		if names := paramNames(l); len(names) > 0 {
			return l.decl.Name.Name + "." + names[0]
		}
	}
	return "layer.weight"
}
