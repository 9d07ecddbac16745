package main

import (
	"fmt"
	"math"

	"github.com/nnc-go/nnc"
	"github.com/nnc-go/nnc/ir"
	"github.com/nnc-go/nnc/train"
)

// targetEpsilon serves nnc run --target-epsilon E: it finds the noise
// multiplier σ with which the train block's privacy = dp(...) spends E
// over the planned epochs, says so on stderr, and compiles file again with
// it.
func (e *cmdEnv) targetEpsilon(file string, p *ir.Program, v *flagVals) (*ir.Program, int, bool) {
	if !(v.targetEps > 0) || math.IsInf(v.targetEps, 0) {
		fmt.Fprintf(e.stderr, "nnc run: --target-epsilon must be a positive number, got %v\n", v.targetEps)
		return nil, exitModel, false
	}
	if p.Train.Privacy == nil {
		fmt.Fprintf(e.stderr, "nnc run: --target-epsilon needs privacy = dp(...) in the train block of %s\n", p.Model)
		return nil, exitModel, false
	}
	epochs := -1
	if v.epSet {
		epochs = v.epochs
	}
	sigma, rate, steps, err := train.NoiseForEpsilon(p, v.targetEps, epochs)
	if err != nil {
		fmt.Fprintf(e.stderr, "nnc run: %v\n", err)
		return nil, exitRuntime, false
	}
	fmt.Fprintf(e.stderr, "nnc run: noise %.4g spends epsilon %g at delta %g over %d steps at sampling rate %.4g\n", sigma, v.targetEps, p.Train.Privacy.Delta, steps, rate)
	v.noise = sigma
	return e.compile(file, nnc.Options{Options: irOptions(v), LR: v.lr, TrainBatch: v.batch, Noise: sigma})
}
