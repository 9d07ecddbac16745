package build

import "github.com/nnc-go/nnc/ir"

// The built-ins of ONNX's ArgMax, ArgMin, ReduceProd, Trilu and
// NegativeLogLikelihoodLoss, named and argued as the others of the ONNX op
// set (builtin_onnx.go).
func onnxMoreBuiltins() []*builtinKind {
	argArgs := []argSpec{{name: "axis", def: intConst(0)}, {name: "keepdims", kind: argCount, def: intConst(1)},
		{name: "select_last_index", kind: argCount, def: intConst(0)}}
	arg := func(name string, op ir.Op) *builtinKind {
		return &builtinKind{name: name, args: argArgs, apply: func(c *builtinCall) (operand, bool) {
			axis, ok := c.intArg("axis")
			if !ok {
				return operand{}, false
			}
			return c.op(op, ir.Attrs{{Key: "axis", Val: axis}, {Key: "keepdims", Val: c.args.int("keepdims")},
				{Key: "select_last_index", Val: c.args.int("select_last_index")}}, c.x.v)
		}}
	}
	return []*builtinKind{
		arg("arg_max", ir.OpArgMax),
		arg("arg_min", ir.OpArgMin),
		reduceOnnx("reduce_prod", ir.OpReduceProd),
		{name: "trilu", args: []argSpec{{name: "upper", kind: argCount, def: intConst(1)}, {name: "k", def: intConst(0)}},
			apply: func(c *builtinCall) (operand, bool) {
				k, ok := c.intArg("k")
				if !ok {
					return operand{}, false
				}
				return c.op(ir.OpTrilu, ir.Attrs{{Key: "upper", Val: c.args.int("upper")}, {Key: "k", Val: k}}, c.x.v)
			}},
		onnxTensors("negative_log_likelihood_loss", 2, 3, []argSpec{{name: "reduction", kind: argString}, {name: "ignore_index"}},
			func(c *builtinCall, xs []*ir.Value) (operand, bool) {
				var attrs ir.Attrs
				if c.args.has("reduction") {
					attrs = append(attrs, ir.Attr{Key: "reduction", Val: c.args.str("reduction")})
				}
				if c.args.has("ignore_index") {
					ii, ok := c.intArg("ignore_index")
					if !ok {
						return operand{}, false
					}
					attrs = append(attrs, ir.Attr{Key: "ignore_index", Val: ii})
				}
				return c.op(ir.OpNegativeLogLikelihoodLoss, attrs, xs...)
			}),
	}
}

// intArg returns the argument name, which must be an integer.
func (c *builtinCall) intArg(name string) (int, bool) {
	if c.args.vals[name].kind != kInt {
		c.in.b.errs.Errorf(c.args.pos[name], "%s: %s must be an integer", c.text, name)
		return 0, false
	}
	return c.args.int(name), true
}
