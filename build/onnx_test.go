package build_test

import (
	"strings"
	"testing"

	"github.com/nnc-go/nnc/ir"
)

// TestOnnxBuiltins: the ONNX built-ins build the ops they name with the
// attributes written, Parameter is a tensor named after its layer, and
// misuse gets one clear line.
func TestOnnxBuiltins(t *testing.T) {
	p, err := buildSrc(t, model(`    w = Parameter(4, 3, init = "normal", std = 0.5)`, "f32[N, 4]", `
        a = reduce_mean(x @ w, axes = [-1], keepdims = 0)
        b = slice(x, starts = [1], ends = [-1], axes = [1])
        c = concat(b, b, axis = 1)
        d = pad(c, pads = [0, 1, 0, 0], mode = "edge")
        return where(greater(d, 0), d, reshape(a, N, 1))`))
	if err != nil {
		t.Fatal(err)
	}
	got := ir.Print(p.Forward)
	for _, want := range []string{
		`Param <f32[4,3]> {init="normal",std=0.5} (w)`,
		`ReduceMean <f32[N]>`, `{axes=[-1],keepdims=0}`,
		`Slice <f32[N,2]>`, `{starts=[1],ends=[-1],axes=[1]}`,
		`Concat <f32[N,4]>`, `Greater <bool[N,5]>`, `Pad <f32[N,5]>`, `{pads=[0,1,0,0],mode="edge"}`, `Where <f32[N,5]>`,
	} {
		if !strings.Contains(got, want) {
			t.Errorf("no %s in\n%s", want, got)
		}
	}
	for _, c := range []struct{ layers, input, body, want string }{
		{"", "f32[N, 4]", "return reduce_sum(x, axes = 1.5)", "reduce_sum: axes must be a list of integers such as [0, 1], got 1.5"},
		{"", "f32[N, 4]", "return reduce_sum(x, axes = [0, 1.5])", "a list holds integers only, not a number"},
		{"", "f32[N, 4]", "return x + [1, 2]", "a list of integers is an argument of a built-in"},
		{"", "f32[N, 4]", "return concat(x, x, axis = 0)", "concat of [N, 4] along the batch dimension"},
		{"", "f32[N, 4]", "return where(x, x, x)", "where's condition f32[N,4] is not a bool tensor"},
		{"", "f32[N, 4]", "return pow(x)", "pow takes 2 tensors, got 1"},
		{"", "f32[N, 4]", "return slice(x, starts = [0])", "missing argument ends"},
		{"", "f32[N, 4]", "return expand(x, N, 3)", "x [N, 4] does not broadcast to [N, 3]"},
		{`    w = Parameter(4, init = "xavier")`, "f32[N, 4]", "return x + w", `init must be "zeros", "ones", "normal" or "uniform"`},
		{`    w = Parameter(4)`, "f32[N, 4]", "return w(x)", "w is a tensor, not a function"},
		{`    w = Parameter(0)`, "f32[N, 4]", "return x + w", "dimension 0 must be a positive integer"},
	} {
		_, err := buildSrc(t, model(c.layers, c.input, c.body))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: got %v, want %q", c.body, err, c.want)
		}
	}
}
