package passes

import "github.com/nnc-go/nnc/ir"

// fold evaluates ops over constants and removes algebraic identities:
// x*1, 1*x, x/1, x+0, 0+x, x-0 and -(-x) become x, when doing so keeps the
// value's type (a broadcast may not be dropped). Rewrites run to a fixpoint.
func fold(g *ir.Graph) error {
	for changed := true; changed; {
		changed = false
		for _, v := range g.Values {
			if r := foldValue(g, v); r != nil && r != v {
				g.ReplaceUses(v, r)
				if r.Name == "" {
					r.Name = v.Name
				}
				changed = true
			}
		}
		if changed {
			deadcode(g)
		}
	}
	return nil
}

func constValue(v *ir.Value) (float64, bool) {
	if v.Op != ir.OpConst {
		return 0, false
	}
	return v.AttrFloat("value"), true
}

// foldValue returns what v can be replaced with, or nil.
func foldValue(g *ir.Graph, v *ir.Value) *ir.Value {
	switch v.Op {
	case ir.OpNeg:
		a := v.Args[0]
		if c, ok := constValue(a); ok {
			nv := g.NewDeclared(ir.OpConst, v.Type, ir.Attrs{{Key: "value", Val: -c}}, v.Pos)
			moveBefore(g, nv, v)
			return nv
		}
		if a.Op == ir.OpNeg {
			return a.Args[0]
		}
	case ir.OpAdd, ir.OpSub, ir.OpMul, ir.OpDiv:
		x, y := v.Args[0], v.Args[1]
		cx, okx := constValue(x)
		cy, oky := constValue(y)
		if okx && oky && !(v.Op == ir.OpDiv && v.Type.DType == ir.I64) {
			var r float64
			switch v.Op {
			case ir.OpAdd:
				r = cx + cy
			case ir.OpSub:
				r = cx - cy
			case ir.OpMul:
				r = cx * cy
			case ir.OpDiv:
				r = cx / cy
			}
			nv := g.NewDeclared(ir.OpConst, v.Type, ir.Attrs{{Key: "value", Val: r}}, v.Pos)
			moveBefore(g, nv, v)
			return nv
		}
		keep := func(r *ir.Value) *ir.Value {
			if r.Type.Equal(v.Type) {
				return r
			}
			return nil
		}
		switch {
		case oky && cy == 0 && (v.Op == ir.OpAdd || v.Op == ir.OpSub):
			return keep(x)
		case okx && cx == 0 && v.Op == ir.OpAdd:
			return keep(y)
		case oky && cy == 1 && (v.Op == ir.OpMul || v.Op == ir.OpDiv):
			return keep(x)
		case okx && cx == 1 && v.Op == ir.OpMul:
			return keep(y)
		}
	}
	return nil
}

// moveBefore moves nv, just appended, to sit before v, so the graph stays
// in topological order.
func moveBefore(g *ir.Graph, nv, v *ir.Value) {
	vs := g.Values[:len(g.Values)-1]
	for i, x := range vs {
		if x == v {
			out := make([]*ir.Value, 0, len(g.Values))
			out = append(out, vs[:i]...)
			out = append(out, nv)
			out = append(out, vs[i:]...)
			g.Values = out
			return
		}
	}
}
