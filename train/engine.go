package train

import (
	"fmt"
	"math"

	"github.com/nnc-go/nnc/interp"
	"github.com/nnc-go/nnc/ir"
	"github.com/nnc-go/nnc/kernels"
	"github.com/nnc-go/nnc/nncrt"
)

// engine is what the training loop runs: a training step and an
// evaluation, each with the buffers its batches are written to, over the
// model's tensors. The interpreter and the generated Go code are engines.
type engine[T kernels.Float] struct {
	step, eval *side[T]
	store      nncrt.Tensors[T]
	rng        rngState // the training step's dropout generator, when it can be saved
}

// rngState saves and restores a random generator.
type rngState interface {
	state() []byte
	setState([]byte) error
}

type machineRNG[T kernels.Float] struct{ m *interp.Machine[T] }

func (r machineRNG[T]) state() []byte           { return r.m.RNGState() }
func (r machineRNG[T]) setState(b []byte) error { return r.m.SetRNGState(b) }

// Batch holds the buffers a step reads its batch from, sized for its
// largest batch, row-major: the input (X for a float input, IDs for token
// ids) and the targets (Labels for class indices, Tokens for a class per
// position, Targets for float values). The fields the model does not take
// are nil.
type Batch[T kernels.Float] struct {
	X       []T
	IDs     []int64
	Labels  []int32
	Tokens  []int64
	Targets []T
}

// side is one compiled computation: its batch buffers, sized for cap rows,
// and run, which computes a batch of n rows and returns its mean loss and
// how many rows (or positions) it predicted right.
type side[T kernels.Float] struct {
	b   Batch[T]
	cap int
	run func(n int) (loss, correct float64, err error)
}

func machineSide[T kernels.Float](m *interp.Machine[T]) *side[T] {
	s := &side[T]{cap: m.Batch()}
	in := m.InputTensors()[0]
	s.b.X, s.b.IDs = in.F, in.I64
	if y, ok := m.Target(); ok {
		s.b.Labels, s.b.Tokens, s.b.Targets = y.I32, y.I64, y.F
	}
	s.run = func(n int) (float64, float64, error) {
		if err := m.Run(n); err != nil {
			l, _ := m.Output("loss")
			return l, 0, err
		}
		l, _ := m.Output("loss")
		c, _ := m.Output("correct")
		return l, c, nil
	}
	return s
}

func interpEngine[T kernels.Float](p *ir.Program, seed uint64) (*engine[T], error) {
	store := interp.NewStore[T]()
	if err := store.Init(p.TrainGraph, seed); err != nil {
		return nil, err
	}
	step, err := interp.New(p.TrainGraph, store, seed)
	if err != nil {
		return nil, err
	}
	eval, err := interp.New(p.EvalGraph, store, seed)
	if err != nil {
		return nil, err
	}
	return &engine[T]{step: machineSide(step), eval: machineSide(eval), store: store, rng: machineRNG[T]{step}}, nil
}

// Compiled is a model that `nnc build --train` compiled to Go, seen
// through functions so that this package need not know its type: the
// program `nnc run --backend go` builds fills it in from the generated
// package.
type Compiled[T kernels.Float] struct {
	// TrainStep and Evaluate take a batch of n rows from the buffers of
	// b that the model's input and targets use, as the generated methods
	// do.
	TrainStep func(b *Batch[T], n int) (loss float64, correct int, err error)
	Evaluate  func(b *Batch[T], n int) (loss float64, correct int, err error)
	// TrainBatch and EvalBatch are the generated constants.
	TrainBatch, EvalBatch int
	// State returns the model's tensors (the generated State method).
	State func() (map[string][]T, map[string][]int64, map[string][]int)
	// RNGState and SetRNGState save and restore dropout's generator (the
	// generated methods), for checkpoints of interrupted runs.
	RNGState    func() []byte
	SetRNGState func([]byte) error
}

type compiledRNG struct {
	get func() []byte
	set func([]byte) error
}

func (r compiledRNG) state() []byte           { return r.get() }
func (r compiledRNG) setState(b []byte) error { return r.set(b) }

// RunCompiled trains p's entry model as Run does, with the training step
// and the evaluation of generated code instead of the interpreter: the
// same loop, lines and checkpoints.
func RunCompiled[T kernels.Float](p *ir.Program, c *Compiled[T], opt Options) (*Report, error) {
	if p.Train == nil {
		return nil, fmt.Errorf("model %s has no train block", p.Model)
	}
	opt.compiled = c
	return run[T](p, opt)
}

func compiledEngine[T kernels.Float](p *ir.Program, compiled any) (*engine[T], error) {
	c, ok := compiled.(*Compiled[T])
	if !ok {
		return nil, fmt.Errorf("compiled model of element type %T, the model's is %T", compiled, *new(T))
	}
	f, i64, _ := c.State()
	store := nncrt.MapTensors[T]{F: f, I64: i64}
	sh := ShapeOf(p)
	in := p.TrainGraph.Sources(ir.OpInput)[0]
	var target *ir.Value
	if ts := p.TrainGraph.Sources(ir.OpTarget); len(ts) == 1 {
		target = ts[0]
	}
	side := func(rows int, call func(b *Batch[T], n int) (float64, int, error)) *side[T] {
		s := &side[T]{cap: rows}
		if in.Type.DType == ir.I64 {
			s.b.IDs = make([]int64, rows*sh.features)
		} else {
			s.b.X = make([]T, rows*sh.features)
		}
		if target != nil {
			per := target.Type.Shape.Size(1)
			switch target.Type.DType {
			case ir.I32:
				s.b.Labels = make([]int32, rows*per)
			case ir.I64:
				s.b.Tokens = make([]int64, rows*per)
			default:
				s.b.Targets = make([]T, rows*per)
			}
		}
		s.run = func(n int) (float64, float64, error) {
			l, c, err := call(&s.b, n)
			if err != nil && (math.IsNaN(l) || math.IsInf(l, 0)) {
				err = fmt.Errorf("the loss is %w", nncrt.ErrNonFinite)
			}
			return l, float64(c), err
		}
		return s
	}
	eng := &engine[T]{step: side(c.TrainBatch, c.TrainStep), eval: side(c.EvalBatch, c.Evaluate), store: store}
	if c.RNGState != nil && c.SetRNGState != nil {
		eng.rng = compiledRNG{c.RNGState, c.SetRNGState}
	}
	return eng, nil
}
