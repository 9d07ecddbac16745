package passes

import "github.com/nnc-go/nnc/ir"

// deadcode removes the values no output depends on. Sources stay: a
// parameter is part of the model's state_dict whether or not it is used,
// and an input is part of the graph's signature.
func deadcode(g *ir.Graph) error {
	live := g.Live()
	g.Retain(func(v *ir.Value) bool {
		return live[v.ID] || (v.Op.Info().Source && v.Op != ir.OpConst && v.Op != ir.OpDropoutMask)
	})
	return nil
}
