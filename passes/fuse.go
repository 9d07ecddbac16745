package passes

import (
	"slices"

	"github.com/nnc-go/nnc/ir"
)

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
		if v.Op != ir.OpMatMul || !v.AttrBool("tb") || v.AttrBool("ta") || v.Args[1].Type.Shape.Rank() != 2 {
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
	// relu(Conv2d) → Conv2dRelu; as for LinearRelu, the backward pass
	// reads relu's output only.
	{"conv+relu", func(g *ir.Graph, v *ir.Value, uses map[int]int) *ir.Value {
		if v.Op != ir.OpRelu || v.Args[0].Op != ir.OpConv2d || uses[v.Args[0].ID] != 1 {
			return nil
		}
		c := v.Args[0]
		return g.NewValue(ir.OpConv2dRelu, c.Attrs, v.Pos, c.Args...)
	}},
	// Evaluation-mode batch norm after a Conv2d or Linear that nothing
	// else reads: folded into that layer's weight and bias.
	{"batchnorm into layer", foldBatchNorm},
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
	// Attention written out by hand (issue 14).
	//
	// A transpose of the last two axes read by a product is the product's
	// transpose flag (q @ transpose(k, -2, -1) reads k as it is).
	{"transpose into matmul", func(g *ir.Graph, v *ir.Value, _ map[int]int) *ir.Value {
		if v.Op != ir.OpMatMul {
			return nil
		}
		a, b := v.Args[0], v.Args[1]
		ta, tb := v.AttrBool("ta"), v.AttrBool("tb")
		// a's flag is allowed when a is 2-D or the product batched.
		aOK := a.Type.Shape.Rank() == 2 || b.Type.Shape.Rank() > 2
		switch {
		case lastTwo(b):
			b, tb = b.Args[0], !tb
		case lastTwo(a) && aOK:
			a, ta = a.Args[0], !ta
		default:
			return nil
		}
		return g.NewValue(ir.OpMatMul, matmulFlags(ta, tb), v.Pos, a, b)
	}},
	// A transpose of the last two axes of a product nothing else reads is
	// the product the other way round, (AB)ᵀ = BᵀAᵀ: the backward pass of
	// q @ transpose(k, -2, -1) transposes k's gradient so.
	{"matmul into transpose", func(g *ir.Graph, v *ir.Value, uses map[int]int) *ir.Value {
		if !lastTwo(v) || v.Args[0].Op != ir.OpMatMul || uses[v.Args[0].ID] != 1 {
			return nil
		}
		mm := v.Args[0]
		a, b := mm.Args[0], mm.Args[1]
		if ra, rb := a.Type.Shape.Rank(), b.Type.Shape.Rank(); ra != rb {
			return nil // rows of a against a 2-D b: b·aᵀ has no such form
		}
		return g.NewValue(ir.OpMatMul, matmulFlags(!mm.AttrBool("tb"), !mm.AttrBool("ta")), v.Pos, b, a)
	}},
}

// lastTwo reports whether v transposes the last two axes of its argument.
func lastTwo(v *ir.Value) bool {
	if v.Op != ir.OpTranspose {
		return false
	}
	r := v.Type.Shape.Rank()
	d0, _ := ir.NormAxis(v.AttrInt("d0"), r)
	d1, _ := ir.NormAxis(v.AttrInt("d1"), r)
	return r >= 2 && min(d0, d1) == r-2 && max(d0, d1) == r-1
}

// matmulFlags are MatMul's attributes for the flags, only those set.
func matmulFlags(ta, tb bool) ir.Attrs {
	var as ir.Attrs
	if ta {
		as = append(as, ir.Attr{Key: "ta", Val: true})
	}
	if tb {
		as = append(as, ir.Attr{Key: "tb", Val: true})
	}
	return as
}

// classAxis reports whether a log-softmax of [N, C] scores runs over the
// classes, dim 1 however it is written.
func classAxis(v *ir.Value) bool {
	d, ok := ir.NormAxis(v.AttrInt("dim"), v.Type.Shape.Rank())
	return ok && d == v.Type.Shape.Rank()-1 && v.Type.Shape.Rank() >= 2
}

// fuse rewrites by fuseRules to a fixpoint. A new value is placed where
// the value it replaces was, which keeps the graph in topological order
// because its arguments come before that one.
func fuse(g *ir.Graph) error {
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
				i = slices.Index(g.Values, v)         // a rule may insert values before v
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
	return nil
}

// foldBatchNorm rewrites BatchNorm(layer(x, w, b)) as layer(x, w', b') with
// w' = w·γ/sqrt(var+eps) per output channel and b' = (b-mean)·γ/sqrt(var+eps)
// + β: one pass over the data instead of two. The folded weight and bias
// depend on parameters only; the generated code computes them once per
// change of the weights.
func foldBatchNorm(g *ir.Graph, v *ir.Value, uses map[int]int) *ir.Value {
	if v.Op != ir.OpBatchNorm {
		return nil
	}
	l := v.Args[0]
	if (l.Op != ir.OpConv2d && l.Op != ir.OpLinear) || uses[l.ID] != 1 || (l.Op == ir.OpLinear && l.Type.Shape.Rank() != 2) {
		return nil
	}
	gamma, beta, mean, variance := v.Args[1], v.Args[2], v.Args[3], v.Args[4]
	eps := ir.Attrs{{Key: "eps", Val: v.AttrFloat("eps")}}
	w := g.NewValue(ir.OpBNFoldWeight, eps, v.Pos, l.Args[1], gamma, variance)
	var bias *ir.Value
	if len(l.Args) == 3 {
		bias = l.Args[2]
	} else {
		bias = g.NewDeclared(ir.OpConst, ir.Type{DType: gamma.Type.DType, Shape: ir.Shape{}}, ir.Attrs{{Key: "value", Val: 0.0}}, v.Pos)
	}
	b := g.NewValue(ir.OpBNFoldBias, eps, v.Pos, bias, gamma, beta, mean, variance)
	// The new values go before v, in the order they were made.
	n := len(g.Values)
	made := append([]*ir.Value(nil), g.Values[n-3:]...)
	if len(l.Args) == 3 {
		made = made[1:]
	}
	g.Values = g.Values[:n-len(made)]
	for i, x := range g.Values {
		if x == v {
			g.Values = append(g.Values[:i], append(made, g.Values[i:]...)...)
			break
		}
	}
	return g.NewValue(l.Op, l.Attrs, v.Pos, l.Args[0], w, b)
}
