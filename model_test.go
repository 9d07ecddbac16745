package nnc

import (
	"context"
	"encoding/csv"
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/nnc-go/nnc/train"
)

// irisRows reads the features of examples/iris/iris.csv as nnc predict
// parses them (float32).
func irisRows(t *testing.T) (x []float32, rows int) {
	t.Helper()
	f, err := os.Open("examples/iris/iris.csv")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range recs[1:] {
		for _, s := range r[:4] {
			v, err := strconv.ParseFloat(strings.TrimSpace(s), 32)
			if err != nil {
				t.Fatal(err)
			}
			x = append(x, float32(v))
		}
	}
	return x, len(recs) - 1
}

func loadIris(t *testing.T, opt *LoadOptions) *Model {
	t.Helper()
	if opt == nil {
		opt = &LoadOptions{}
	}
	opt.Weights = "examples/iris/iris.safetensors"
	m, err := Load("examples/iris/iris.nn", opt)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// TestModelMatchesPredict: Model.Predict gives nnc predict's outputs, bit
// for bit, whatever the batch the rows are planned in.
func TestModelMatchesPredict(t *testing.T) {
	src, _ := os.ReadFile("examples/iris/iris.nn")
	// As nnc predict plans it (--batch 256).
	p, err := Compile("examples/iris/iris.nn", src, Options{ForwardOnly: true, Batch: train.PredictBatch(256)})
	if err != nil {
		t.Fatal(err)
	}
	want, err := train.Predict(p, train.PredictOptions{Weights: "examples/iris/iris.safetensors", Input: "examples/iris/iris.csv"})
	if err != nil {
		t.Fatal(err)
	}
	x, rows := irisRows(t)
	for _, batch := range []int{1, 7, 64, 256} {
		m := loadIris(t, &LoadOptions{Batch: batch})
		out, err := m.Predict(context.Background(), Inputs{"x": x})
		if err != nil {
			t.Fatal(err)
		}
		got := out.([]float32)
		if len(got) != rows*3 || len(want.Out) != rows*3 {
			t.Fatalf("batch %d: %d outputs, nnc predict %d, want %d", batch, len(got), len(want.Out), rows*3)
		}
		for i := range got {
			if float64(got[i]) != want.Out[i] {
				t.Fatalf("batch %d: output %d is %v, nnc predict's %v", batch, i, got[i], want.Out[i])
			}
		}
	}
}

// TestModelConcurrent predicts random runs of rows from many goroutines
// and requires each row's outputs to be those of the row alone.
func TestModelConcurrent(t *testing.T) {
	x, rows := irisRows(t)
	m := loadIris(t, &LoadOptions{Batch: 8, Instances: 3})
	alone := make([]float32, rows*3)
	for i := range rows {
		if _, err := m.PredictTo(context.Background(), Inputs{"x": x[i*4 : i*4+4]}, alone[i*3:i*3+3]); err != nil {
			t.Fatal(err)
		}
	}
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for g := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(g), 1))
			out := make([]float32, rows*3)
			for range 50 {
				lo := rng.IntN(rows)
				hi := lo + 1 + rng.IntN(rows-lo)
				n, err := m.PredictTo(context.Background(), Inputs{"x": x[lo*4 : hi*4]}, out)
				if err != nil {
					errs <- err
					return
				}
				for i := range n * 3 {
					if out[i] != alone[lo*3+i] {
						errs <- errors.New("a row's outputs depend on the rows predicted with it")
						return
					}
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}

func TestModelPredictToAllocs(t *testing.T) {
	x, rows := irisRows(t)
	m := loadIris(t, nil)
	in := Inputs{"x": x}
	out := make([]float32, rows*3)
	ctx := context.Background()
	allocs := testing.AllocsPerRun(50, func() {
		if _, err := m.PredictTo(ctx, in, out); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Errorf("PredictTo: %v allocations per call, want 0", allocs)
	}
}

func TestModelErrors(t *testing.T) {
	m := loadIris(t, nil)
	ctx := context.Background()
	for _, c := range []struct {
		in   Inputs
		want string
	}{
		{Inputs{}, "input x is missing"},
		{Inputs{"x": []float64{1, 2, 3, 4}}, "input x is f32, given float64 values"},
		{Inputs{"x": []float32{1, 2, 3}}, "input x: 3 values are not whole rows of 4"},
		{Inputs{"x": []int{1, 2, 3, 4}}, "input x: a []int, want a slice of f32"},
		{Inputs{"x": []float32{1, 2, 3, 4}, "y": []float32{1}}, "unknown input y"},
	} {
		if _, err := m.Predict(ctx, c.in); err == nil || err.Error() != c.want {
			t.Errorf("Predict(%v): %v, want %q", c.in, err, c.want)
		}
	}
	if _, err := m.PredictTo(ctx, Inputs{"x": []float32{1, 2, 3, 4}}, make([]float32, 2)); err == nil {
		t.Error("PredictTo into a short buffer: no error")
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := m.Predict(cancelled, Inputs{"x": []float32{1, 2, 3, 4}}); !errors.Is(err, context.Canceled) {
		t.Errorf("Predict with a cancelled context: %v", err)
	}
	if _, err := Load("examples/iris/iris.nn", &LoadOptions{Weights: "examples/seed.nn"}); err == nil {
		t.Error("Load with a model file as weights: no error")
	}
	if _, err := Load("no/such.nn", nil); err == nil {
		t.Error("Load of a missing file: no error")
	}
	dir := t.TempDir()
	fwd := filepath.Join(dir, "f.nn")
	os.WriteFile(fwd, []byte("model F {\n  fc = Linear(2, 2)\n  forward(x: f32[N, 2]) {\n    return fc(x)\n  }\n}\n"), 0o644)
	f, err := Load(fwd, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.TrainStep(ctx, Inputs{"x": []float32{1, 2}}, []int32{0}); !errors.Is(err, errNoTrain) {
		t.Errorf("TrainStep of a model without a train block: %v", err)
	}
}

// TestModelTrainStep trains the seed model step by step on one batch: the
// loss falls, and Predict sees the new weights.
func TestModelTrainStep(t *testing.T) {
	m, err := Load("examples/seed.nn", nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(1, 2))
	x := make([]float32, 20*10)
	for i := range x {
		x[i] = float32(rng.NormFloat64())
	}
	y := make([]int32, 20)
	for i := range y {
		y[i] = int32(i % 2)
	}
	before, err := m.Predict(ctx, Inputs{"x": x})
	if err != nil {
		t.Fatal(err)
	}
	first, err := m.TrainStep(ctx, Inputs{"x": x}, y)
	if err != nil {
		t.Fatal(err)
	}
	last := first
	for range 200 {
		if last, err = m.TrainStep(ctx, Inputs{"x": x}, y); err != nil {
			t.Fatal(err)
		}
	}
	if !(last < first) {
		t.Errorf("loss after 200 steps %v, first %v", last, first)
	}
	after, _ := m.Predict(ctx, Inputs{"x": x})
	if after.([]float32)[0] == before.([]float32)[0] {
		t.Error("Predict does not see the trained weights")
	}
	if _, err := m.TrainStep(ctx, Inputs{"x": x}, y[:3]); err == nil {
		t.Error("TrainStep with too few targets: no error")
	}
}
