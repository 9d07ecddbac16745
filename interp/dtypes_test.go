package interp_test

import (
	"testing"

	"github.com/nnc-go/nnc/interp"
	"github.com/nnc-go/nnc/ir"
	"github.com/nnc-go/nnc/passes"
)

// TestInputDTypes: a graph's inputs may be of every element type the IR
// has, each held in a buffer of its own Go type, and the text form
// round-trips them.
func TestInputDTypes(t *testing.T) {
	src := `graph G "f" {batch=3} {
  v0 = Input <f32[N,2]> (x)
  v1 = Input <i32[N,2]> (a)
  v2 = Input <i64[N,2]> (b)
  v3 = Input <i8[N,2]> (c)
  v4 = Input <u8[N,2]> (d)
  v5 = Input <bool[N,2]> (e)
  v6 = Relu <f32[N,2]> v0
  return out=v6
}
`
	g, err := ir.Parse(src)
	if err != nil {
		t.Fatal(err)
	}
	if got := ir.Print(g); got != src {
		t.Fatalf("the text form does not round-trip:\n%s", got)
	}
	if err := passes.Run(g, passes.Options{Verify: true}); err != nil {
		t.Fatal(err)
	}
	m, err := interp.New(g, interp.NewStore[float32](), 0)
	if err != nil {
		t.Fatal(err)
	}
	in := m.InputTensors()
	if len(in) != 6 {
		t.Fatalf("%d inputs", len(in))
	}
	for i, ok := range []bool{len(in[0].F) == 6, len(in[1].I32) == 6, len(in[2].I64) == 6, len(in[3].I8) == 6, len(in[4].U8) == 6, len(in[5].Bool) == 6} {
		if !ok {
			t.Errorf("input %s (%s) has no buffer of its type: %+v", in[i].Name, in[i].Type, in[i])
		}
	}
	for _, d := range []ir.DType{ir.I8, ir.U8, ir.Bool} {
		if d.Size() != 1 || d.IsFloat() {
			t.Errorf("%s: size %d", d, d.Size())
		}
	}
}
