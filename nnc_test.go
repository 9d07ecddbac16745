package nnc_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/rogpeppe/go-internal/txtar"

	"github.com/nnc-go/nnc"
	"github.com/nnc-go/nnc/diag"
	"github.com/nnc-go/nnc/internal/golden"
	"github.com/nnc-go/nnc/ir"
)

// TestGolden compiles each testdata/golden/*.txtar's in.nn and compares,
// section by section: out/ir (the graphs as built), out/opt (after every
// pass), out/warnings, and out/error for files that must not compile. Every
// printed graph must parse back to itself.
func TestGolden(t *testing.T) {
	golden.RunAtLeast(t, "testdata/golden/*.txtar", 44, func(t *testing.T, a *txtar.Archive) map[string]string {
		src, ok := golden.Section(a, "in.nn")
		if !ok {
			t.Fatal("no in.nn section")
		}
		out := map[string]string{}
		built, err := nnc.Compile("in.nn", []byte(src), nnc.Options{After: "none", Verify: true})
		if err != nil {
			var list *diag.ErrorList
			if !errors.As(err, &list) {
				t.Fatalf("error is %T, not a diagnostic list: %v", err, err)
			}
			out["out/error"] = err.Error()
			return out
		}
		out["out/ir"] = printAll(t, built)
		opt, err := nnc.Compile("in.nn", []byte(src), nnc.Options{Verify: true})
		if err != nil {
			var list *diag.ErrorList
			if !errors.As(err, &list) {
				t.Fatalf("passes failed with %T, not a diagnostic list: %v", err, err)
			}
			out["out/opt"] = err.Error()
		} else {
			out["out/opt"] = printAll(t, opt)
		}
		var ws []string
		for _, w := range built.Warnings {
			ws = append(ws, w.Error())
		}
		if len(ws) > 0 {
			out["out/warnings"] = strings.Join(ws, "\n")
		}
		return out
	})
}

func printAll(t *testing.T, p *ir.Program) string {
	var b strings.Builder
	for _, g := range []*ir.Graph{p.Forward, p.TrainGraph, p.EvalGraph} {
		if g == nil {
			continue
		}
		text := ir.Print(g)
		back, err := ir.Parse(text)
		if err != nil {
			t.Fatalf("printed graph does not parse: %v\n%s", err, text)
		}
		if diff := cmp.Diff(g, back, graphCmp...); diff != "" {
			t.Errorf("Parse(Print(g)) differs from g (-built +parsed):\n%s", diff)
		}
		b.WriteString(text)
	}
	return b.String()
}

// graphCmp compares graphs field by field, values through their IDs so
// that the pointer structure is compared too.
var graphCmp = []cmp.Option{
	cmpopts.IgnoreUnexported(ir.Graph{}),     // the next free ID is an allocator detail
	cmpopts.IgnoreFields(ir.Graph{}, "Plan"), // printed as a comment, not parsed
	cmpopts.EquateEmpty(),
	cmp.Comparer(func(a, b *ir.Value) bool {
		if a == nil || b == nil {
			return a == b
		}
		if a.ID != b.ID || a.Op != b.Op || !a.Type.Equal(b.Type) || a.Name != b.Name || a.Pos != b.Pos || len(a.Args) != len(b.Args) {
			return false
		}
		for i := range a.Args {
			if a.Args[i].ID != b.Args[i].ID {
				return false
			}
		}
		return cmp.Equal(a.Attrs, b.Attrs, cmpopts.EquateEmpty())
	}),
}
