package nnc

import (
	"context"
	"fmt"
	"io"
	"sync/atomic"

	"github.com/nnc-go/nnc/interp"
	"github.com/nnc-go/nnc/ir"
	"github.com/nnc-go/nnc/kernels"
	"github.com/nnc-go/nnc/train"
)

// TrainOptions configure Train. The zero value trains for the train
// block's epochs and prints nothing.
type TrainOptions struct {
	// Epochs, when > 0, replaces the train block's.
	Epochs int
	// Out receives nnc run's epoch and evaluation lines (JSON objects with
	// JSON); nil prints nothing.
	Out  io.Writer
	JSON bool
	// Save, when set, names the checkpoint written after training.
	Save string
}

// TrainReport is what a training run measured: the epochs' mean loss and
// accuracy, and the final evaluation (on the test set when the train
// block has one).
type TrainReport = train.Report

// trainer is the training side of a model: its program compiled with the
// train block, and the interpreters of its training step and evaluation,
// which share the model's weights.
type trainer struct {
	prog *ir.Program
	run  func(ctx context.Context, opt *TrainOptions) (*TrainReport, error)
	step func(in Inputs, targets any, rows int) (float64, error)
}

// Train trains the model as nnc run does, per its file's train block
// (data, loss, optimizer, epochs, batch, seed), from its current weights;
// Predict then uses the trained weights. Cancelling ctx stops training at
// the next step (the weights keep what that step made). Forward passes
// wait while it trains.
func (m *Model) Train(ctx context.Context, opt *TrainOptions) (*TrainReport, error) {
	if opt == nil {
		opt = &TrainOptions{}
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	t, err := m.trainerLocked()
	if err != nil {
		return nil, err
	}
	return t.run(ctx, opt)
}

// TrainStep runs one training step (forward, backward, optimizer update)
// on the rows of in against targets (class indices as []int32 for
// cross_entropy, []int64 per position for token models, float values of
// the model's type for mse and bce_with_logits) and returns the batch's
// mean loss. The rows must fit the train block's batch.
func (m *Model) TrainStep(ctx context.Context, in Inputs, targets any) (float64, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	rows, err := m.Rows(in)
	if err != nil {
		return 0, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	t, err := m.trainerLocked()
	if err != nil {
		return 0, err
	}
	return t.step(in, targets, rows)
}

func (m *Model) trainerLocked() (*trainer, error) {
	if m.train != nil {
		return m.train, nil
	}
	var t *trainer
	var err error
	if m.im64 != nil {
		t, err = m.im64.trainer(m)
	} else {
		t, err = m.im32.trainer(m)
	}
	if err != nil {
		return nil, err
	}
	m.train = t
	return t, nil
}

func (im *impl[T]) trainer(m *Model) (*trainer, error) {
	if m.int8 != nil {
		return nil, fmt.Errorf("model %s: its weights are an int8 checkpoint, which runs the forward pass only: train the float model and quantize it again", m.prog.Model)
	}
	p, err := Compile(m.file, []byte(m.src), Options{Options: m.bopt})
	if err != nil {
		return nil, err
	}
	if p.Train == nil {
		return nil, fmt.Errorf("model %s: %w", p.Model, errNoTrain)
	}
	seed := p.Train.Seed
	if err := im.store.Init(p.TrainGraph, seed); err != nil {
		return nil, err
	}
	step, err := interp.New(p.TrainGraph, im.store, seed)
	if err != nil {
		return nil, err
	}
	eval, err := interp.New(p.EvalGraph, im.store, seed)
	if err != nil {
		return nil, err
	}
	c := &train.Compiled[T]{
		TrainStep:   func(b *train.Batch[T], n int) (float64, int, error) { return runBatch(step, b, n) },
		Evaluate:    func(b *train.Batch[T], n int) (float64, int, error) { return runBatch(eval, b, n) },
		TrainBatch:  step.Batch(),
		EvalBatch:   eval.Batch(),
		RNGState:    step.RNGState,
		SetRNGState: step.SetRNGState,
		State: func() (map[string][]T, map[string][]int64, map[string][]int) {
			shapes := map[string][]int{}
			for k, s := range im.store.Shape {
				shapes[k] = s
			}
			return im.store.F, im.store.I64, shapes
		},
	}
	t := &trainer{prog: p}
	t.run = func(ctx context.Context, opt *TrainOptions) (*TrainReport, error) {
		var stop atomic.Bool
		done := make(chan struct{})
		defer close(done)
		go func() {
			select {
			case <-ctx.Done():
				stop.Store(true)
			case <-done:
			}
		}()
		o := train.Options{Source: []byte(m.src), Out: opt.Out, JSON: opt.JSON, Save: opt.Save, Stop: &stop}
		if opt.Out == nil {
			o.Out = io.Discard
		}
		if opt.Epochs > 0 {
			o.Epochs = &opt.Epochs
		}
		rep, err := train.RunCompiled(p, c, o)
		if err == nil {
			m.info = rep.Data
		}
		if stop.Load() && ctx.Err() != nil {
			return rep, ctx.Err()
		}
		return rep, err
	}
	t.step = func(in Inputs, targets any, rows int) (float64, error) {
		if rows < 1 || rows > step.Batch() {
			return 0, fmt.Errorf("%d rows, a training step takes 1 to %d", rows, step.Batch())
		}
		ins := step.InputTensors()
		for i, ti := range m.in {
			switch x := in[ti.Name].(type) {
			case []float32:
				copyFloats(ins[i].F, x, nil, 0)
			case []float64:
				copyFloats(ins[i].F, x, nil, 0)
			case []int64:
				copy(ins[i].I64, x)
			}
		}
		tg, ok := step.Target()
		if !ok {
			return 0, fmt.Errorf("the training step has no targets")
		}
		per := tg.Type.Shape.Size(1)
		var n int
		switch y := targets.(type) {
		case []int32:
			n = copy(tg.I32, y)
			if tg.I32 == nil {
				return 0, fmt.Errorf("targets: int32 class indices, the loss takes %s", tg.Type.DType)
			}
		case []int64:
			n = copy(tg.I64, y)
			if tg.I64 == nil {
				return 0, fmt.Errorf("targets: int64 ids, the loss takes %s", tg.Type.DType)
			}
		case []float32:
			if tg.F == nil {
				return 0, fmt.Errorf("targets: float values, the loss takes %s", tg.Type.DType)
			}
			copyFloats(tg.F, y, nil, 0)
			n = len(y)
		case []float64:
			if tg.F == nil {
				return 0, fmt.Errorf("targets: float values, the loss takes %s", tg.Type.DType)
			}
			copyFloats(tg.F, y, nil, 0)
			n = len(y)
		default:
			return 0, fmt.Errorf("targets: a %T, want a slice", targets)
		}
		if n != rows*per {
			return 0, fmt.Errorf("targets: %d values for %d rows of %d", n, rows, per)
		}
		if err := step.Run(rows); err != nil {
			return 0, err
		}
		loss, _ := step.Output("loss")
		return loss, nil
	}
	return t, nil
}

// runBatch copies a batch of the training loop into m's inputs and
// targets, runs it and returns the mean loss and how many it got right.
func runBatch[T kernels.Float](m *interp.Machine[T], b *train.Batch[T], n int) (float64, int, error) {
	in := m.InputTensors()[0]
	if in.I64 != nil {
		copy(in.I64, b.IDs)
	} else {
		copy(in.F, b.X)
	}
	if tg, ok := m.Target(); ok {
		switch {
		case tg.I32 != nil:
			copy(tg.I32, b.Labels)
		case tg.I64 != nil:
			copy(tg.I64, b.Tokens)
		default:
			copy(tg.F, b.Targets)
		}
	}
	if err := m.Run(n); err != nil {
		return 0, 0, err
	}
	loss, _ := m.Output("loss")
	correct, _ := m.Output("correct")
	return loss, int(correct), nil
}
