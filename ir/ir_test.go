package ir_test

import (
	"errors"
	"go/parser"
	"go/token"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nnc-go/nnc/diag"
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

// TestBuilderReturnsShapeErrors: a front end adding ill-shaped values gets
// a *ShapeError naming the op, the argument and the kind of fault, never a
// panic, and the graph is left without the value.
func TestBuilderReturnsShapeErrors(t *testing.T) {
	b := ir.NewBuilder("G", "g.nn")
	x, err := b.Input("x", ir.Type{DType: ir.F32, Shape: ir.Shape{ir.Batch, 4}}, diag.Pos{})
	if err != nil {
		t.Fatal(err)
	}
	w, err := b.Param("w", ir.Type{DType: ir.F32, Shape: ir.Shape{3, 5}}, ir.Attrs{{Key: "init", Val: "zeros"}}, diag.Pos{})
	if err != nil {
		t.Fatal(err)
	}
	n := len(b.Graph().Values)
	tests := []struct {
		add  func() (*ir.Value, error)
		op   ir.Op
		arg  int
		kind ir.ShapeKind
		msg  string
	}{
		{func() (*ir.Value, error) { return b.Op(ir.OpAdd, nil, diag.Pos{}, x, w) }, ir.OpAdd, -1, ir.ShapeBroadcast, "shapes [N, 4] and [3, 5] do not broadcast"},
		{func() (*ir.Value, error) { return b.Op(ir.OpMatMul, nil, diag.Pos{}, x, w) }, ir.OpMatMul, -1, ir.ShapeInner, "matmul of [N, 4] and [3, 5]: inner dimensions 4 and 3 differ"},
		{func() (*ir.Value, error) { return b.Op(ir.OpSoftmax, ir.Attrs{{Key: "dim", Val: 2}}, diag.Pos{}, x) }, ir.OpSoftmax, 0, ir.ShapeAxis, "dim 2 out of range for [N, 4]"},
		{func() (*ir.Value, error) { return b.Op(ir.OpMean, ir.Attrs{{Key: "dim", Val: 0}}, diag.Pos{}, x) }, ir.OpMean, 0, ir.ShapeBatchAxis, "mean over the batch dimension of [N, 4]"},
		{func() (*ir.Value, error) {
			return b.Op(ir.OpMaxPool2d, ir.Attrs{{Key: "kernel", Val: 2}}, diag.Pos{}, x)
		}, ir.OpMaxPool2d, 0, ir.ShapeRank, "maxpool2d of [N, 4]: needs [N, C, H, W] and a positive kernel"},
		{func() (*ir.Value, error) { return b.Op(ir.OpRelu, nil, diag.Pos{}) }, ir.OpRelu, -1, ir.ShapeArity, "Relu takes 1 arguments, has 0"},
		{func() (*ir.Value, error) { return b.Op(ir.OpRelu, nil, diag.Pos{}, nil) }, ir.OpRelu, -1, ir.ShapeMismatch, "Relu of a missing argument"},
		{func() (*ir.Value, error) { return b.Op(ir.OpReshape, nil, diag.Pos{}, x) }, ir.OpReshape, -1, ir.ShapeDeclared, "Reshape needs a declared type"},
		{func() (*ir.Value, error) {
			return b.Declared(ir.OpReshape, ir.Type{DType: ir.F32, Shape: ir.Shape{ir.Batch, 3}}, nil, diag.Pos{}, x)
		}, ir.OpReshape, 0, ir.ShapeDeclared, "cannot reshape [N, 4] into [N, 3]"},
		{func() (*ir.Value, error) {
			return b.Param("w", ir.Type{DType: ir.F32, Shape: ir.Shape{1}}, nil, diag.Pos{})
		}, ir.OpParam, -1, ir.ShapeDeclared, "parameter w added twice"},
		{func() (*ir.Value, error) { return b.Input("y", ir.Type{DType: ir.F32, Shape: ir.Shape{0}}, diag.Pos{}) }, ir.OpInput, -1, ir.ShapeDeclared, "Input y: dimension 0 in [0]"},
		{func() (*ir.Value, error) { return b.Input("y", ir.Type{Shape: ir.Shape{2}}, diag.Pos{}) }, ir.OpInput, -1, ir.ShapeDeclared, "Input y has no element type"},
	}
	for i, tt := range tests {
		v, err := tt.add()
		var se *ir.ShapeError
		if v != nil || !errors.As(err, &se) {
			t.Errorf("%d: got %v, %v; want a *ShapeError", i, v, err)
			continue
		}
		if se.Op != tt.op || se.Arg != tt.arg || se.Kind != tt.kind || se.Error() != tt.msg {
			t.Errorf("%d: got {%s %d %d %q}, want {%s %d %d %q}", i, se.Op, se.Arg, se.Kind, se.Msg, tt.op, tt.arg, tt.kind, tt.msg)
		}
	}
	if len(b.Graph().Values) != n {
		t.Errorf("refused values were added: %d values, want %d", len(b.Graph().Values), n)
	}
	y, err := b.Op(ir.OpMatMul, ir.Attrs{{Key: "tb", Val: true}}, diag.Pos{}, x, mustParam(t, b))
	if err != nil || y.Type.String() != "f32[N,3]" {
		t.Fatalf("MatMul: %v, %v", y, err)
	}
	b.Output("out", y)
	if err := ir.Verify(b.Graph()); err != nil {
		t.Error(err)
	}
}

func mustParam(t *testing.T, b *ir.Builder) *ir.Value {
	v, err := b.Param("v", ir.Type{DType: ir.F32, Shape: ir.Shape{3, 4}}, ir.Attrs{{Key: "init", Val: "zeros"}}, diag.Pos{})
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// TestNoFrontEnd: ir knows no language; a front end imports ir, not the
// other way round.
func TestNoFrontEnd(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	for _, name := range files {
		f, err := parser.ParseFile(fset, name, nil, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range f.Imports {
			if p := strings.Trim(imp.Path.Value, `"`); strings.HasPrefix(p, "github.com/nnc-go/nnc/") && p != "github.com/nnc-go/nnc/diag" && p != "github.com/nnc-go/nnc/ir" {
				t.Errorf("%s imports %s: ir depends on nothing of nnc but diag", name, p)
			}
		}
	}
}

// TestLoss: one loss type, spelled as the train block spells it, says what
// the targets are and whether predictions are classes.
func TestLoss(t *testing.T) {
	for _, tt := range []struct {
		loss           ir.Loss
		name           string
		classification bool
		target         ir.DType
	}{
		{ir.CrossEntropy, "cross_entropy", true, ir.I32},
		{ir.MSE, "mse", false, ir.F64},
		{ir.BCEWithLogits, "bce_with_logits", true, ir.F64},
	} {
		got, ok := ir.ParseLoss(tt.name)
		if !ok || got != tt.loss || got.String() != tt.name || !got.Valid() {
			t.Errorf("ParseLoss(%q) = %v, %v", tt.name, got, ok)
		}
		if got.Classification() != tt.classification || got.TargetDType(ir.F64) != tt.target {
			t.Errorf("%s: Classification %v, TargetDType(f64) %s", tt.name, got.Classification(), got.TargetDType(ir.F64))
		}
	}
	for _, s := range []string{"", "none", "Loss(4)", "CrossEntropy"} {
		if l, ok := ir.ParseLoss(s); ok || l != ir.NoLoss {
			t.Errorf("ParseLoss(%q) = %v, %v; want NoLoss, false", s, l, ok)
		}
	}
	if ir.NoLoss.Valid() || ir.NoLoss.Classification() || ir.Loss(9).Valid() || ir.Loss(9).String() != "Loss(9)" || ir.NoLoss.String() != "none" {
		t.Error("NoLoss and out-of-range losses are not valid losses")
	}
}
