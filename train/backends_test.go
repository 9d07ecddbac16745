package train_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nnc-go/nnc"
	"github.com/nnc-go/nnc/internal/testenv"
	"github.com/nnc-go/nnc/ir"
	"github.com/nnc-go/nnc/train"
)

// notLowered lists the ops with a lowering that no graph a back end runs
// can hold, and why; every other op must appear in a model that
// TestParityGo or TestBackendsAgree runs on both back ends.
var notLowered = map[ir.Op]string{
	ir.OpNLLLoss:     "the fuse pass always merges it with its LogSoftmax into SoftmaxCrossEntropy",
	ir.OpNLLLossGrad: "the fuse pass always merges it with its LogSoftmaxGrad into SoftmaxCrossEntropyGrad",
}

// TestOpCoverage requires every op of the table that back ends compute to
// appear in the graphs of the models both back ends are held to agree on,
// bit for bit: the parity cases, testdata/ops and the int8 models of
// testdata/int8 with their int8 checkpoints (codegen's
// TestInt8GeneratedMatchesInterp). An op added to the table without such a
// model fails here.
func TestOpCoverage(t *testing.T) {
	files := testenv.Glob(t, "../testdata/parity/*/model.nn", parityCases)
	ops := testenv.Glob(t, "../testdata/ops/*.nn", 1)
	seen := map[ir.Op]bool{}
	for _, f := range append(files, ops...) {
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		p, err := nnc.Compile(f, src, nnc.Options{})
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		// The step graph (KV cache) runs in both back ends when sampling
		// (TestSampleKVCache).
		for _, g := range []*ir.Graph{p.Forward, p.TrainGraph, p.EvalGraph, p.Step} {
			if g == nil {
				continue
			}
			for _, v := range g.Values {
				seen[v.Op] = true
			}
		}
	}
	for _, f := range testenv.Glob(t, "../testdata/int8/*.nn", 3) {
		for _, v := range int8Graph(t, f).Values {
			seen[v.Op] = true
		}
	}
	for _, op := range ir.Ops() {
		info := op.Info()
		_, excused := notLowered[op]
		switch {
		case info.Lower == nil:
		case seen[op] && excused:
			t.Errorf("%s is run by a model now: remove it from notLowered", op)
		case !seen[op] && !excused:
			t.Errorf("no model run on both back ends computes %s: add one to testdata/ops", op)
		}
	}
}

// TestBackendsAgree trains each model of testdata/ops with the interpreter
// and with the generated Go code, from the same seed, and requires the
// same output lines, bit for bit.
func TestBackendsAgree(t *testing.T) {
	if testing.Short() {
		t.Skip("builds Go programs")
	}
	for _, f := range testenv.Glob(t, "../testdata/ops/*.nn", 1) {
		t.Run(filepath.Base(f), func(t *testing.T) { backendsAgree(t, f, "") })
	}
}

// int8Graph is the forward graph of the model in file rewritten to run in
// int8 by its int8 checkpoint, FILE.int8.safetensors beside it.
func int8Graph(t *testing.T, file string) *ir.Graph {
	t.Helper()
	src, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	p, err := nnc.Compile(file, src, nnc.Options{})
	if err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	f, err := train.ReadInt8(strings.TrimSuffix(file, ".nn") + ".int8.safetensors")
	if err != nil || f == nil {
		t.Fatalf("%s: int8 checkpoint %v, %v", file, f, err)
	}
	g, err := train.Int8Graph(p.Forward, f)
	if err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	return g
}
