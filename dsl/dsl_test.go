package dsl_test

import (
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/rogpeppe/go-internal/txtar"

	"github.com/nnc-go/nnc/diag"
	"github.com/nnc-go/nnc/dsl"
	"github.com/nnc-go/nnc/internal/golden"
	"github.com/nnc-go/nnc/internal/testenv"
)

// modelFiles returns every .nn file of the repository and every in.nn of
// the goldens, the corpus the formatter and the fuzzer start from.
func modelFiles(t testing.TB) map[string][]byte {
	files := map[string][]byte{}
	for _, pat := range []struct {
		glob string
		min  int
	}{{"../examples/*.nn", 4}, {"../examples/*/*.nn", 1}, {"../testdata/parity/*/model.nn", 13}} {
		for _, n := range testenv.Glob(t, pat.glob, pat.min) {
			b, err := os.ReadFile(n)
			if err != nil {
				t.Fatal(err)
			}
			files[n] = b
		}
	}
	for _, n := range testenv.Glob(t, "../testdata/golden/*.txtar", 44) {
		a, err := txtar.ParseFile(n)
		if err != nil {
			t.Fatal(err)
		}
		if src, ok := golden.Section(a, "in.nn"); ok {
			files[n] = []byte(src)
		}
	}
	return files
}

// TestFormatIdempotent formats every model file of the repository that
// parses: the result must parse, format to itself, and keep every comment.
func TestFormatIdempotent(t *testing.T) {
	formatted := 0
	for name, src := range modelFiles(t) {
		f, err := dsl.Parse(name, src)
		if err != nil {
			continue // the goldens hold syntax errors on purpose
		}
		formatted++
		once := dsl.Format(f)
		f2, err := dsl.Parse(name, once)
		if err != nil {
			t.Errorf("%s: formatted output does not parse: %v\n%s", name, err, once)
			continue
		}
		if twice := dsl.Format(f2); string(twice) != string(once) {
			t.Errorf("%s: format is not idempotent:\n%s\n---\n%s", name, once, twice)
		}
		if len(f2.Comments) != len(f.Comments) {
			t.Errorf("%s: %d comments before formatting, %d after", name, len(f.Comments), len(f2.Comments))
		}
	}
	// The examples, the parity models and most goldens parse.
	if formatted < 50 {
		t.Errorf("%d model files formatted, want at least 50", formatted)
	}
}

// TestExamplesFormatted: the committed examples are in canonical layout.
func TestExamplesFormatted(t *testing.T) {
	names := append(testenv.Glob(t, "../examples/*.nn", 4), testenv.Glob(t, "../examples/*/*.nn", 1)...)
	for _, n := range names {
		src, err := os.ReadFile(n)
		if err != nil {
			t.Fatal(err)
		}
		f, err := dsl.Parse(n, src)
		if err != nil {
			t.Fatal(err)
		}
		if out := dsl.Format(f); string(out) != string(src) {
			t.Errorf("%s is not formatted; run nnc fmt %s", n, n)
		}
	}
}

// TestFormatGolden pins the canonical layout: testdata/fmt/*.txtar hold
// in.nn and out/fmt.
func TestFormatGolden(t *testing.T) {
	golden.RunAtLeast(t, "testdata/fmt/*.txtar", 2, func(t *testing.T, a *txtar.Archive) map[string]string {
		src, _ := golden.Section(a, "in.nn")
		f, err := dsl.Parse("in.nn", []byte(src))
		if err != nil {
			t.Fatal(err)
		}
		return map[string]string{"out/fmt": string(dsl.Format(f))}
	})
}

// TestSyntaxErrors pins the parser's messages: one positioned line each.
func TestSyntaxErrors(t *testing.T) {
	tests := []struct{ src, want string }{
		{"", ""},
		{"model", "x.nn:1:6: unexpected end of file"},
		{"model M {", `x.nn:1:10: unexpected end of file; the "{" opened at 1:9 is not closed`},
		{"model M { forward(x: f32[N]) { return x } } }", `x.nn:1:45: unexpected "}", expected "model" or "train"`},
		{"model M(a = ) {}", `x.nn:1:13: unexpected ")"`},
		{"model M { fc = Linear(1,, 2) }", `x.nn:1:25: unexpected ","`},
		{"\x00", "x.nn:1:1: invalid control character U+0000"},
		{"model M {}\n\xff\xfe", "x.nn:2:1: invalid UTF-8 byte 0xff: not a text file"},
		{"model M { a = 1e999 }", "x.nn:1:15: number 1e999 is out of range"},
		{"model M { a = 99999999999999999999 }", "x.nn:1:15: integer 99999999999999999999 is out of range"},
		{"model M { a = \"x\\q\" }", `x.nn:1:15: invalid string literal "x\q"`},
		{"train M { x = ! }", `x.nn:1:15: unexpected character '!'`},
		{"model M { forward(x: f32[N, 4]) { return x + } }", `x.nn:1:46: missing operand after "+", found "}"`},
		// Selectors (tok.weight): a name must follow the dot.
		{"model M { forward(x: f32[N]) { return x. } }", `x.nn:1:40: unexpected "."`},
		{"model M { forward(x: f32[N]) { return fc.2 } }", `x.nn:1:41: unexpected number .2`},
	}
	for _, tt := range tests {
		_, err := dsl.Parse("x.nn", []byte(tt.src))
		got := ""
		if err != nil {
			var list *diag.ErrorList
			if !errors.As(err, &list) || len(list.Diags) != 1 {
				t.Errorf("Parse(%q): error %v is not one diagnostic", tt.src, err)
			}
			got = err.Error()
		}
		if got != tt.want {
			t.Errorf("Parse(%q):\n got %s\nwant %s", tt.src, got, tt.want)
		}
	}
}

// TestPrecedence checks that the grammar binds as Python does.
func TestPrecedence(t *testing.T) {
	tests := []struct{ in, want string }{
		{"a + b * c", "(a + (b * c))"},
		{"a * b + c", "((a * b) + c)"},
		{"a - b - c", "((a - b) - c)"},
		{"a @ b * c", "((a @ b) * c)"},
		{"-a * b", "((-a) * b)"},
		{"-(a + b) / c", "((-(a + b)) / c)"},
		{"f(a, k = b + 1) @ g(c)", "(f(a, k = (b + 1)) @ g(c))"},
		{"a / (b - c)", "(a / (b - c))"},
	}
	for _, tt := range tests {
		src := "model M { forward(x: f32[N]) { return " + tt.in + " } }"
		f, err := dsl.Parse("x.nn", []byte(src))
		if err != nil {
			t.Fatalf("%s: %v", tt.in, err)
		}
		fwd := f.Models()[0].Items[0].(*dsl.Forward)
		if got := paren(fwd.Body[0].(*dsl.Return).Value); got != tt.want {
			t.Errorf("%s: parsed as %s, want %s", tt.in, got, tt.want)
		}
	}
}

func paren(x dsl.Expr) string {
	switch x := x.(type) {
	case *dsl.Binary:
		return "(" + paren(x.X) + " " + x.Op + " " + paren(x.Y) + ")"
	case *dsl.Unary:
		return "(" + x.Op + paren(x.X) + ")"
	case *dsl.Call:
		var args []string
		for _, a := range x.Args {
			s := paren(a.Value)
			if a.Key != nil {
				s = a.Key.Name + " = " + s
			}
			args = append(args, s)
		}
		return x.Fun.Name + "(" + strings.Join(args, ", ") + ")"
	}
	return dsl.ExprString(x)
}

// FuzzParse: no input makes Parse panic; whatever parses formats to text
// that parses again and formats to itself.
func FuzzParse(f *testing.F) {
	for _, src := range modelFiles(f) {
		f.Add(src)
	}
	f.Add([]byte("model M(a = -1, b = 2.5e-3) { forward(x: f64[N, a]) { return -(-x) } }"))
	f.Add([]byte("train M(a = 1) { data = csv(\"a\\\"b.csv\", target = 0) }"))
	f.Fuzz(func(t *testing.T, src []byte) {
		file, err := dsl.Parse("fuzz.nn", src)
		if err != nil {
			var list *diag.ErrorList
			if !errors.As(err, &list) || len(list.Diags) != 1 || !list.Diags[0].Pos.IsValid() {
				t.Fatalf("error %v is not one positioned diagnostic", err)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Fatalf("syntax error spans lines: %q", err.Error())
			}
			return
		}
		once := dsl.Format(file)
		again, err := dsl.Parse("fuzz.nn", once)
		if err != nil {
			t.Fatalf("formatted output does not parse: %v\n%s", err, once)
		}
		if twice := dsl.Format(again); string(twice) != string(once) {
			t.Fatalf("format not idempotent:\n%s\n---\n%s", once, twice)
		}
	})
}
