package passes

import (
	"strings"
	"testing"

	"github.com/rogpeppe/go-internal/txtar"

	"github.com/nnc-go/nnc/internal/golden"
	"github.com/nnc-go/nnc/ir"
)

// TestPasses runs one pass over hand-written IR: testdata/PASS_case.txtar
// holds in.ir and out/ir, the graph after the pass named by the file's
// prefix, with ir.Verify before and after.
func TestPasses(t *testing.T) {
	golden.RunAtLeast(t, "testdata/*.txtar", 9, func(t *testing.T, a *txtar.Archive) map[string]string {
		name := strings.TrimPrefix(t.Name(), "TestPasses/")
		passName, _, _ := strings.Cut(name, "_")
		p, ok := Lookup(passName)
		if !ok {
			t.Fatalf("file names unknown pass %q", passName)
		}
		src, _ := golden.Section(a, "in.ir")
		g, err := ir.Parse(src)
		if err != nil {
			t.Fatal(err)
		}
		if err := runOne(p, g, true); err != nil {
			t.Fatal(err)
		}
		return map[string]string{"out/ir": ir.Print(g)}
	})
}

func TestRunAfter(t *testing.T) {
	g, err := ir.Parse("graph G \"f\" {\n  v0 = Input <f32[N,2]>\n  v1 = Const <f32[]> {value=1.0}\n  v2 = Mul <f32[N,2]> v0 v1\n  return out=v2\n}\n")
	if err != nil {
		t.Fatal(err)
	}
	if err := Run(g, Options{After: "nope"}); err == nil || !strings.Contains(err.Error(), `unknown pass "nope"`) {
		t.Errorf("Run with unknown pass: %v", err)
	}
	if err := Run(g, Options{Verify: true}); err != nil {
		t.Fatal(err)
	}
	if len(g.Values) != 1 || g.Output("out") != g.Values[0] {
		t.Errorf("x*1 not folded:\n%s", ir.Print(g))
	}
}

// TestPanicReported: a pass that breaks an invariant is reported with its
// name, not as a crash.
func TestPanicReported(t *testing.T) {
	g := ir.NewGraph("G", "f")
	err := runOne(Pass{Name: "broken", Fn: func(*ir.Graph) error { panic("ir: oops") }}, g, true)
	if err == nil || err.Error() != "internal error: panic during broken: ir: oops" {
		t.Errorf("got %v", err)
	}
}
