// Package data provides the training data sources of nnc (random samples,
// CSV files and IDX files such as MNIST) and the Loader that cuts a data set
// into shuffled mini-batches.
//
// The package knows nothing about models. A caller that has a model at hand
// passes what the data must agree with: the number of features per sample
// (the element count of the model's input shape, however it is shaped), the
// number of classes, and the loss the targets are for (ir.Loss: class
// indices for CrossEntropy, float values for MSE, values in [0, 1] for
// BCEWithLogits). Every source returns a Dataset: one contiguous
// row-major float32 buffer of features plus either class labels or float
// targets, so that a batch is a handful of copy calls and no allocation.
// Text (LoadText) gives int64 token ids instead, with a class target per
// position.
//
// Errors about a file's contents name the file as it was given and, where
// there is one, the line: "iris.csv:17: column "sepal_width": "abc" is not a
// number". Errors from the operating system (a missing file) are returned as
// they are, so errors.Is(err, fs.ErrNotExist) holds.
package data

// Dataset holds N samples compactly. Sample i's features are
// X[i*Features : (i+1)*Features]; its target is Labels[i] when the data set
// has class targets, or Targets[i*TargetWidth : (i+1)*TargetWidth] when it has
// float targets. A data set loaded without targets has neither.
type Dataset struct {
	// Name describes the source for messages, such as "random(samples=100)"
	// or "iris.csv".
	Name string
	// N is the number of samples.
	N int
	// Features is the number of feature values per sample.
	Features int
	// X holds the features of all samples, row-major, N*Features values.
	X []float32
	// Pixels, when not nil, holds the features of IDX images instead of X
	// (which is then nil): N*Features bytes, each feature byte/255. Kept as
	// bytes, MNIST takes 47 MB rather than 188 MB; batches are converted as
	// they are copied out.
	Pixels []uint8
	// Labels holds the class index of each sample (CrossEntropy targets): N
	// values in [0, Classes). It is nil for float targets.
	Labels []int32
	// Targets holds the float targets (MSE or BCEWithLogits targets),
	// N*TargetWidth values. It is nil for class targets.
	Targets []float32
	// TargetWidth is the number of float targets per sample; 0 for class
	// targets.
	TargetWidth int
	// Classes is the number of classes for class targets; 0 for float
	// targets.
	Classes int
	// ClassNames holds, for a CSV target column of names, the names in
	// class order (ClassNames[k] is class k). It is nil when the labels were
	// numbers. It may be shorter than Classes when the caller asked for more
	// classes than the file names.
	ClassNames []string

	// Tokens, when not nil, holds integer features instead of X (which is
	// then nil), for a model whose input is i64: N*Features token ids, as
	// text files give (LoadText).
	Tokens []int64
	// TokenTargets, when not nil, holds one class index per input position
	// instead of one per sample (Labels is then nil): sample i's targets
	// are TokenTargets[i*Features : (i+1)*Features], in [0, Classes). For
	// text, each position's target is the next character.
	TokenTargets []int64
	// Vocab holds, for text, the characters in id order: Vocab[k] has id k.
	Vocab []rune
}

// Row returns the features of sample i: a slice of X's memory, or for a
// data set held as Pixels a new slice. It panics if i is out of range or
// the data set holds Tokens.
func (d *Dataset) Row(i int) []float32 {
	if d.Tokens != nil {
		panic("data: Dataset.Row: " + d.Name + " holds token ids, not float features")
	}
	if d.Pixels != nil {
		row := make([]float32, d.Features)
		for j, b := range d.Pixels[i*d.Features : (i+1)*d.Features] {
			row[j] = pixelValue[b]
		}
		return row
	}
	return d.X[i*d.Features : (i+1)*d.Features : (i+1)*d.Features]
}

// pixelValue maps a byte of an IDX image to its feature, byte/255.
var pixelValue = func() (t [256]float32) {
	for i := range t {
		t[i] = float32(i) / 255
	}
	return t
}()
