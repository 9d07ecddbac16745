package ir

import "testing"

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
	}
}
