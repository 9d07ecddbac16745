package ir

import (
	"strings"
	"testing"
)

// TestOpTableComplete walks the op table: every op has a name that parses
// back, a shape rule (sources declare their type), a lowering to kernel
// calls (sources other than DropoutMask have storage of their own), and a
// VJP rule, NoGrad, or Derived (emitted after differentiation, never
// differentiated). That both back ends run every lowering and agree bit for
// bit is train's TestBackendsAgree.
func TestOpTableComplete(t *testing.T) {
	ops := Ops()
	if len(ops) < 60 {
		t.Fatalf("the op table has %d ops", len(ops))
	}
	for _, op := range ops {
		info := op.Info()
		if info.Name == "" {
			t.Errorf("op %d has no name", op)
			continue
		}
		if got, ok := LookupOp(info.Name); !ok || got != op {
			t.Errorf("%s: LookupOp gives %v", info.Name, got)
		}
		if info.Shape == nil && !(info.Source && info.Declared) {
			t.Errorf("%s has no shape rule", info.Name)
		}
		if info.Lower == nil && (!info.Source || op == OpDropoutMask) {
			t.Errorf("%s has no lowering", info.Name)
		}
		if info.Lower != nil && info.Source && op != OpDropoutMask {
			t.Errorf("%s is a source with a lowering", info.Name)
		}
		if !info.Source && info.VJP == nil && !info.NoGrad && !info.Derived {
			t.Errorf("%s has neither a VJP rule nor NoGrad nor Derived", info.Name)
		}
		if info.VJP != nil && (info.NoGrad || info.Derived) {
			t.Errorf("%s has a VJP rule and is marked NoGrad or Derived", info.Name)
		}
		seen := map[string]bool{}
		for _, a := range info.Attrs {
			switch a.Default.(type) {
			case int, float64, bool, string, []int:
			default:
				t.Errorf("%s: attribute %s has a default of type %T", info.Name, a.Name, a.Default)
			}
			if seen[a.Name] {
				t.Errorf("%s declares %s twice", info.Name, a.Name)
			}
			seen[a.Name] = true
		}
	}
}

// TestAttrsDeclared: a value holds only the attributes its op declares, of
// the declared type, the required ones included; the others take the
// row's default.
func TestAttrsDeclared(t *testing.T) {
	for _, c := range []struct{ line, err string }{
		{"v1 = Softmax <f32[N,3]> v0 {axis=1}", "Softmax has no attribute axis"},
		{"v1 = Softmax <f32[N,3]> v0 {dim=1.5}", "Softmax: attribute dim=1.5 is not an integer"},
		{"v1 = DropoutMask <f32[N,3]>", "DropoutMask needs the attribute p"},
		{"v1 = MatMul <f32[N,3]> v0 v0 {ta=1}", "MatMul: attribute ta=1 is not a bool"},
	} {
		src := "graph G \"f\" {\n  v0 = Input <f32[N,3]> (x)\n  " + c.line + "\n  return out=v1\n}\n"
		_, err := Parse(src)
		if err == nil || !strings.Contains(err.Error(), c.err) {
			t.Errorf("%s: got %v, want %s", c.line, err, c.err)
		}
	}
	g, err := Parse("graph G \"f\" {\n  v0 = Input <f32[N,3]> (x)\n  v1 = Softmax <f32[N,3]> v0\n  v2 = LayerNorm <f32[N,3]> v1 v3 v3\n  return out=v1\n}\n")
	if err == nil {
		t.Fatalf("a use before definition parsed: %s", Print(g))
	}
	g, err = Parse("graph G \"f\" {\n  v0 = Input <f32[N,3]> (x)\n  v1 = Softmax <f32[N,3]> v0\n  v2 = SGDStep <f32[N,3]> v0 v1 {lr=1}\n  return out=v2\n}\n")
	if err != nil {
		t.Fatal(err)
	}
	if d := g.Values[1].AttrInt("dim"); d != -1 {
		t.Errorf("Softmax's default dim: %d", d)
	}
	if lr, wd := g.Values[2].AttrFloat("lr"), g.Values[2].AttrFloat("weight_decay"); lr != 1 || wd != 0 {
		t.Errorf("SGDStep's lr %v (an int attribute read as a float), weight_decay %v", lr, wd)
	}
}
