package passes_test

import (
	"strings"
	"testing"

	"github.com/nnc-go/nnc"
	"github.com/nnc-go/nnc/ir"
	"github.com/nnc-go/nnc/passes"
)

// stepModel is a two-layer causal GPT written with the forward body
// BODY, for the step graph's cases.
const stepModel = `model G(vocab = 5, d = 8, heads = 2, ctx = 6) {
    tok = Embedding(vocab, d)
    pos = Embedding(ctx, d)
    q   = Linear(d, d)
    k   = Linear(d, d)
    v   = Linear(d, d)
    w   = Linear(d, d)
    head = Linear(d, vocab)

    forward(x: i64[N, ctx]) {
        BODY
    }
}
`

func heads(s string) string {
	return "transpose(reshape(" + s + ", N, ctx, heads, d / heads), 1, 2)"
}

func TestKVStep(t *testing.T) {
	h := "h = tok(x) + pos(arange(ctx))\n"
	attn := func(causal string) string {
		return "a = scaled_dot_product_attention(" + heads("q(h)") + ", " + heads("k(h)") + ", " + heads("v(h)") + ", causal = " + causal + ")\n" +
			"h = h + w(reshape(transpose(a, 1, 2), N, ctx, d))\n"
	}
	for _, c := range []struct {
		name, body string
		caches     int    // attentions with a cache
		err        string // KVStep's error, when it has one
	}{
		{"two blocks", h + attn("true") + attn("true") + "return head(relu(h))", 2, ""},
		{"per position", h + "return head(gelu(h))", 0, ""},
		{"not causal", h + attn("false") + "return head(h)", 0, "without the causal mask"},
		{"mean over time", h + "return head(h - reshape(mean(h, 1), N, 1, d))", 0, "Mean over the positions"},
		{"attention by hand", h + "s = softmax(q(h) @ transpose(k(h), 1, 2), dim = -1)\nreturn head(s @ v(h))", 0, "mixes positions"},
	} {
		t.Run(c.name, func(t *testing.T) {
			src := strings.Replace(stepModel, "BODY", c.body, 1)
			p, err := nnc.Compile("g.nn", []byte(src), nnc.Options{})
			if err != nil {
				t.Fatal(err)
			}
			step, err := passes.KVStep(p.Forward)
			if c.err != "" {
				if err == nil || !strings.Contains(err.Error(), c.err) {
					t.Fatalf("error %v, want one saying %q", err, c.err)
				}
				if p.Step != nil {
					t.Error("Compile kept a step graph")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if p.Step == nil || p.Step.Plan == nil {
				t.Fatal("Compile made no planned step graph")
			}
			if err := ir.Verify(step); err != nil {
				t.Fatal(err)
			}
			if got := p.Step.Output("out").Type.String(); got != "f32[1,1,5]" {
				t.Errorf("step output %s, want f32[1,1,5]", got)
			}
			writes := 0
			for _, v := range p.Step.Values {
				if v.Op == ir.OpKVCacheWrite {
					writes++
					if p.Step.Output(v.Name) != v {
						t.Errorf("cache %s is not an output", v.Name)
					}
				}
				if v.Op == ir.OpArange || v.Op == ir.OpInput || v.Op == ir.OpAttention {
					t.Errorf("the step graph computes %s", v.Op)
				}
			}
			if writes != 2*c.caches {
				t.Errorf("%d cache writes, want %d", writes, 2*c.caches)
			}
		})
	}
	// A model that does not take token ids has none.
	p, err := nnc.Compile("m.nn", []byte("model M() {\n    fc = Linear(3, 2)\n\n    forward(x: f32[N, 3]) {\n        return fc(x)\n    }\n}\n"), nnc.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if p.Step != nil {
		t.Error("a model of f32 inputs got a step graph")
	}
}
