package nnc

import (
	"bytes"
	"context"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/nnc-go/nnc/checkpoint"
	"github.com/nnc-go/nnc/ir"
	"github.com/nnc-go/nnc/npy"
	"github.com/nnc-go/nnc/train"
)

// TestModelInt8: Load given an int8 checkpoint (nnc quantize) runs the
// int8 graph, and its predictions are nnc predict's bit for bit whatever
// the batch; Save writes the checkpoint back as it was; Train is refused
// in one line.
func TestModelInt8(t *testing.T) {
	const file, q = "testdata/int8/mlp.nn", "testdata/int8/mlp.int8.safetensors"
	src, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	p, err := Compile(file, src, Options{ForwardOnly: true, Batch: train.PredictBatch(256)})
	if err != nil {
		t.Fatal(err)
	}
	f, err := checkpoint.Read(q)
	if err != nil {
		t.Fatal(err)
	}
	const rows = 50
	rng := rand.New(rand.NewPCG(1, 2))
	x := make([]float32, rows*13)
	for i := range x {
		x[i] = float32(rng.NormFloat64())
	}
	ref, err := train.ForwardArrays(p, map[string]*npy.Array{"x": {Shape: []int{rows, 13}, F32: x}}, train.ArrayOptions{Weights: f, WeightsName: q})
	if err != nil {
		t.Fatal(err)
	}
	want := ref["out"].F32
	float, err := Load(file, nil)
	if err != nil {
		t.Fatal(err)
	}
	fout, err := float.Predict(context.Background(), Inputs{"x": x})
	if err != nil {
		t.Fatal(err)
	}
	if slices.Equal(fout.([]float32), want) {
		t.Fatal("the float model's outputs equal the int8 checkpoint's: the test would not see int8 missing")
	}
	for _, batch := range []int{1, 7, 64} {
		m, err := Load(file, &LoadOptions{Weights: q, Batch: batch})
		if err != nil {
			t.Fatal(err)
		}
		ops := map[ir.Op]int{}
		for _, v := range m.prog.Forward.Values {
			ops[v.Op]++
		}
		if ops[ir.OpQLinear] != 2 {
			t.Errorf("batch %d: the forward pass has %d QLinear, want 2", batch, ops[ir.OpQLinear])
		}
		out, err := m.Predict(context.Background(), Inputs{"x": x})
		if err != nil {
			t.Fatal(err)
		}
		if got := out.([]float32); !slices.Equal(got, want) {
			t.Fatalf("batch %d: outputs %v..., nnc predict's %v...", batch, got[:5], want[:5])
		}
		if batch != 7 {
			continue
		}
		// Concurrent passes share the packed weights: each goroutine's
		// rows give their own outputs.
		var wg sync.WaitGroup
		for g := range 8 {
			wg.Go(func() {
				lo, hi := g*rows/8, (g+1)*rows/8
				out, err := m.Predict(context.Background(), Inputs{"x": x[lo*13 : hi*13]})
				if err != nil {
					t.Error(err)
					return
				}
				if !slices.Equal(out.([]float32), want[lo*5:hi*5]) {
					t.Errorf("rows %d to %d predicted concurrently differ from nnc predict's", lo, hi)
				}
			})
		}
		wg.Wait()
		saved := filepath.Join(t.TempDir(), "q.safetensors")
		if err := m.Save(saved); err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(saved)
		if err != nil {
			t.Fatal(err)
		}
		orig, _ := checkpoint.Encode(f)
		if !bytes.Equal(b, orig) {
			t.Error("Save of an int8 model does not write its checkpoint back")
		}
		_, err = m.Train(context.Background(), nil)
		if err == nil || !strings.Contains(err.Error(), "int8 checkpoint") || strings.Contains(err.Error(), "\n") {
			t.Errorf("Train of an int8 model: %v", err)
		}
	}
}
