package train

import (
	"fmt"
	"io"
	"math"
	"strconv"

	"github.com/nnc-go/nnc/checkpoint"
	"github.com/nnc-go/nnc/data"
	"github.com/nnc-go/nnc/ir"
)

// standardize applies csv(..., normalize = true) to the training data and
// to the data evaluated (the test set, or the training data itself): each
// feature is scaled by the mean and standard deviation of the training
// data, or by those a checkpoint the run starts from records (its weights
// were trained on features scaled so; path "" for none). It returns the
// statistics, nil when src does not normalise.
func standardize(src *ir.DataSource, trainSet, evalSet *data.Dataset, path string) (*data.Standardization, error) {
	if src == nil || !src.Normalize {
		return nil, nil
	}
	var norm *data.Standardization
	if path != "" {
		f, err := checkpoint.Read(path)
		if err != nil {
			return nil, err
		}
		info, err := dataInfo(f.Metadata)
		if err != nil {
			return nil, fmt.Errorf("%s: %v", path, err)
		}
		if norm = info.Norm; norm != nil {
			if err := norm.Check(trainSet.Features); err != nil {
				return nil, fmt.Errorf("%s: %v", path, err)
			}
		}
	}
	if norm == nil {
		norm = data.Standardize(trainSet)
	}
	if err := norm.Apply(trainSet); err != nil {
		return nil, err
	}
	if evalSet != trainSet {
		if err := norm.Apply(evalSet); err != nil {
			return nil, err
		}
	}
	return norm, nil
}

// Training that has learned nothing by epoch stuckEpoch is worth a
// warning: a classification loss at or above log(K) is what guessing among
// K classes scores (and what a model scoring every class alike starts
// from). A feature whose magnitude reaches largeFeature, unscaled, is the
// usual cause.
const (
	stuckEpoch   = 3
	largeFeature = 100
)

// warnStuck writes one line to w after epoch stuckEpoch of a
// classification whose loss is still at or above log(K), naming the
// largest unscaled feature and suggesting normalize = true when one is
// large. Random data, whose labels are noise, gets no warning.
func warnStuck(w io.Writer, p *ir.Program, ep Epoch, ds *data.Dataset, info DataInfo) {
	cfg := p.Train
	if w == nil || ep.Epoch != stuckEpoch || cfg.Data == nil || cfg.Data.Kind == "random" {
		return
	}
	k := 2 // bce_with_logits: each output is a choice of two
	switch cfg.Loss {
	case ir.CrossEntropy:
		k = ShapeOf(p).outputs
	case ir.BCEWithLogits:
	default:
		return
	}
	chance := math.Log(float64(k))
	if !(ep.Loss >= chance) { // a NaN loss stops training elsewhere
		return
	}
	msg := fmt.Sprintf("%s: warning: after %d epochs the loss %.4f is still at or above log(%d) = %.4f, what guessing scores", cfg.Data.Pos, ep.Epoch, ep.Loss, k, chance)
	if j, big := largestFeature(ds); info.Norm == nil && big >= largeFeature {
		name := "feature " + strconv.Itoa(j+1)
		if j < len(info.Features) {
			name = "feature " + strconv.Quote(info.Features[j])
		}
		msg += fmt.Sprintf("; %s reaches %g: standardise the features with csv(..., normalize = true)", name, big)
	}
	fmt.Fprintln(w, msg)
}

// largestFeature returns the feature of ds with the largest magnitude, and
// that magnitude.
func largestFeature(ds *data.Dataset) (feature int, magnitude float64) {
	if ds.Pixels != nil {
		return 0, 1 // bytes scaled to [0, 1]
	}
	for i, x := range ds.X {
		if a := math.Abs(float64(x)); a > magnitude {
			feature, magnitude = i%ds.Features, a
		}
	}
	return feature, magnitude
}
