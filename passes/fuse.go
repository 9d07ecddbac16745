package passes

import "github.com/nnc-go/nnc/ir"

// fuseRule rewrites one value into a fused op, or returns nil. uses counts
// each value's uses, so that a rule fuses only what nothing else reads.
type fuseRule struct {
	name    string
	rewrite func(g *ir.Graph, v *ir.Value, uses map[int]int) *ir.Value
}

// fuseRules are applied to every value until none applies. Each keeps the
// position of the value it replaces.
var fuseRules = []fuseRule{
	// x·wᵀ with a 2-D weight is a Linear without bias.
	{"matmul→linear", func(g *ir.Graph, v *ir.Value, _ map[int]int) *ir.Value {
		if v.Op != ir.OpMatMul || !v.Attrs.Bool("tb") || v.Attrs.Bool("ta") || v.Args[1].Type.Shape.Rank() != 2 {
			return nil
		}
		return g.NewValue(ir.OpLinear, nil, v.Pos, v.Args[0], v.Args[1])
	}},
	// Linear + bias → Linear with bias.
	{"linear+bias", func(g *ir.Graph, v *ir.Value, uses map[int]int) *ir.Value {
		if v.Op != ir.OpAdd {
			return nil
		}
		for i := 0; i < 2; i++ {
			l, b := v.Args[i], v.Args[1-i]
			if l.Op == ir.OpLinear && len(l.Args) == 2 && uses[l.ID] == 1 && b.Type.Shape.Equal(ir.Shape{l.Args[1].Type.Shape[0]}) && l.Type.Equal(v.Type) {
				return g.NewValue(ir.OpLinear, nil, v.Pos, l.Args[0], l.Args[1], b)
			}
		}
		return nil
	}},
	// relu(Linear) → LinearRelu. The backward pass reads relu's output
	// only (ReluGrad masks with y > 0), so the pre-activation need not
	// survive.
	{"linear+relu", func(g *ir.Graph, v *ir.Value, uses map[int]int) *ir.Value {
		if v.Op != ir.OpRelu || v.Args[0].Op != ir.OpLinear || uses[v.Args[0].ID] != 1 {
			return nil
		}
		return g.NewValue(ir.OpLinearRelu, nil, v.Pos, v.Args[0].Args...)
	}},
	// The ReLU mask of the backward pass applied in the GEMM that computes
	// the masked gradient, while the product is in cache.
	{"relugrad into matmul", func(g *ir.Graph, v *ir.Value, uses map[int]int) *ir.Value {
		if v.Op != ir.OpReluGrad || v.Args[0].Op != ir.OpMatMul || uses[v.Args[0].ID] != 1 {
			return nil
		}
		mm := v.Args[0]
		return g.NewValue(ir.OpMatMulReluMask, mm.Attrs, v.Pos, mm.Args[0], mm.Args[1], v.Args[1])
	}},
	// NLL of log_softmax over classes → one stable softmax cross-entropy.
	{"logsoftmax+nll", func(g *ir.Graph, v *ir.Value, _ map[int]int) *ir.Value {
		if v.Op != ir.OpNLLLoss || v.Args[0].Op != ir.OpLogSoftmax || !classAxis(v.Args[0]) {
			return nil
		}
		return g.NewValue(ir.OpSoftmaxCrossEntropy, nil, v.Pos, v.Args[0].Args[0], v.Args[1])
	}},
	// Its gradient: (softmax − onehot)/N in one op.
	{"logsoftmax+nll grad", func(g *ir.Graph, v *ir.Value, _ map[int]int) *ir.Value {
		if v.Op != ir.OpLogSoftmaxGrad || v.Args[0].Op != ir.OpNLLLossGrad || v.Args[0].Args[1] != v.Args[1] || v.Args[1].Op != ir.OpLogSoftmax || !classAxis(v.Args[1]) {
			return nil
		}
		nll := v.Args[0]
		return g.NewValue(ir.OpSoftmaxCrossEntropyGrad, nil, v.Pos, nll.Args[0], v.Args[1].Args[0], nll.Args[2])
	}},
}

// classAxis reports whether a log-softmax of [N, C] scores runs over the
// classes, dim 1 however it is written.
func classAxis(v *ir.Value) bool {
	d, ok := ir.NormAxis(v.Attrs.Int("dim", -1), v.Type.Shape.Rank())
	return ok && d == 1 && v.Type.Shape.Rank() == 2
}

// fuse rewrites by fuseRules to a fixpoint. A new value is placed where
// the value it replaces was, which keeps the graph in topological order
// because its arguments come before that one.
func fuse(g *ir.Graph) {
	for changed := true; changed; {
		changed = false
		uses := g.Uses()
		for i := 0; i < len(g.Values); i++ {
			v := g.Values[i]
			for _, r := range fuseRules {
				nv := r.rewrite(g, v, uses)
				if nv == nil {
					continue
				}
				g.Values = g.Values[:len(g.Values)-1] // NewValue appended it
				g.Values[i] = nv
				nv.Name = v.Name
				g.ReplaceUses(v, nv)
				changed = true
				uses = g.Uses()
				break
			}
		}
	}
	deadcode(g)
}
