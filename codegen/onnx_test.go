package codegen_test

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nnc-go/nnc"
	"github.com/nnc-go/nnc/codegen"
	"github.com/nnc-go/nnc/npy"
)

// onnxHarness runs the generated model's Forward over an array and prints
// its outputs and the allocations per call as JSON.
const onnxHarness = `package main

import (
	"encoding/json"
	"os"
	"testing"

	"github.com/nnc-go/nnc/npy"
	"gentest/model"
)

func main() {
	m, err := model.New()
	if err != nil {
		panic(err)
	}
	a, err := npy.Read(os.Args[1])
	if err != nil {
		panic(err)
	}
	n := a.Shape[0]
	out := make([]float32, n*model.OutputSize)
	if err := m.Forward(out, a.F32, n); err != nil {
		panic(err)
	}
	allocs := testing.AllocsPerRun(10, func() { m.Forward(out, a.F32, n) })
	json.NewEncoder(os.Stdout).Encode(map[string]any{"out": out, "allocs": allocs})
}
`

// TestONNXGenerated compiles models PyTorch exported to ONNX into Go: the
// generated Forward gives PyTorch's outputs within 1e-4 with no
// allocation, and the package cross-compiles.
func TestONNXGenerated(t *testing.T) {
	if testing.Short() {
		t.Skip("builds Go programs")
	}
	for _, name := range []string{"mlp", "cnn"} {
		t.Run(name, func(t *testing.T) {
			dir := filepath.Join(repoRoot(t), "testdata", "onnx")
			file := filepath.Join(dir, name+".onnx")
			src, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			p, err := nnc.Compile(file, src, nnc.Options{Batch: 8, ForwardOnly: true})
			if err != nil {
				t.Fatal(err)
			}
			gen, err := codegen.Generate(p, codegen.Options{Package: "model", Source: name + ".onnx", Weights: true})
			if err != nil {
				t.Fatal(err)
			}
			mod := module(t, gen, p.Weights, onnxHarness)
			goCmd(t, mod, []string{"GOFLAGS=-mod=mod"}, "vet", "./model")
			out := goCmd(t, mod, []string{"GOFLAGS=-mod=mod"}, "run", ".", filepath.Join(dir, name+".in.npy"))
			var res struct {
				Out    []float64
				Allocs float64
			}
			if err := json.Unmarshal(out, &res); err != nil {
				t.Fatalf("%v: %s", err, out)
			}
			want, err := npy.Read(filepath.Join(dir, name+".out.npy"))
			if err != nil {
				t.Fatal(err)
			}
			if len(res.Out) != len(want.F32) {
				t.Fatalf("%d outputs, PyTorch %d", len(res.Out), len(want.F32))
			}
			for i, w := range want.F32 {
				if d := math.Abs(res.Out[i] - float64(w)); d > 1e-4 {
					t.Fatalf("output %d: %g, PyTorch %g", i, res.Out[i], w)
				}
			}
			if res.Allocs != 0 {
				t.Errorf("Forward allocates %v times per call", res.Allocs)
			}
			if name != "mlp" {
				return
			}
			for _, target := range []string{"linux/arm64", "js/wasm", "wasip1/wasm"} {
				goos, goarch, _ := strings.Cut(target, "/")
				goCmd(t, mod, []string{"GOFLAGS=-mod=mod", "CGO_ENABLED=0", "GOOS=" + goos, "GOARCH=" + goarch}, "build", "-o", os.DevNull, "./model")
			}
		})
	}
}
