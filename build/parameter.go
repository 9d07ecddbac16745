package build

import (
	"fmt"
	"strings"

	"github.com/nnc-go/nnc/dsl"
	"github.com/nnc-go/nnc/ir"
)

// Parameter(d1, d2, ..., init = "zeros"|"ones"|"normal"|"uniform", std =
// 0.02) declares a bare trained tensor (issue 13), as an nn.Parameter
// attribute of a PyTorch module: its state_dict key is the layer's name
// itself, and forward uses the name as a value. "normal" draws from
// N(0, std²); "uniform" from ±1/√fan_in as nn.Linear's and nn.Conv's
// weights (fan_in: the product of the dimensions after the first, or the
// only one).

var parameterArgs = []argSpec{
	{name: "init", kind: argString, def: Const{kind: kString, S: "zeros"}, check: func(c Const) string {
		switch c.S {
		case "zeros", "ones", "normal", "uniform":
			return ""
		}
		return fmt.Sprintf("must be \"zeros\", \"ones\", \"normal\" or \"uniform\", got %s", c)
	}},
	{name: "std", kind: argFloat, def: floatConst(0.02), check: positive},
}

// parameterLayer reads a Parameter declaration into its layer kind and
// arguments.
func (in *instance) parameterLayer(call *dsl.Call) (*layerKind, boundArgs, string, bool) {
	b := in.b
	var shape ir.Shape
	var kw []*dsl.Arg
	for _, a := range call.Args {
		if a.Key != nil {
			kw = append(kw, a)
			continue
		}
		if len(kw) > 0 {
			b.errs.Errorf(a.Value.Start(), "Parameter: positional argument after a keyword argument")
			return nil, boundArgs{}, "", false
		}
		c, ok := in.env.eval(a.Value, false)
		if !ok {
			return nil, boundArgs{}, "", false
		}
		if c.kind != kInt || c.I < 1 || c.I > 1<<31 {
			b.errs.Errorf(a.Value.Start(), "Parameter: dimension %s must be a positive integer", dsl.ExprString(a.Value))
			return nil, boundArgs{}, "", false
		}
		shape = append(shape, int(c.I))
	}
	args, ok := in.env.bindArgs("Parameter", call.Fun.Pos, kw, parameterArgs)
	if !ok {
		return nil, boundArgs{}, "", false
	}
	dims := make([]string, len(shape))
	for i, d := range shape {
		dims[i] = fmt.Sprint(d)
	}
	desc := "Parameter(" + strings.Join(dims, ", ") + ")"
	fanIn := 1
	switch {
	case len(shape) == 1:
		fanIn = shape[0]
	case len(shape) > 1:
		fanIn = ir.Shape(shape[1:]).Elems()
	}
	lk := &layerKind{
		params: func(a boundArgs) []paramSpec {
			ps := paramSpec{shape: shape, init: a.str("init")}
			switch ps.init {
			case "uniform":
				ps.fanIn = fanIn
			case "normal":
				ps.std = a.float("std")
			}
			return []paramSpec{ps}
		},
		describe: func(boundArgs) string { return desc },
		expects:  func(boundArgs) string { return "nothing: it is a tensor, used by its name" },
		apply: func(c *layerCall, _ *ir.Value) (*ir.Value, error) {
			return nil, fmt.Errorf("%s is a tensor, not a function", c.l.name)
		},
	}
	return lk, args, desc, true
}
