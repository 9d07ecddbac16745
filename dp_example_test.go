package nnc_test

import (
	"os"
	"testing"

	"github.com/nnc-go/nnc"
	"github.com/nnc-go/nnc/privacy"
)

// TestMNISTDPExampleBudget pins examples/mnist_dp.nn to the guarantee its
// comment and the README claim: the noise in the file, at its expected
// batch over MNIST's 60000 training images, spends at most epsilon 1.2 at
// delta 1e-5 over the planned epochs, so that `nnc run` without
// --target-epsilon does not spend more than the measured runs did.
func TestMNISTDPExampleBudget(t *testing.T) {
	const file = "examples/mnist_dp.nn"
	src, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	p, err := nnc.Compile(file, src, nnc.Options{})
	if err != nil {
		t.Fatal(err)
	}
	cfg := p.Train
	if cfg == nil || cfg.Privacy == nil {
		t.Fatalf("%s: no privacy = dp(...) in its train block", file)
	}
	const samples = 60000 // MNIST's training split
	q := float64(cfg.Batch) / samples
	steps := cfg.Epochs * ((samples + cfg.Batch - 1) / cfg.Batch)
	eps, _ := privacy.Epsilon(q, cfg.Privacy.Noise, steps, cfg.Privacy.Delta)
	if cfg.Privacy.Delta != 1e-5 || cfg.Epochs > 15 || !(eps <= 1.2) {
		t.Errorf("%s: noise %g, batch %d, %d epochs, delta %g spend epsilon %.4f; want at most 1.2 at delta 1e-5 within 15 epochs",
			file, cfg.Privacy.Noise, cfg.Batch, cfg.Epochs, cfg.Privacy.Delta, eps)
	}
}
