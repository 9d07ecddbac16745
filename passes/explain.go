package passes

import (
	"fmt"

	"github.com/nnc-go/nnc/ir"
)

// SeedInput is the name of the input of an explanation graph that seeds
// the gradient of the output: a one-hot row per example selects the logit
// whose gradient each row gets.
const SeedInput = "grad.out"

// Explain returns a copy of fwd, a forward graph as built (before the
// passes, which fuse ops that have no VJP rule), that the grad pass
// differentiates with respect to its input instead of the parameters: the
// input becomes the differentiation target. The copy has a second input,
// SeedInput, shaped like the output, and a second output, "grad." followed
// by the input's name, shaped like the input:
//
//	grad.x[i] = ∂(Σ_j seed[i, j]·out[i, j]) / ∂x[i]
//
// With a one-hot seed row, row i's gradient is that of the logit it selects.
// Rows are independent (the forward graph is in evaluation mode: batch
// norm uses its running statistics and dropout is off), so one run gives
// the gradient of every row's own target. fwd must take one float input
// with the batch first and return an output with the batch first.
func Explain(fwd *ir.Graph) (*ir.Graph, error) {
	ins := fwd.Sources(ir.OpInput)
	out := fwd.Output("out")
	switch {
	case len(ins) != 1:
		return nil, fmt.Errorf("explaining needs a model with one input; %s takes %d", fwd.Name, len(ins))
	case !ins[0].Type.DType.IsFloat() || ins[0].Type.Shape.Rank() == 0 || ins[0].Type.Shape[0] != ir.Batch:
		return nil, fmt.Errorf("explaining needs a float input with the batch as its first dimension; %s is %s", ins[0].Name, ins[0].Type)
	case out == nil || !out.Type.DType.IsFloat() || out.Type.Shape.Rank() == 0 || out.Type.Shape[0] != ir.Batch:
		return nil, fmt.Errorf("explaining needs a model whose output is float with the batch as its first dimension")
	case fwd.Plan != nil:
		return nil, fmt.Errorf("explaining needs the forward graph as built, before the passes")
	}
	g := fwd.Clone()
	g.Name = fwd.Name + ".explain"
	seed := g.NewDeclared(ir.OpInput, out.Type, nil, out.Pos)
	seed.Name = SeedInput
	g.Attrs = g.Attrs.Set("explain", ins[0].Name)
	return g, nil
}

// explainGrad is the grad pass over a graph Explain made: the gradient of
// Σ seed·out with respect to the input, as the output "grad.NAME".
func explainGrad(g *ir.Graph) error {
	name := g.Attrs.String("explain")
	if g.Output("grad."+name) != nil {
		return nil // already differentiated
	}
	var x, seed *ir.Value
	for _, v := range g.Sources(ir.OpInput) {
		switch v.Name {
		case name:
			x = v
		case SeedInput:
			seed = v
		}
	}
	out := g.Output("out")
	if x == nil || seed == nil || out == nil {
		panic("passes: explain graph without its input, seed or output")
	}
	// needs[v] when v depends on the input.
	needs := map[*ir.Value]bool{x: true}
	for _, v := range g.Values {
		if v.Op.Info().NoGrad || v.Op.Info().Source {
			continue
		}
		for _, a := range v.Args {
			if needs[a] {
				needs[v] = true
				break
			}
		}
	}
	if !needs[out] {
		return fmt.Errorf("the output of %s does not depend on its input %s", g.Name, name)
	}
	adj := map[*ir.Value]*ir.Value{out: seed}
	if err := backward(g, adj, needs, "explain"); err != nil {
		return err
	}
	g.SetOutput("grad."+name, adj[x])
	return nil
}
