package codegen_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nnc-go/nnc"
	"github.com/nnc-go/nnc/checkpoint"
	"github.com/nnc-go/nnc/codegen"
	"github.com/nnc-go/nnc/train"
)

const normModel = `model Wide {
    fc1 = Linear(3, 8)
    fc2 = Linear(8, 2)
    forward(x: f32[N, 3]) {
        return fc2(relu(fc1(x)))
    }
}

train Wide {
    data      = csv("wide.csv", target = "y", normalize = true)
    loss      = cross_entropy
    optimizer = SGD(lr = 0.1)
    epochs    = 5
    batch     = 4
}
`

// A feature near 55,000, one near 1 and a constant one.
const normCSV = `income,ratio,one,y
52000,0.5,1,0
61000,1.5,1,1
48000,0.25,1,0
57500,2.0,1,1
55000,0.75,1,0
66000,1.25,1,1
50500,1.0,1,0
59000,0.5,1,1
`

// normHarness prints the outputs of the generated Forward for the rows of
// a CSV file of raw features, whether x was left as it was, and the
// allocations per call.
const normHarness = `package main

import (
	"encoding/json"
	"os"
	"slices"
	"testing"

	"github.com/nnc-go/nnc/data"
	"gentest/model"
)

func main() {
	m, err := model.New()
	if err != nil {
		panic(err)
	}
	ds, err := data.LoadCSV(os.Args[1], data.CSVOptions{NoTarget: true, Header: true})
	if err != nil {
		panic(err)
	}
	x := slices.Clone(ds.X)
	out := make([]float32, ds.N*model.OutputSize)
	if err := m.Forward(out, x, ds.N); err != nil {
		panic(err)
	}
	var res struct {
		Forward   []float64
		Unchanged bool
		Allocs    float64
	}
	for _, v := range out {
		res.Forward = append(res.Forward, float64(v))
	}
	res.Unchanged = slices.Equal(x, ds.X)
	res.Allocs = testing.AllocsPerRun(5, func() { m.Forward(out, x, ds.N) })
	json.NewEncoder(os.Stdout).Encode(res)
}
`

// TestGeneratedStandardizes trains a model on standardised features,
// generates its package with the checkpoint's statistics and weights, and
// requires Forward on the raw features to give exactly what nnc predict
// gives (which standardises them too), without changing its input or
// allocating; a model trained without normalize generates no scaling.
func TestGeneratedStandardizes(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a Go program")
	}
	dir := t.TempDir()
	file := filepath.Join(dir, "wide.nn")
	for name, s := range map[string]string{file: normModel, filepath.Join(dir, "wide.csv"): normCSV} {
		if err := os.WriteFile(name, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	ckpt := filepath.Join(dir, "wide.safetensors")
	p, err := nnc.Compile(file, []byte(normModel), nnc.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := train.Run(p, train.Options{Source: []byte(normModel), Save: ckpt}); err != nil {
		t.Fatal(err)
	}
	f, err := checkpoint.Read(ckpt)
	if err != nil {
		t.Fatal(err)
	}
	info, err := train.ReadDataInfo(f.Metadata)
	if err != nil || info.Norm == nil {
		t.Fatalf("the checkpoint records no normalisation: %v", err)
	}
	weights, err := checkpoint.Encode(f)
	if err != nil {
		t.Fatal(err)
	}

	// The forward pass alone, planned for predict's batch.
	fp, err := nnc.Compile(file, []byte(normModel), nnc.Options{ForwardOnly: true, Batch: 4})
	if err != nil {
		t.Fatal(err)
	}
	src, err := codegen.Generate(fp, codegen.Options{Package: "model", Source: "wide.nn", Weights: true, Mean: info.Norm.Mean, Std: info.Norm.Std})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(src), "m.standardize(x[") {
		t.Fatal("Forward does not standardise")
	}
	raw := filepath.Join(dir, "raw.csv")
	var rows []string
	for _, line := range strings.Split(strings.TrimSpace(normCSV), "\n") {
		rows = append(rows, line[:strings.LastIndexByte(line, ',')])
	}
	if err := os.WriteFile(raw, []byte(strings.Join(rows, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	mod := module(t, src, weights, normHarness)
	out := goCmd(t, mod, []string{"GOFLAGS=-mod=mod"}, "run", ".", raw)
	var got struct {
		Forward   []float64
		Unchanged bool
		Allocs    float64
	}
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("harness output: %v\n%s", err, out)
	}
	want, err := train.Predict(fp, train.PredictOptions{Weights: ckpt, Input: raw})
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Forward) != len(want.Out) {
		t.Fatalf("%d outputs, predict gives %d", len(got.Forward), len(want.Out))
	}
	for i := range want.Out {
		if got.Forward[i] != want.Out[i] {
			t.Fatalf("output %d: generated %v, nnc predict %v", i, got.Forward[i], want.Out[i])
		}
	}
	if !got.Unchanged || got.Allocs != 0 {
		t.Errorf("Forward changed its input: %v; allocations per call: %v", !got.Unchanged, got.Allocs)
	}

	plain, err := codegen.Generate(fp, codegen.Options{Package: "model", Source: "wide.nn"})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(plain), "standardize") || strings.Contains(string(plain), "featureMean") {
		t.Error("a model without statistics generates scaling")
	}
	for _, bad := range []codegen.Options{
		{Package: "model", Mean: []float64{1, 2}, Std: []float64{1, 2}},
		{Package: "model", Mean: []float64{1, 2, 3}, Std: []float64{1, 0, 1}},
	} {
		if _, err := codegen.Generate(fp, bad); err == nil || !strings.HasPrefix(err.Error(), "codegen: normalisation of ") {
			t.Errorf("mean %v std %v: got %v", bad.Mean, bad.Std, err)
		}
	}
}
