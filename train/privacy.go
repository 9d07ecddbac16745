package train

import (
	"fmt"
	"path/filepath"

	"github.com/nnc-go/nnc/ir"
	"github.com/nnc-go/nnc/privacy"
)

// NoiseForEpsilon returns the noise multiplier σ with which DP-SGD per p's
// train block (privacy = dp(...)) spends at most target ε, at its δ, over
// epochs epochs (the train block's when epochs < 0): the sampling rate
// batch/samples and the steps come from the training data, which it loads.
// It also returns the rate and the number of steps.
func NoiseForEpsilon(p *ir.Program, target float64, epochs int) (sigma, rate float64, steps int, err error) {
	cfg := p.Train
	if cfg == nil || cfg.Privacy == nil {
		return 0, 0, 0, fmt.Errorf("--target-epsilon needs privacy = dp(...) in the train block of %s", p.Model)
	}
	if epochs < 0 {
		epochs = cfg.Epochs
	}
	ds, err := Load(cfg.Data, filepath.Dir(p.File), cfg.Loss, ShapeOf(p))
	if err != nil {
		return 0, 0, 0, err
	}
	rate = min(1, float64(cfg.Batch)/float64(ds.N))
	steps = epochs * ((ds.N + cfg.Batch - 1) / cfg.Batch)
	if steps == 0 {
		return 0, 0, 0, fmt.Errorf("--target-epsilon needs at least one epoch")
	}
	sigma, err = privacy.NoiseFor(target, rate, steps, cfg.Privacy.Delta)
	if err != nil {
		return 0, 0, 0, fmt.Errorf("--target-epsilon: %v", err)
	}
	return sigma, rate, steps, nil
}
