// Package train runs the epoch loop of `nnc run`: it loads the data a train
// block names, initialises or loads the parameters, runs the compiled
// training step over shuffled mini-batches, reports the loss and accuracy
// of each epoch and the final evaluation, and saves checkpoints. It holds no
// op semantics: the step is an ir.Graph the back end executes.
//
// The files follow the jobs: train.go is the epoch loop (Run); engine.go
// the back ends it drives (the interpreter or generated Go); data.go and
// feed.go load the data sets (through the data package) and copy batches
// into the step's buffers; report.go prints the epoch lines, as text or
// JSON, and progress.go the progress bar; checkpoint.go saves and loads
// checkpoints, meta.go the data description they carry and resume.go the
// position of an interrupted run; predict.go runs a saved model on new
// inputs and plot.go draws the loss curves.
package train

import (
	"cmp"
	"errors"
	"fmt"
	"io"
	"math"
	"path/filepath"
	"sync/atomic"

	"github.com/nnc-go/nnc/data"
	"github.com/nnc-go/nnc/ir"
	"github.com/nnc-go/nnc/kernels"
	"github.com/nnc-go/nnc/nncrt"
	"github.com/nnc-go/nnc/privacy"
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
	// Epsilon is the ε of the (ε, δ)-differential privacy spent so far
	// under privacy = dp(...) (package privacy's accountant; +Inf without
	// noise), else 0.
	Epsilon float64
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
	if in := p.TrainGraph.Sources(ir.OpInput); len(in) != 1 {
		return nil, fmt.Errorf("a data source feeds one input, but the forward of %s takes %d: train it from Go (the generated Forward takes each)", p.Model, len(in))
	}
	epochs := cfg.Epochs
	if opt.Epochs != nil {
		epochs = *opt.Epochs
	}
	seed := cfg.Seed
	if opt.Seed != nil {
		seed = *opt.Seed
	}
	dir := filepath.Dir(p.File)
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
		if err := data.SameClasses(evalSet, trainSet); err != nil {
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
		if err := LoadCheckpoint[T](store, p.TrainGraph, opt.Init); err != nil {
			return nil, err
		}
	}
	var pos Position
	if opt.Resume != "" {
		if pos, err = resume(store, p.TrainGraph, opt.Resume, eng); err != nil {
			return nil, err
		}
	}
	pr := printer{out: opt.Out, json: opt.JSON, quiet: opt.Quiet, classify: cfg.Loss.Classification(), private: cfg.Privacy != nil}
	rep := &Report{Data: trainingInfo(cfg.Data, dir, cfg.Loss, trainSet)}
	rep.Data.Norm = norm
	pr.classes(trainSet.ClassNames)
	bar := newProgress(opt.Progress)
	loader := data.NewLoader(trainSet, cfg.Batch, cfg.Shuffle, seed)
	dp := cfg.Privacy
	rate := 0.0
	if dp != nil {
		// DP-SGD samples each step's batch by Poisson sampling at rate
		// batch/samples, over as many steps as fixed batches would take.
		rate = min(1, float64(cfg.Batch)/float64(trainSet.N))
		loader = data.NewPoissonLoader(trainSet, rate, loader.Batches(), eng.step.cap, seed)
	}
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
		seen := start * cfg.Batch // the rows predicted so far (Poisson batches vary)
		if e == pos.Epoch && pos.Seen > 0 {
			seen = pos.Seen
		}
		bar.start(e, epochs, trainSet.N)
		for b := start; b < loader.Batches(); b++ {
			if (opt.Stop != nil && opt.Stop.Load()) || (opt.StopAfter > 0 && steps == opt.StopAfter) {
				bar.clear()
				return rep, interrupt(eng, p, opt, rep.Data, Position{Epoch: e, Batch: b, LossSum: lossSum, Correct: correct, Seen: seen}, loader.Batches())
			}
			steps++
			n := feed.batch(loader, b)
			l, c, err := eng.step.run(n)
			switch {
			case errors.Is(err, nncrt.ErrNonFinite):
				bar.clear()
				return rep, fmt.Errorf("epoch %d, batch %d: training diverged: %v (the parameters keep their last finite values)", e, b+1, err)
			case err != nil:
				bar.clear()
				return rep, fmt.Errorf("epoch %d, batch %d: %w", e, b+1, err)
			case math.IsNaN(l) || math.IsInf(l, 0):
				bar.clear()
				return rep, fmt.Errorf("epoch %d, batch %d: training diverged: the loss is %v", e, b+1, l)
			}
			lossSum += l
			correct += c
			seen += n
			bar.step(n, lossSum/float64(b+1))
		}
		bar.clear()
		ep := Epoch{Epoch: e, Epochs: epochs, Loss: lossSum / float64(loader.Batches()), Accuracy: correct / float64(trainSet.N*predictions(trainSet))}
		if dp != nil {
			ep.Accuracy = correct / float64(max(seen, 1)*predictions(trainSet))
			ep.Epsilon, _ = privacy.Epsilon(rate, dp.Noise, e*loader.Batches(), dp.Delta)
		}
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
		if err := saveCheckpoint[T](store, p, opt.Source, rep.Data, opt.Save); err != nil {
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
			return Epoch{}, fmt.Errorf("evaluation, batch %d: %w", b+1, err)
		}
		lossSum += l * float64(n)
		correct += c
	}
	return Epoch{Loss: lossSum / float64(ds.N), Accuracy: correct / float64(ds.N*predictions(ds))}, nil
}

// predictions is the number of predictions a sample of ds makes: one,
// or one per position for a class target per position (text).
func predictions(ds *data.Dataset) int {
	if ds.TokenTargets != nil {
		return ds.Features
	}
	return 1
}
