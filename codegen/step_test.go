package codegen_test

import (
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/nnc-go/nnc"
	"github.com/nnc-go/nnc/codegen"
	"github.com/nnc-go/nnc/interp"
	"github.com/nnc-go/nnc/passes"
)

const stepHarness = `package main

import (
	"encoding/json"
	"os"
	"testing"

	"gentest/model"
)

func main() {
	m, err := model.New()
	if err != nil {
		panic(err)
	}
	ids := []int64{3, 1, 4, 1, 5, 9, 2, 6}
	out := make([]float32, model.StepOutputSize)
	var res struct {
		Out    [][]float32
		Allocs float64
		Bad    []string
	}
	for pos, id := range ids {
		if err := m.Step(out, id, pos); err != nil {
			panic(err)
		}
		res.Out = append(res.Out, append([]float32(nil), out...))
	}
	res.Allocs = testing.AllocsPerRun(10, func() {
		for pos, id := range ids {
			m.Step(out, id, pos)
		}
	})
	for _, c := range []struct{ id int64; pos int }{{12, 0}, {1, model.Context}, {1, -1}} {
		if err := m.Step(out, c.id, c.pos); err != nil {
			res.Bad = append(res.Bad, err.Error())
		}
	}
	json.NewEncoder(os.Stdout).Encode(res)
}
`

// TestGeneratedStep: the generated Step of a GPT computes what the
// interpreter's step graph computes, bit for bit, position after
// position; a whole sequence of steps allocates nothing; a token outside
// the embedding or a position outside the context is an error.
func TestGeneratedStep(t *testing.T) {
	if testing.Short() {
		t.Skip("builds Go programs")
	}
	const file = "../testdata/ops/gpt_block.nn"
	src, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	p, err := nnc.Compile(file, src, nnc.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if p.Step == nil {
		t.Fatal("no step graph")
	}
	code, err := codegen.Generate(p, codegen.Options{Package: "model", Source: "gpt_block.nn"})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(code), "func (m *Model) Step(out []float32, token int64, pos int) (err error)") {
		t.Fatalf("no Step method:\n%s", code)
	}
	out := goCmd(t, module(t, code, nil, stepHarness), []string{"GOFLAGS=-mod=mod"}, "run", ".")
	var got struct {
		Out    [][]float32
		Allocs float64
		Bad    []string
	}
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}

	store := interp.NewStore[float32]()
	if err := store.Init(p.Forward, 0); err != nil {
		t.Fatal(err)
	}
	m, err := interp.New(p.Step, store, 0)
	if err != nil {
		t.Fatal(err)
	}
	tok, pos := store.I64[passes.StepToken], store.I64[passes.StepPos]
	for i, id := range []int64{3, 1, 4, 1, 5, 9, 2, 6} {
		tok[0], pos[0] = id, int64(i)
		if err := m.Run(1); err != nil {
			t.Fatal(err)
		}
		want := m.OutputTensor("out")
		if len(got.Out) <= i || len(got.Out[i]) != len(want) {
			t.Fatalf("position %d: generated %v, interpreter %v", i, got.Out, want)
		}
		for c := range want {
			if got.Out[i][c] != want[c] {
				t.Fatalf("position %d, class %d: generated %v, interpreter %v", i, c, got.Out[i][c], want[c])
			}
		}
	}
	if got.Allocs != 0 {
		t.Errorf("a sequence of 8 steps allocates %v times", got.Allocs)
	}
	wantBad := []string{
		"Step: token 12 is outside the embedding's 12 ids",
		"Step: position 8 (of 0 to 7) and room for 12 scores, got 12",
		"Step: position -1 (of 0 to 7) and room for 12 scores, got 12",
	}
	if strings.Join(got.Bad, "\n") != strings.Join(wantBad, "\n") {
		t.Errorf("errors:\n%s\nwant:\n%s", strings.Join(got.Bad, "\n"), strings.Join(wantBad, "\n"))
	}
}
