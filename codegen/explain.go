package codegen

import (
	"bytes"
	"fmt"

	"github.com/nnc-go/nnc/ir"
)

// checkExplain refuses an explanation graph that Explain cannot run.
func checkExplain(p *ir.Program, opt Options) error {
	x := opt.Explain
	if x == nil {
		return nil
	}
	fwd := p.Forward
	switch {
	case x.Plan == nil:
		return fmt.Errorf("codegen: the explanation graph has no memory plan")
	case x.Attrs.String("explain") == "" || x.Output("grad."+x.Attrs.String("explain")) == nil:
		return fmt.Errorf("codegen: the explanation graph is not differentiated (passes.Explain, then the passes)")
	case len(fwd.Sources(ir.OpInput)) != 1:
		return fmt.Errorf("codegen: --explain needs a model with one input")
	case x.Plan.Batch > fwd.Plan.Batch:
		return fmt.Errorf("codegen: the explanation graph is planned for %d rows, more than the forward pass's %d", x.Plan.Batch, fwd.Plan.Batch)
	}
	return nil
}

// explainGraph returns the statements of the explanation graph and
// declares the buffer of its seed.
func (g *gen) explainGraph() (string, error) {
	fmt.Fprintf(&g.fields, "xseed []%s // Explain's one-hot rows selecting the output differentiated\n", g.elem)
	fmt.Fprintf(&g.inits, "m.xseed = make([]%s, ExplainBatch*OutputSize)\n", g.elem)
	return g.graph(g.opt.Explain, "x")
}

// explainFunc writes Explain: the gradient of each row's chosen output
// with respect to the row, from the explanation graph, whose seed input
// (a one-hot row per example) lives in m.xseed.
func (g *gen) explainFunc(b *bytes.Buffer, body string) {
	x := g.opt.Explain
	name := x.Attrs.String("explain")
	std, unstd := "", ""
	if g.opt.Mean != nil {
		std = "x = m.standardize(x)\n"
		unstd = "for i := range grad {\ngrad[i] = " + g.elem + "(float64(grad[i]) / featureStd[i%InputSize])\n}\n"
	}
	fmt.Fprintf(b, `// ExplainBatch is the largest batch of one pass of Explain's gradient graph.
const ExplainBatch = %[1]d

// Explain computes, for n rows of x (n×InputSize values, row-major), the
// gradient of output target[i] of row i with respect to row i,
// ∂out[i, target[i]]/∂x[i], into grad (n×InputSize), and the outputs into
// out (n×OutputSize). It is the backward graph nnc's grad pass derives with
// the input as the differentiation target, in evaluation mode (batch norm
// with its running statistics, no dropout), so rows do not interact. The
// attributions of nnc explain are made of it: saliency is |grad|;
// integrated gradients sum the gradients at scaled rows α·x with
// Gauss–Legendre weights and multiply by x; SmoothGrad averages |grad| of
// noisy copies. Batches larger than ExplainBatch are computed in pieces.
// Explain does not allocate.
func (m *Model) Explain(grad, out []%[2]s, x []%[2]s, target []int32, n int) error {
	if n < 0 || len(x) < n*InputSize || len(grad) < n*InputSize || len(out) < n*OutputSize || len(target) < n {
		return fmt.Errorf("Explain: %%d rows need %%d inputs, room for as many gradients and %%d outputs, and %%d targets; got %%d, %%d, %%d and %%d", n, n*InputSize, n*OutputSize, n, len(x), len(grad), len(out), len(target))
	}
	for i, t := range target[:n] {
		if t < 0 || t >= OutputSize {
			return fmt.Errorf("Explain: target %%d of row %%d is outside the %%d outputs", t, i+1, OutputSize)
		}
	}
	for i := 0; i < n; i += ExplainBatch {
		k := min(ExplainBatch, n-i)
		m.explain(grad[i*InputSize:(i+k)*InputSize], out[i*OutputSize:(i+k)*OutputSize], x[i*InputSize:(i+k)*InputSize], target[i:i+k], k)
	}
	return nil
}

func (m *Model) explain(grad, out, x []%[2]s, target []int32, n int) {
	%[3]sseed := m.xseed[:n*OutputSize]
	clear(seed)
	for i, t := range target {
		seed[i*OutputSize+int(t)] = 1
	}
%[4]scopy(grad, %[5]s)
%[6]scopy(out, %[7]s)
}

`, x.Plan.Batch, g.elem, std, body, g.slice(x, x.Output("grad."+name)), unstd, g.slice(x, x.Output("out")))
}
