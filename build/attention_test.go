package build_test

import (
	"strings"
	"testing"

	"github.com/nnc-go/nnc/ir"
)

// TestAttentionBuiltin: scaled_dot_product_attention builds one Attention
// value, causal only when asked (by name, PyTorch's is_causal, or
// position); bad calls get one error each.
func TestAttentionBuiltin(t *testing.T) {
	for _, c := range []struct{ body, want string }{
		{"return scaled_dot_product_attention(x, x, x)", "Attention <f32[N,3,4]> v0 v0 v0 @"},
		{"return scaled_dot_product_attention(x, x, x, causal = false)", "Attention <f32[N,3,4]> v0 v0 v0 @"},
		{"return scaled_dot_product_attention(x, x, x, causal = true)", "Attention <f32[N,3,4]> v0 v0 v0 {causal=true} @"},
		{"return scaled_dot_product_attention(x, x, x, is_causal = true)", "Attention <f32[N,3,4]> v0 v0 v0 {causal=true} @"},
		{"return scaled_dot_product_attention(x, x, x, true)", "Attention <f32[N,3,4]> v0 v0 v0 {causal=true} @"},
		{"return scaled_dot_product_attention(x, x, reshape(x, N, 3, 2, 2))", ""},
	} {
		p, err := buildSrc(t, model("", "f32[N, 3, 4]", "        "+c.body))
		if c.want == "" {
			if err == nil || !strings.Contains(err.Error(), "leading dimensions differ") {
				t.Errorf("%s: got %v, want a refusal of the ranks", c.body, err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", c.body, err)
			continue
		}
		if err := ir.Verify(p.Forward); err != nil {
			t.Fatal(err)
		}
		if text := ir.Print(p.Forward); !strings.Contains(text, c.want) {
			t.Errorf("%s: forward graph lacks %q:\n%s", c.body, c.want, text)
		}
	}
	for _, c := range []struct{ body, want string }{
		{"return scaled_dot_product_attention(x, x)",
			"m.nn:4:16: scaled_dot_product_attention(x, x): scaled_dot_product_attention takes q, k and v by position, then causal"},
		{"return scaled_dot_product_attention(x, k = x, v = x)",
			"m.nn:4:16: scaled_dot_product_attention(x, k = x, v = x): scaled_dot_product_attention takes q, k and v by position, then causal"},
		{"return scaled_dot_product_attention(x, 2, x)",
			"m.nn:4:16: scaled_dot_product_attention(x, 2, x): q, k and v must be tensors, got the constant 2"},
		{"return scaled_dot_product_attention(x, x, x, causal = 1)",
			"m.nn:4:63: scaled_dot_product_attention: causal must be true or false, got 1"},
		{"return scaled_dot_product_attention(x, x, x, mask = x)",
			`m.nn:4:54: scaled_dot_product_attention has no argument "mask"; its arguments are causal`},
		{"return scaled_dot_product_attention(x, x, sum(x, 2))",
			"m.nn:4:16: scaled_dot_product_attention(x, x, sum(x, 2)): attention of q [N, 3, 4], k [N, 3, 4], v [N, 3]: leading dimensions differ"},
		{"return scaled_dot_product_attention(x, reshape(x, N, 3, 2, 2), x)", "leading dimensions differ"},
		{"return scaled_dot_product_attention(reshape(x, 3, 4, N), reshape(x, 3, 4, N), reshape(x, 3, 4, N))", "the last two dimensions cannot be the batch"},
		{"return scaled_dot_product_attention(sum(x, 1), sum(x, 1), sum(x, 1))", "the last two dimensions cannot be the batch"},
		{"return scaled_dot_product_attention(x, reshape(x, N, 4, 3), x)", "feature sizes 4 and 3 differ"},
		{"return scaled_dot_product_attention(x, x, reshape(x, N, 4, 3))", "sequence lengths 3 and 4 differ"},
	} {
		_, err := buildSrc(t, model("", "f32[N, 3, 4]", "        "+c.body))
		if err == nil || !strings.Contains(err.Error(), c.want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%s:\ngot  %v\nwant %s", c.body, err, c.want)
		}
	}
}
