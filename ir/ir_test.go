package ir_test

import (
	"strings"
	"testing"

	"github.com/nnc-go/nnc/ir"
)

const sample = `graph M.forward "m.nn" {
  v0 = Input <f32[N,4]> (x) @3:13
  v1 = Param <f32[2,4]> {init="uniform",fan_in=4} (fc.weight) @2:5
  v2 = Param <f32[2]> {init="uniform",fan_in=4} (fc.bias) @2:5
  v3 = MatMul <f32[N,2]> v0 v1 {tb=true} @4:16
  v4 = Add <f32[N,2]> v3 v2 (h) @4:16
  v5 = Const <f32[]> {value=0.5} @4:20
  v7 = Mul <f32[N,2]> v4 v5 ("odd name") @4:18
  return out=v7 "h out"=v4
}
`

func TestParsePrintRoundTrip(t *testing.T) {
	g, err := ir.Parse(sample)
	if err != nil {
		t.Fatal(err)
	}
	if got := ir.Print(g); got != sample {
		t.Errorf("Print(Parse(s)) != s:\n%s", got)
	}
	if g.Values[6].ID != 7 || g.Values[6].Name != "odd name" || g.Output("h out") != g.Values[4] {
		t.Errorf("parsed values wrong: %v", g.Values[6].LongString())
	}
	// A new value gets an ID past every parsed one: IDs are never reused.
	v := g.NewValue(ir.OpRelu, nil, g.Values[0].Pos, g.Values[6])
	if v.ID != 8 {
		t.Errorf("new value ID %d, want 8", v.ID)
	}
}

func TestParseErrors(t *testing.T) {
	head := "graph G \"f.nn\" {\n"
	tests := []struct{ text, want string }{
		{"", "ir: line 1: no graph"},
		{"graph G {\n}", `ir: line 1: graph header needs a name and a quoted file`},
		{head, "ir: line 2: graph not closed by }"},
		{head + "  v0 = Frob <f32[2]>\n}", `ir: line 2: unknown op "Frob"`},
		{head + "  v0 = Input <f32[2]\n}", "ir: line 2: type not closed by >"},
		{head + "  v0 = Input <f16[2]>\n}", `ir: line 2: unknown dtype "f16"`},
		{head + "  v0 = Input <f32[0]>\n}", `ir: line 2: bad dimension "0" in type "f32[0]"`},
		{head + "  v1 = Relu <f32[2]> v0\n}", "ir: line 2: v0 used before it is defined"},
		{head + "  v0 = Input <f32[2]>\n  v0 = Input <f32[2]>\n}", "ir: line 3: v0 defined twice"},
		{head + "  v0 = Input <f32[2]> {a=1,a=2}\n}", "ir: line 2: attribute a given twice"},
		{head + "  v0 = Input <f32[2]> {a=\"x}\n}", "ir: line 2: attribute a not terminated"},
		{head + "  v0 = Input <f32[2]> @0:1\n}", `ir: line 2: bad position "@0:1"`},
		{head + "  v0 = Input <f32[2]>\n  return out=v9\n}", "ir: line 3: v9 used before it is defined"},
		{head + "}\nmore", "ir: line 3: text after the closing brace"},
		// Parsed but ill-typed: Verify rejects it.
		{head + "  v0 = Input <f32[N,2]>\n  v1 = Relu <f32[N,3]> v0\n}", "ir: G: v1: Relu has type f32[N,3], its rule gives f32[N,2]"},
		{head + "  v0 = Input <f32[N,2]>\n  v1 = Input <f32[N,3]>\n  v2 = Add <f32[N,3]> v0 v1\n}", "ir: G: v2: shapes [N, 2] and [N, 3] do not broadcast"},
		{head + "  v0 = Input <f32[N,2]>\n  v1 = Linear <f32[N,2]>\n}", "ir: G: v1: Linear takes 3 arguments, has 0"},
		{head + "  v0 = Param <f32[2]> (w)\n  v1 = Param <f32[2]> (w)\n}", `ir: G: v1: parameter name "w" empty or used twice`},
		{head + "  v0 = Input <f32[N,N]>\n}", "ir: G: v0: shape [N, N] has more than one batch dimension"},
	}
	for _, tt := range tests {
		_, err := ir.Parse(tt.text)
		if err == nil || err.Error() != tt.want {
			t.Errorf("Parse(%q):\n got %v\nwant %s", tt.text, err, tt.want)
		}
	}
}

func TestBroadcast(t *testing.T) {
	N := ir.Batch
	tests := []struct {
		a, b, want ir.Shape
		ok         bool
	}{
		{ir.Shape{N, 3}, ir.Shape{3}, ir.Shape{N, 3}, true},
		{ir.Shape{N, 1}, ir.Shape{1, 5}, ir.Shape{N, 5}, true},
		{ir.Shape{}, ir.Shape{N, 2}, ir.Shape{N, 2}, true},
		{ir.Shape{N, 3}, ir.Shape{4, 3}, nil, false},
		{ir.Shape{2, 3}, ir.Shape{3, 3}, nil, false},
		{ir.Shape{5, 1, 3}, ir.Shape{4, 1}, ir.Shape{5, 4, 3}, true},
	}
	for _, tt := range tests {
		got, ok := ir.Broadcast(tt.a, tt.b)
		if ok != tt.ok || !got.Equal(tt.want) {
			t.Errorf("Broadcast(%v, %v) = %v, %v; want %v, %v", tt.a, tt.b, got, ok, tt.want, tt.ok)
		}
	}
}

func TestDot(t *testing.T) {
	g, err := ir.Parse(sample)
	if err != nil {
		t.Fatal(err)
	}
	dot := ir.Dot(g)
	for _, want := range []string{`digraph "M.forward" {`, `v3 -> v4;`, `v0 [shape=ellipse, label="v0 Input\nf32[N,4]\nx"];`, `out1 [shape=doubleoctagon, label="h out"];`} {
		if !strings.Contains(dot, want) {
			t.Errorf("DOT lacks %s:\n%s", want, dot)
		}
	}
}

// FuzzParse: no text makes Parse panic, and whatever it accepts prints
// back to text that parses to the same printout.
func FuzzParse(f *testing.F) {
	f.Add(sample)
	f.Add("graph G \"f\" {\n  v0 = Input <f32[N,1,28,28]>\n  v1 = Param <f32[6,1,5,5]> (w)\n  v2 = Conv2d <f32[N,6,24,24]> v0 v1 {stride=1,padding=0}\n  v3 = MaxPool2d <f32[N,6,12,12]> v2 {kernel=2,stride=2}\n  v4 = Reshape <f32[N,864]> v3\n  return out=v4\n}\n")
	f.Add("graph G \"f\" {\n  v0 = Input <f32[N,3]>\n  v1 = Target <i32[N]>\n  v2 = SoftmaxCrossEntropy <f32[]> v0 v1 {k=[1,2],s=\"a,}b\",b=true,f=-Inf}\n  return loss=v2\n}\n")
	f.Fuzz(func(t *testing.T, text string) {
		g, err := ir.Parse(text)
		if err != nil {
			return
		}
		out := ir.Print(g)
		g2, err := ir.Parse(out)
		if err != nil {
			t.Fatalf("printed graph does not parse: %v\n%s", err, out)
		}
		if out2 := ir.Print(g2); out2 != out {
			t.Fatalf("print/parse not stable:\n%s\n---\n%s", out, out2)
		}
	})
}
