package bench_test

import (
	"os"
	"runtime"
	"testing"
	"time"

	"github.com/nnc-go/nnc"
	"github.com/nnc-go/nnc/bench"
)

// TestTokenModel times a training step of a token model (i64 ids in, a
// class per position out: testdata/ops/gpt_block.nn) in both back ends:
// the generated program must build with int64 ids and targets, and a
// step must allocate nothing.
func TestTokenModel(t *testing.T) {
	src, err := os.ReadFile("../testdata/ops/gpt_block.nn")
	if err != nil {
		t.Fatal(err)
	}
	p, err := nnc.Compile("gpt_block.nn", src, nnc.Options{})
	if err != nil {
		t.Fatal(err)
	}
	opt := bench.Options{Duration: 20 * time.Millisecond}
	ri, err := bench.Interp(p.TrainGraph, "train", opt)
	if err != nil {
		t.Fatalf("interp: %v", err)
	}
	rg, err := bench.Go(p, "train", opt)
	if err != nil {
		t.Fatalf("go: %v", err)
	}
	for _, r := range []*bench.Result{ri, rg} {
		if r.Mode != "train" || r.Batch != 8 || !(r.USPerStep > 0) || r.AllocsPerStep != 0 {
			t.Errorf("%s: %+v, want a timed training step at batch 8 that allocates nothing", r.Backend, r)
		}
		if runtime.GOOS == "linux" && !(r.CPUUSPerStep > 0) {
			t.Errorf("%s: %+v, want the CPU time per step", r.Backend, r)
		}
	}
}
