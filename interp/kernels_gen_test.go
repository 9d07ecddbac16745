package interp

import (
	stdbytes "bytes"
	"os"
	"testing"

	"github.com/nnc-go/nnc/internal/kernelgen"
)

// TestKernelsGenCurrent: kernels_gen.go is what internal/kernelgen writes
// from package kernels today, so a kernel added without `go generate
// ./interp` fails here rather than when an op first calls it.
func TestKernelsGenCurrent(t *testing.T) {
	ks, err := kernelgen.Scan("../kernels")
	if err != nil {
		t.Fatal(err)
	}
	if len(ks) < 60 {
		t.Fatalf("found %d kernels in package kernels", len(ks))
	}
	want, err := kernelgen.Generate(ks)
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile("kernels_gen.go")
	if err != nil {
		t.Fatal(err)
	}
	if !stdbytes.Equal(got, want) {
		t.Fatal("kernels_gen.go is stale: run go generate ./interp")
	}
}

// TestBindRefuses: a lowering that names no kernel, or gives operands
// that do not fit its parameters, is an error when the graph is prepared.
// (That every op's lowering binds and runs is train's TestOpCoverage with
// TestParityGo and TestBackendsAgree.)
func TestBindRefuses(t *testing.T) {
	if _, err := bindKernel[float32]("NoSuchKernel", nil, nil); err == nil || err.Error() != "no kernel NoSuchKernel" {
		t.Errorf("unknown kernel: %v", err)
	}
	if _, err := bindKernel[float32]("Relu", []operand[float32]{{}}, nil); err == nil || err.Error() != "kernel Relu takes 2 arguments, the lowering gives 1" {
		t.Errorf("wrong arity: %v", err)
	}
	ops := []operand[float32]{{kind: 0, f: []float32{1}}, {kind: 3}}
	if _, err := bindKernel[float32]("Relu", ops, nil); err == nil || err.Error() != "kernel Relu: argument 2 does not fit its parameter" {
		t.Errorf("wrong operand: %v", err)
	}
}
