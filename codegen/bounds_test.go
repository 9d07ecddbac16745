package codegen_test

import (
	"encoding/json"
	"path/filepath"
	"testing"

	"github.com/nnc-go/nnc/codegen"
)

const boundsHarness = `package main

import (
	"encoding/json"
	"fmt"
	"os"

	"gentest/model"
)

// try runs f and says whether it returned an error, returned nil, or
// panicked.
func try(f func() error) (r string) {
	defer func() {
		if p := recover(); p != nil {
			r = fmt.Sprint("panic: ", p)
		}
	}()
	if err := f(); err != nil {
		return "error"
	}
	return "ok"
}

func main() {
	m, err := model.New()
	if err != nil {
		panic(err)
	}
	n := 3
	x := make([]float32, n*model.InputSize)
	big := make([]float32, 10*model.TrainBatch*model.InputSize)
	y := []int32{0, 1, 0}
	out := make([]float32, n*model.OutputSize)
	step := func(x []float32, y []int32, n int) func() error {
		return func() error { _, _, err := m.TrainStep(x, y, n); return err }
	}
	eval := func(x []float32, y []int32, n int) func() error {
		return func() error { _, _, err := m.Evaluate(x, y, n); return err }
	}
	res := map[string]string{
		"Forward ok":             try(func() error { return m.Forward(out, x, n) }),
		"Forward oversized":      try(func() error { return m.Forward(out, big, n) }),
		"Forward short x":        try(func() error { return m.Forward(out, x[:1], n) }),
		"Forward nil x":          try(func() error { return m.Forward(out, nil, n) }),
		"Forward short out":      try(func() error { return m.Forward(out[:1], x, n) }),
		"Forward nil out":        try(func() error { return m.Forward(nil, x, n) }),
		"Forward negative n":     try(func() error { return m.Forward(out, x, -1) }),
		"TrainStep ok":           try(step(x, y, n)),
		"TrainStep oversized":    try(step(big, append(y, make([]int32, 100)...), n)),
		"TrainStep short x":      try(step(x[:1], y, n)),
		"TrainStep nil x":        try(step(nil, y, n)),
		"TrainStep short y":      try(step(x, y[:1], n)),
		"TrainStep nil y":        try(step(x, nil, n)),
		"TrainStep zero n":       try(step(x, y, 0)),
		"TrainStep too many":     try(step(big, make([]int32, 10*model.TrainBatch), model.TrainBatch+1)),
		"TrainStep bad target":   try(step(x, []int32{0, 7, 0}, n)),
		"Evaluate ok":            try(eval(x, y, n)),
		"Evaluate short x":       try(eval(x[:1], y, n)),
		"Evaluate nil x":         try(eval(nil, y, n)),
		"Evaluate short y":       try(eval(x, y[:1], n)),
		"Evaluate nil y":         try(eval(x, nil, n)),
		"Evaluate too many":      try(eval(big, make([]int32, 10*model.TrainBatch), model.EvalBatch+1)),
		"Decode nil":             try(func() error { return m.Decode(nil) }),
		"Decode garbage":         try(func() error { return m.Decode([]byte("not a checkpoint at all")) }),
		"Load missing":           try(func() error { return m.Load("/nonexistent/w.safetensors") }),
		"SetRNGState nil":        try(func() error { return m.SetRNGState(nil) }),
		"SetRNGState round trip": try(func() error { return m.SetRNGState(m.RNGState()) }),
	}
	json.NewEncoder(os.Stdout).Encode(res)
}
`

// TestGeneratedBounds calls every exported method of a generated package
// with short, nil and oversized slices and out-of-range sizes: each
// returns an error (or, oversized, works), and none panics.
func TestGeneratedBounds(t *testing.T) {
	if testing.Short() {
		t.Skip("builds Go programs")
	}
	p := compileFile(t, filepath.Join(repoRoot(t), "examples", "seed.nn"))
	src, err := codegen.Generate(p, codegen.Options{Package: "model", Source: "seed.nn", Train: true})
	if err != nil {
		t.Fatal(err)
	}
	out := goCmd(t, module(t, src, nil, boundsHarness), []string{"GOFLAGS=-mod=mod"}, "run", ".")
	var got map[string]string
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if len(got) != 27 {
		t.Fatalf("the harness ran %d cases, want 27: %v", len(got), got)
	}
	for name, r := range got {
		want := "error"
		switch name {
		case "Forward ok", "Forward oversized", "TrainStep ok", "TrainStep oversized", "Evaluate ok", "SetRNGState round trip":
			want = "ok"
		}
		if r != want {
			t.Errorf("%s: %s, want %s", name, r, want)
		}
	}
}
