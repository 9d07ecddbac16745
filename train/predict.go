package train

import (
	"bufio"
	"compress/gzip"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"strconv"
	"strings"

	"github.com/nnc-go/nnc/checkpoint"
	"github.com/nnc-go/nnc/data"
	"github.com/nnc-go/nnc/interp"
	"github.com/nnc-go/nnc/ir"
	"github.com/nnc-go/nnc/kernels"
)

// PredictOptions configure Predict.
type PredictOptions struct {
	// Weights names the safetensors checkpoint holding the model's
	// parameters and buffers.
	Weights string
	// File, when not nil, holds the weights instead of the file Weights
	// names (an ONNX model's initializers); Weights then names their
	// source in messages.
	File *checkpoint.File
	// Input names the inputs: a CSV file whose every column is a feature,
	// or an IDX file of images (possibly gzip-compressed).
	Input string
	// Loss is the loss the model was trained with, which says how to read
	// its outputs; NoLoss takes the one the checkpoint records, if any.
	Loss ir.Loss
}

// Predictions are the outputs of a model's forward pass for each input row.
type Predictions struct {
	// Loss says how the outputs read: class scores for CrossEntropy
	// (the prediction is the first highest score, its probabilities the
	// softmax), logits for BCEWithLogits (each predicts class 1 when
	// positive, with probability its sigmoid), values for anything else
	// (MSE, no loss known, or class scores of a single column).
	Loss ir.Loss
	// N is the number of rows, Width the number of outputs per row.
	N, Width int
	// Out holds the outputs, row-major: N*Width class scores, logits or
	// values.
	Out []float64
	// Data is what the checkpoint records about the training data: the
	// class names, if any, are Data.Classes.
	Data DataInfo
	// The answers, when the input held the training target column (by the
	// name the checkpoint records): Labels holds the class of each row for
	// TaskClasses, Targets N*Width values otherwise. Both are nil without.
	Labels  []int32
	Targets []float32
}

// HasAnswers reports whether the input held the target column.
func (p *Predictions) HasAnswers() bool { return p.Labels != nil || p.Targets != nil }

// Score returns the mean loss of the predictions against the answers, as
// the training loss computes it (cross-entropy of the softmax, binary
// cross-entropy of the logits, or the mean squared error over every
// output), and the accuracy: the share of rows whose predicted class is
// the answer (of outputs whose sign matches a 0/1 answer, for
// BCEWithLogits), NaN for values. Without answers both are NaN.
func (p *Predictions) Score() (loss, accuracy float64) {
	if !p.HasAnswers() || p.N == 0 {
		return math.NaN(), math.NaN()
	}
	right := 0
	switch {
	case p.Loss == ir.CrossEntropy && p.Labels != nil:
		var probs []float64
		for i := range p.N {
			k := int(p.Labels[i])
			if p.Class(i) == k {
				right++
			}
			probs = p.Probabilities(i, probs)
			loss -= math.Log(probs[k])
		}
		return loss / float64(p.N), float64(right) / float64(p.N)
	case p.Loss == ir.BCEWithLogits && p.Targets != nil:
		for j, x := range p.Out {
			y := float64(p.Targets[j])
			// max(x, 0) - x*y + log(1 + exp(-|x|)), as PyTorch computes it.
			loss += max(x, 0) - x*y + math.Log1p(math.Exp(-math.Abs(x)))
			if (x > 0) == (y > 0.5) {
				right++
			}
		}
		n := float64(len(p.Out))
		return loss / n, float64(right) / n
	case p.Targets != nil:
		for j, x := range p.Out {
			d := x - float64(p.Targets[j])
			loss += d * d
		}
		return loss / float64(len(p.Out)), math.NaN()
	}
	return math.NaN(), math.NaN()
}

// Row returns the outputs of row i.
func (p *Predictions) Row(i int) []float64 { return p.Out[i*p.Width : (i+1)*p.Width] }

// Class returns the class predicted for row i of CrossEntropy scores: the
// index of its first highest score (a NaN counts as highest), as
// torch.argmax and the training accuracy pick it.
func (p *Predictions) Class(i int) int {
	var c [1]int32
	kernels.Argmax(c[:], p.Row(i), 1, p.Width)
	return int(c[0])
}

// Label returns the name of class k, or "" when the checkpoint names none.
func (p *Predictions) Label(k int) string {
	if k >= 0 && k < len(p.Data.Classes) {
		return p.Data.Classes[k]
	}
	return ""
}

// Probabilities returns the probabilities of row i in dst (grown as
// needed): the softmax of the scores for CrossEntropy, the sigmoid of each
// logit for BCEWithLogits, and the outputs themselves otherwise.
func (p *Predictions) Probabilities(i int, dst []float64) []float64 {
	row := p.Row(i)
	dst = append(dst[:0], row...)
	switch p.Loss {
	case ir.CrossEntropy:
		m := math.Inf(-1)
		for _, v := range row {
			m = max(m, v)
		}
		s := 0.0
		for j, v := range row {
			dst[j] = math.Exp(v - m)
			s += dst[j]
		}
		for j := range dst {
			dst[j] /= s
		}
	case ir.BCEWithLogits:
		for j, v := range row {
			dst[j] = 1 / (1 + math.Exp(-v))
		}
	}
	return dst
}

// Predict runs the forward pass of p, whose Forward graph the passes have
// planned, with the weights of a checkpoint over every row of an input
// file. The model must have one input with the batch as its first
// dimension, and return the batch first too. A CSV input with a header is
// matched to the training CSV's feature columns by name when the
// checkpoint records them (its columns may come in any order, a missing or
// extra column is an error naming it), and by count otherwise; a first row
// of numbers alone is data, not a header.
func Predict(p *ir.Program, opt PredictOptions) (*Predictions, error) {
	g := p.Forward
	ins := g.Sources(ir.OpInput)
	out := g.Output("out")
	switch {
	case len(ins) != 1 || !ins[0].Type.Shape.HasBatch() || ins[0].Type.Shape[0] != ir.Batch:
		return nil, fmt.Errorf("predict needs a model with one input whose first dimension is the batch")
	case out == nil || out.Type.Shape.Rank() == 0 || out.Type.Shape[0] != ir.Batch:
		return nil, fmt.Errorf("predict needs a model whose output has the batch as its first dimension")
	case g.Plan == nil:
		return nil, fmt.Errorf("predict: graph %s has no memory plan", g.Name)
	}
	f := opt.File
	if f == nil {
		var err error
		if f, err = checkpoint.Read(opt.Weights); err != nil {
			return nil, err
		}
	}
	info, err := dataInfo(f.Metadata)
	if err != nil {
		return nil, fmt.Errorf("%s: %v", opt.Weights, err)
	}
	if opt.Loss != ir.NoLoss {
		info.Loss = opt.Loss
	}
	pr := &Predictions{Loss: info.Loss, Width: out.Type.Shape.Elems(), Data: info}
	if pr.Loss == ir.CrossEntropy && pr.Width < 2 {
		pr.Loss = ir.NoLoss
	}
	ds, err := loadInputs(opt.Input, ins[0].Type.Shape.Elems(), info, pr.Loss, pr.Width)
	if err != nil {
		return nil, err
	}
	if info.Norm != nil {
		// The features as the model was trained on them.
		if err := info.Norm.Apply(ds); err != nil {
			return nil, fmt.Errorf("%s: %v", opt.Weights, err)
		}
	}
	pr.N, pr.Labels, pr.Targets = ds.N, ds.Labels, ds.Targets
	if IsInt8(f) {
		// An int8 checkpoint runs the forward pass rewritten for it.
		if g, err = Int8Graph(g, f); err != nil {
			return nil, fmt.Errorf("%s: %v", opt.Weights, err)
		}
	}
	if ins[0].Type.DType == ir.F64 {
		pr.Out, err = forward[float64](g, f, opt.Weights, ds)
	} else {
		pr.Out, err = forward[float32](g, f, opt.Weights, ds)
	}
	if err != nil {
		return nil, err
	}
	return pr, nil
}

// forward runs g over the rows of ds, in order, with the tensors of f (read
// from path), and returns the outputs.
func forward[T kernels.Float](g *ir.Graph, f *checkpoint.File, path string, ds *data.Dataset) ([]float64, error) {
	store := interp.NewStore[T]()
	if err := store.Init(g, 0); err != nil {
		return nil, err
	}
	load := loadTensors[T]
	if IsInt8(f) {
		load = loadInt8[T]
	}
	if err := load(store, g, f, path); err != nil {
		return nil, err
	}
	m, err := interp.New(g, store, 0)
	if err != nil {
		return nil, err
	}
	width := g.Output("out").Type.Shape.Elems()
	y := m.OutputTensor("out")
	res := make([]float64, 0, ds.N*width)
	loader := data.NewLoader(ds, m.Batch(), false, 0)
	feed := newFeeder(machineSide(m), ds)
	for b := 0; b < loader.Batches(); b++ {
		n := feed.batch(loader, b)
		// The rows past n hold an earlier batch's: computed, not read.
		if err := m.Run(PredictRows(n, m.Batch())); err != nil {
			return nil, fmt.Errorf("%s: rows %d to %d: %w", ds.Name, b*m.Batch()+1, b*m.Batch()+n, err)
		}
		for _, v := range y[:n*width] {
			res = append(res, float64(v))
		}
	}
	return res, nil
}

// loadInputs reads the rows to predict on from path, for a model whose
// input takes features values per row and outputs width per row. A CSV
// file that holds the training target column, by the name info records,
// gives the answers too: class labels for CrossEntropy, values otherwise.
func loadInputs(path string, features int, info DataInfo, loss ir.Loss, width int) (*data.Dataset, error) {
	if isIDX(path) {
		ds, err := data.LoadIDXImages(path)
		if err != nil {
			return nil, err
		}
		if ds.Features != features {
			return nil, fmt.Errorf("%s holds images of %d values, the model's input takes %d", path, ds.Features, features)
		}
		return ds, nil
	}
	first, err := csvHeader(path)
	if err != nil {
		return nil, err
	}
	header := !allNumbers(first)
	var order []int // the file's column of each feature, when reordered
	opt := data.CSVOptions{NoTarget: true, Header: header, Features: len(first)}
	if header && info.Features != nil && len(info.Features) == features {
		cols := first
		if t := slices.Index(first, info.Target); info.Target != "" && t >= 0 {
			// The answers: read as the training data's target was.
			cols = slices.Delete(slices.Clone(first), t, t+1)
			opt = data.CSVOptions{Target: info.Target, Header: true, Features: len(cols), Loss: ir.MSE}
			switch loss {
			case ir.CrossEntropy:
				opt.Loss, opt.Classes = ir.CrossEntropy, width
			case ir.BCEWithLogits:
				opt.Loss = ir.BCEWithLogits
			}
		}
		if order, err = matchColumns(path, cols, info); err != nil {
			return nil, err
		}
	} else if len(first) != features {
		return nil, fmt.Errorf("%s: %s, the model's input takes %d", path, plural(len(first), "column"), features)
	}
	ds, err := data.LoadCSV(path, opt)
	if err != nil {
		return nil, err
	}
	if err := trainingClasses(ds, info); err != nil {
		return nil, err
	}
	if ds.Targets != nil && ds.TargetWidth != width {
		return nil, fmt.Errorf("%s: 1 target column, the model outputs %d values per row", path, width)
	}
	if order != nil {
		x := make([]float32, ds.N*features)
		for i := range ds.N {
			row := ds.Row(i)
			for k, j := range order {
				x[i*features+k] = row[j]
			}
		}
		ds.X, ds.Features = x, features
	}
	return ds, nil
}

// trainingClasses renumbers the labels of ds, whose target column held
// class names, after the names of the training classes, as the checkpoint
// records them; a name the training data did not have is an error.
func trainingClasses(ds *data.Dataset, info DataInfo) error {
	classes := info.Classes
	if ds.ClassNames == nil {
		return nil
	}
	if classes == nil {
		return fmt.Errorf("%s: target column %q holds names, but the checkpoint records no class names", ds.Name, info.Target)
	}
	ids := make([]int32, len(ds.ClassNames))
	for k, name := range ds.ClassNames {
		i := slices.Index(classes, name)
		if i < 0 {
			return fmt.Errorf("%s: class %q does not occur in the training data (its classes are %s)", ds.Name, name, strings.Join(classes, ", "))
		}
		ids[k] = int32(i)
	}
	for i, l := range ds.Labels {
		ds.Labels[i] = ids[l]
	}
	ds.ClassNames = classes
	return nil
}

// matchColumns returns the column of header that holds each of the
// training features, or nil when they come in the training order; a
// missing or extra column is an error naming it.
func matchColumns(path string, header []string, info DataInfo) ([]int, error) {
	var missing, extra []string
	order := make([]int, len(info.Features))
	for k, name := range info.Features {
		order[k] = slices.Index(header, name)
		if order[k] < 0 {
			missing = append(missing, name)
		}
	}
	for _, name := range header {
		if !slices.Contains(info.Features, name) {
			extra = append(extra, name)
		}
	}
	var msgs []string
	if len(missing) > 0 {
		msgs = append(msgs, "missing "+columns(missing))
	}
	if len(extra) > 0 {
		msgs = append(msgs, "extra "+columns(extra))
	}
	if len(msgs) == 0 && len(header) != len(info.Features) {
		msgs = append(msgs, fmt.Sprintf("%s for %d features: a column name is repeated", plural(len(header), "column"), len(info.Features)))
	}
	if len(msgs) > 0 {
		return nil, fmt.Errorf("%s: %s; the model was trained on %s", path, strings.Join(msgs, "; "), strings.Join(info.Features, ", "))
	}
	for k, j := range order {
		if j != k {
			return order, nil
		}
	}
	return nil, nil
}

// columns formats column names for a message: `column "a"` or
// `columns "a", "b"`.
func columns(names []string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = strconv.Quote(n)
	}
	if len(q) == 1 {
		return "column " + q[0]
	}
	return "columns " + strings.Join(q, ", ")
}

// plural formats a count of things: "1 column", "2 columns".
func plural(n int, thing string) string {
	if n == 1 {
		return "1 " + thing
	}
	return strconv.Itoa(n) + " " + thing + "s"
}

// allNumbers reports whether every field of rec is a number, which makes
// it a row of data rather than a header.
func allNumbers(rec []string) bool {
	for _, s := range rec {
		if _, err := strconv.ParseFloat(s, 64); err != nil {
			return false
		}
	}
	return true
}

// isIDX reports whether the file at path is an IDX file, plain or
// gzip-compressed: its first two bytes are zero, which no CSV file's are.
func isIDX(path string) bool {
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	br := bufio.NewReader(f)
	var r io.Reader = br
	if b, _ := br.Peek(2); len(b) == 2 && b[0] == 0x1f && b[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return false
		}
		defer zr.Close()
		r = zr
	}
	var magic [2]byte
	if _, err := io.ReadFull(r, magic[:]); err != nil {
		return false
	}
	return magic == [2]byte{0, 0}
}
