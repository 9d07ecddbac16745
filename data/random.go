package data

import (
	"fmt"
	"math/rand/v2"

	"github.com/nnc-go/nnc/ir"
)

// maxElements bounds the size of a generated data set (4 GiB of float32),
// so that a mistyped sample count is an error rather than an out-of-memory
// crash.
const maxElements = 1 << 30

// randomStream is the second word of the PCG seed of Random. It keeps the
// data's stream apart from other streams a caller seeds with the same
// number (initialisation, shuffling, dropout).
const randomStream = 0x6e6e632d64617461 // "nnc-data"

// Random generates a data set of the given number of samples whose
// features are drawn from N(0, 1) by a PCG generator seeded with seed
// (math/rand/v2), so that equal arguments give equal data sets.
//
// For ir.CrossEntropy the labels are uniform in [0, classes). For ir.MSE
// and ir.BCEWithLogits, classes is instead the number of targets per sample
// (the width of the model's output), drawn from N(0, 1) for MSE and from
// {0, 1} with equal chance for BCEWithLogits. All features are drawn
// before the targets, so the features do not depend on loss or classes.
func Random(samples, features, classes int, loss ir.Loss, seed uint64) (*Dataset, error) {
	switch {
	case !loss.Valid():
		return nil, fmt.Errorf("random: unknown loss %v", loss)
	case samples < 1:
		return nil, fmt.Errorf("random: samples = %d, want at least 1", samples)
	case features < 1:
		return nil, fmt.Errorf("random: features = %d, want at least 1", features)
	case classes < 1 && loss == ir.CrossEntropy:
		return nil, fmt.Errorf("random: classes = %d, want at least 1", classes)
	case classes < 1:
		return nil, fmt.Errorf("random: %d targets per sample, want at least 1", classes)
	case features > maxElements/samples:
		return nil, fmt.Errorf("random: %d samples of %d features is too large", samples, features)
	case loss != ir.CrossEntropy && classes > maxElements/samples:
		return nil, fmt.Errorf("random: %d samples of %d targets is too large", samples, classes)
	}
	rng := rand.New(rand.NewPCG(seed, randomStream))
	ds := &Dataset{
		Name:     fmt.Sprintf("random(samples=%d)", samples),
		N:        samples,
		Features: features,
		X:        make([]float32, samples*features),
	}
	for i := range ds.X {
		ds.X[i] = float32(rng.NormFloat64())
	}
	switch loss {
	case ir.CrossEntropy:
		ds.Classes = classes
		ds.Labels = make([]int32, samples)
		for i := range ds.Labels {
			ds.Labels[i] = int32(rng.IntN(classes))
		}
	case ir.MSE:
		ds.TargetWidth = classes
		ds.Targets = make([]float32, samples*classes)
		for i := range ds.Targets {
			ds.Targets[i] = float32(rng.NormFloat64())
		}
	case ir.BCEWithLogits:
		ds.TargetWidth = classes
		ds.Targets = make([]float32, samples*classes)
		for i := range ds.Targets {
			ds.Targets[i] = float32(rng.IntN(2))
		}
	}
	return ds, nil
}
