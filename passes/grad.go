package passes

import (
	"fmt"

	"github.com/nnc-go/nnc/diag"
	"github.com/nnc-go/nnc/ir"
)

// grad derives the backward graph of a training step symbolically. It
// walks the values in reverse order from the "loss" output, seeded with
// dloss/dloss = 1, applies each op's VJP rule (the op table's VJP column),
// sums the gradients of values used more than once, and appends the
// backward values to the same graph. The gradient of each parameter
// becomes the output "grad.NAME". Only training steps (graphs with an
// "optimizer" attribute) are differentiated; a forward or evaluation graph
// is left alone.
//
// Only values that depend on a parameter get gradients. A parameter with no
// path to the loss gets none: build.Build warns about it, and the optimizer
// leaves it as it is, as torch.optim does for a parameter whose grad is
// None. An op on a path from a parameter to the loss without a VJP rule
// stops the pass with a diagnostic at that op's position.
func grad(g *ir.Graph) error {
	if g.Attrs.String("explain") != "" {
		return explainGrad(g)
	}
	loss := g.Output("loss")
	if loss == nil || g.Attrs.String("optimizer") == "" || g.Output("grad."+firstParam(g)) != nil {
		return nil // not a training step, or already differentiated
	}
	// needs[v] when v depends on a parameter.
	needs := map[*ir.Value]bool{}
	for _, v := range g.Values {
		if v.Op == ir.OpParam {
			needs[v] = true
			continue
		}
		if v.Op.Info().NoGrad {
			continue
		}
		for _, a := range v.Args {
			if needs[a] {
				needs[v] = true
				break
			}
		}
	}
	adj := map[*ir.Value]*ir.Value{}
	adj[loss] = g.NewDeclared(ir.OpConst, ir.Type{DType: loss.Type.DType, Shape: ir.Shape{}}, ir.Attrs{{Key: "value", Val: 1.0}}, loss.Pos)
	if err := backward(g, adj, needs, "train"); err != nil {
		return err
	}
	for _, p := range g.Sources(ir.OpParam) {
		if d := adj[p]; d != nil {
			g.SetOutput("grad."+p.Name, d)
		}
	}
	return nil
}

func firstParam(g *ir.Graph) string {
	for _, v := range g.Values {
		if v.Op == ir.OpParam {
			return v.Name
		}
	}
	return ""
}

// backward walks the values of g in reverse order from the gradients adj
// holds (the seeds), applies each op's VJP rule to the values needs marks,
// sums the gradients of values used more than once into adj, and appends
// the backward values to g. what is the verb of the error for an op
// without a VJP rule ("train", "explain").
func backward(g *ir.Graph, adj map[*ir.Value]*ir.Value, needs map[*ir.Value]bool, what string) error {
	forward := append([]*ir.Value(nil), g.Values...)
	for i := len(forward) - 1; i >= 0; i-- {
		v := forward[i]
		dy := adj[v]
		if dy == nil || !needs[v] || v.Op.Info().Source {
			continue
		}
		rule := v.Op.Info().VJP
		if rule == nil {
			// Not a compiler bug but a limit of this version: say so at the
			// user's line.
			return &diag.ErrorList{Diags: []*diag.Diagnostic{{Pos: v.Pos, Msg: fmt.Sprintf("cannot %s through %s: its gradient is not implemented yet", what, v.Op)}}}
		}
		grads := rule(g, v, dy)
		if grads == nil {
			// A rule that covers some uses of its op only (Slice's steps of
			// 1) returns nil for the others.
			return &diag.ErrorList{Diags: []*diag.Diagnostic{{Pos: v.Pos, Msg: fmt.Sprintf("cannot %s through %s here: its gradient is not implemented for this use yet", what, v.Op)}}}
		}
		for j, a := range v.Args {
			if j >= len(grads) || grads[j] == nil || !needs[a] {
				continue
			}
			if prev := adj[a]; prev != nil {
				adj[a] = g.NewValue(ir.OpAdd, nil, a.Pos, prev, grads[j])
			} else {
				adj[a] = grads[j]
			}
		}
	}
	return nil
}
