package train_test

import (
	"os"
	"testing"

	"github.com/nnc-go/nnc"
	"github.com/nnc-go/nnc/internal/testenv"
	"github.com/nnc-go/nnc/interp"
	"github.com/nnc-go/nnc/passes"
)

// sampleModel is the GPT of bench/sample_compare.py (makemore's size).
const sampleModel = "../bench/models/gpt_sample.nn"

// BenchmarkSampleStep times one step of the KV cache (the step graph at
// position 7 of 16) and one forward pass over 16 ids, at batch 1 in the
// interpreter, on bench/models/gpt_sample.nn with random weights: the two
// things nnc sample runs per character.
func BenchmarkSampleStep(b *testing.B) {
	src, err := os.ReadFile(sampleModel)
	if err != nil {
		b.Fatal(err)
	}
	p, err := nnc.Compile(sampleModel, src, nnc.Options{})
	if err != nil {
		b.Fatal(err)
	}
	if p.Step == nil {
		b.Fatal("no step graph")
	}
	store := interp.NewStore[float32]()
	if err := store.Init(p.Forward, 1); err != nil {
		b.Fatal(err)
	}
	fwd, err := interp.New(p.Forward, store, 0)
	if err != nil {
		b.Fatal(err)
	}
	step, err := interp.New(p.Step, store, 0)
	if err != nil {
		b.Fatal(err)
	}
	tok, pos := store.I64[passes.StepToken], store.I64[passes.StepPos]
	x := fwd.InputTensors()[0].I64
	for i := range x {
		x[i] = int64(i % 27)
	}
	b.Run("step", func(b *testing.B) {
		for i := range 8 {
			tok[0], pos[0] = int64(i), int64(i)
			if err := step.Run(1); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportAllocs()
		testenv.ThreadCPU(b, func() error { return step.Run(1) })
	})
	b.Run("forward", func(b *testing.B) {
		b.ReportAllocs()
		testenv.ThreadCPU(b, func() error { return fwd.Run(1) })
	})
}
