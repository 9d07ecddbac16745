package codegen

import (
	"bytes"
	"fmt"

	"github.com/nnc-go/nnc/passes"
)

// stepFunc writes Step: one position of the step graph (ir.Program.Step),
// its KV caches kept in the model between calls.
func (g *gen) stepFunc(b *bytes.Buffer, body string) {
	sg := g.p.Step
	tok, pos := g.byName[passes.StepToken], g.byName[passes.StepPos]
	fmt.Fprintf(b, `// Step feeds token, the id at position pos of a sequence, to the model
// with a KV cache and sets out (StepOutputSize values) to the scores the
// model gives at that position: those Forward gives at position pos of a
// row whose positions 0 to pos hold the tokens fed at them. The keys and
// values of the positions fed stay in the model, so a sequence costs one
// position per call instead of a whole row: feed its positions in order
// from 0 (a call at 0 starts a new sequence), at most Context of them.
// Step does not allocate.
func (m *Model) Step(out []%[1]s, token int64, pos int) (err error) {
	defer func() {
		if r := recover(); r != nil {
			e, ok := r.(*kernels.IDError)
			if !ok {
				panic(r)
			}
			err = fmt.Errorf("Step: token %%d is outside the embedding's %%d ids", e.ID, e.Num)
		}
	}()
	if pos < 0 || pos >= Context || len(out) < StepOutputSize {
		return fmt.Errorf("Step: position %%d (of 0 to %%d) and room for %%d scores, got %%d", pos, Context-1, StepOutputSize, len(out))
	}
	n := 1
	_ = n
`, g.elem)
	// A model whose output at a position does not depend on the
	// position (no position embedding, no attention) has no StepPos.
	for _, s := range []struct {
		pr  *param
		val string
	}{{tok, "token"}, {pos, "int64(pos)"}} {
		if s.pr != nil {
			fmt.Fprintf(b, "m.pi[%d][0] = %s\n", s.pr.index, s.val)
		}
	}
	b.WriteString(body)
	fmt.Fprintf(b, "copy(out, %s)\n", g.slice(sg, sg.Output("out")))
	for _, o := range sg.Outputs {
		if pr := g.byName[o.Name]; pr != nil {
			fmt.Fprintf(b, "copy(m.p[%d], %s) // %s\n", pr.index, g.slice(sg, o.Value), comment(o.Name))
		}
	}
	b.WriteString("return nil\n}\n\n")
}
