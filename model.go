package nnc

import (
	"context"
	"errors"
	"fmt"
	"os"
	"runtime"
	"sync"

	"github.com/nnc-go/nnc/build"
	"github.com/nnc-go/nnc/checkpoint"
	"github.com/nnc-go/nnc/data"
	"github.com/nnc-go/nnc/internal/atomicfile"
	"github.com/nnc-go/nnc/interp"
	"github.com/nnc-go/nnc/ir"
	"github.com/nnc-go/nnc/kernels"
	"github.com/nnc-go/nnc/train"
)

// LoadOptions configure Load. The zero value loads the file's entry model
// with its default initialisation, for batches of up to 64 rows.
type LoadOptions struct {
	// Weights names a safetensors checkpoint to load (nnc run --save, or
	// PyTorch's state_dict); "" keeps the seeded default initialisation.
	Weights string
	// Model picks the model of the file (default: the one the train block
	// names, else the last); Set overrides hyper-parameters (--set p=v).
	Model string
	Set   map[string]string
	// Batch is the most rows one forward pass holds (default 64, rounded
	// up to a multiple of 8); a call with more runs in chunks of Batch rows.
	Batch int
	// Instances is the most forward passes that run at once (default
	// GOMAXPROCS); each holds its own buffers, sharing the weights.
	Instances int
}

// TensorInfo describes an input or output of a model: its name, element
// type ("f32", "f64", "i64", ...) and shape, whose first dimension, -1, is
// the rows.
type TensorInfo struct {
	Name  string
	DType string
	Shape []int
}

// RowSize is the number of elements of one row.
func (t TensorInfo) RowSize() int {
	n := 1
	for _, d := range t.Shape[1:] {
		n *= d
	}
	return n
}

// Inputs maps each input's name (as forward declares it) to its rows,
// flattened row-major: a []float32 for an f32 input, []float64 for f64,
// []int64 for i64. Every input holds the same number of rows.
type Inputs map[string]any

// Model is a compiled model with its weights, ready to predict and, when
// its file has a train block, to train. Its methods are safe for
// concurrent use: forward passes run on a pool of instances (buffers and
// interpreter state per instance, the weights shared, LoadOptions.
// Instances of them), and a training step waits for the passes under way
// and holds the next ones back.
type Model struct {
	file, src string
	bopt      build.Options
	prog      *ir.Program // inference: the forward pass, planned for Batch rows
	info      train.DataInfo
	in        []TensorInfo
	out       TensorInfo
	f64       bool
	// int8, when not nil, is the int8 checkpoint (nnc quantize) the
	// weights came from: the forward pass runs its int8 graph, and the
	// model cannot train.
	int8 *checkpoint.File

	mu sync.RWMutex // held for writing while the weights change
	// The model of its element type: one of the two is set.
	im32  *impl[float32]
	im64  *impl[float64]
	train *trainer // nil until Train or TrainStep is first called
}

// Load compiles the model of the .nn file at path and loads its weights.
// Errors in the file are a *diag.ErrorList, as Compile returns them.
func Load(path string, opt *LoadOptions) (*Model, error) {
	if opt == nil {
		opt = &LoadOptions{}
	}
	batch := opt.Batch
	if batch == 0 {
		batch = 64
	}
	if batch < 1 || batch > 1<<16 {
		return nil, fmt.Errorf("nnc.Load: batch %d, want 1 to 65536", batch)
	}
	src, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	p, err := Compile(path, src, Options{Options: buildOptions(opt), Batch: train.PredictBatch(batch), ForwardOnly: true})
	if err != nil {
		return nil, err
	}
	m := &Model{file: path, src: string(src), bopt: buildOptions(opt), prog: p}
	g := p.Forward
	for _, v := range g.Sources(ir.OpInput) {
		if !v.Type.Shape.HasBatch() || v.Type.Shape[0] != ir.Batch {
			return nil, fmt.Errorf("%s: input %s has no batch as its first dimension", path, v.Name)
		}
		m.in = append(m.in, info(v))
	}
	o := g.Output("out")
	if o == nil || o.Type.Shape.Rank() == 0 || o.Type.Shape[0] != ir.Batch {
		return nil, fmt.Errorf("%s: the model's output has no batch as its first dimension", path)
	}
	m.out = info(o)
	m.out.Name = "out"
	m.f64 = o.Type.DType == ir.F64
	if opt.Weights != "" {
		f, err := checkpoint.Read(opt.Weights)
		if err != nil {
			return nil, err
		}
		if m.info, err = train.ReadDataInfo(f.Metadata); err != nil {
			return nil, fmt.Errorf("%s: %v", opt.Weights, err)
		}
		if train.IsInt8(f) {
			// An int8 checkpoint runs the forward pass rewritten for it,
			// as nnc predict and serve run it.
			if m.f64 {
				return nil, fmt.Errorf("%s: an int8 checkpoint runs in a model of f32 values, and %s computes in f64", opt.Weights, p.Model)
			}
			if p.Forward, err = train.Int8Graph(p.Forward, f); err != nil {
				return nil, fmt.Errorf("%s: %v", opt.Weights, err)
			}
			m.int8 = f
		}
	}
	instances := opt.Instances
	if instances <= 0 {
		instances = runtime.GOMAXPROCS(0)
	}
	if m.f64 {
		m.im64, err = newImpl[float64](m, opt.Weights, instances)
	} else {
		m.im32, err = newImpl[float32](m, opt.Weights, instances)
	}
	if err != nil {
		return nil, err
	}
	return m, nil
}

func buildOptions(opt *LoadOptions) build.Options {
	return build.Options{Model: opt.Model, Set: opt.Set}
}

func info(v *ir.Value) TensorInfo {
	t := TensorInfo{Name: v.Name, DType: v.Type.DType.String(), Shape: append([]int{}, v.Type.Shape...)}
	t.Shape[0] = -1
	return t
}

// Name is the model's name; Inputs and Outputs describe what Predict takes
// and gives.
func (m *Model) Name() string         { return m.prog.Model }
func (m *Model) Inputs() []TensorInfo { return append([]TensorInfo{}, m.in...) }
func (m *Model) Outputs() []TensorInfo {
	return []TensorInfo{m.out}
}

// Classes returns the class names the checkpoint records (a CSV target
// column of names), or nil.
func (m *Model) Classes() []string { return m.info.Classes }

// Loss is the loss the checkpoint says the model was trained with:
// "cross_entropy", "mse", "bce_with_logits", or "" when it records none.
// It says how the outputs read (class scores, logits, values).
func (m *Model) Loss() string {
	if m.info.Loss == ir.NoLoss {
		return ""
	}
	return m.info.Loss.String()
}

// Rows returns the number of rows in, after checking that every input is
// there, of its declared element type, and holds whole rows, the same
// number for each.
func (m *Model) Rows(in Inputs) (int, error) {
	rows := -1
	for _, t := range m.in {
		x, ok := in[t.Name]
		if !ok {
			return 0, fmt.Errorf("input %s is missing", t.Name)
		}
		var n int
		switch x := x.(type) {
		case []float32:
			n = len(x)
			if t.DType != "f32" {
				return 0, fmt.Errorf("input %s is %s, given float32 values", t.Name, t.DType)
			}
		case []float64:
			n = len(x)
			if t.DType != "f64" {
				return 0, fmt.Errorf("input %s is %s, given float64 values", t.Name, t.DType)
			}
		case []int64:
			n = len(x)
			if t.DType != "i64" {
				return 0, fmt.Errorf("input %s is %s, given int64 values", t.Name, t.DType)
			}
		default:
			return 0, fmt.Errorf("input %s: a %T, want a slice of %s", t.Name, x, t.DType)
		}
		size := t.RowSize()
		if n%size != 0 {
			return 0, fmt.Errorf("input %s: %d values are not whole rows of %d", t.Name, n, size)
		}
		if rows >= 0 && n/size != rows {
			return 0, fmt.Errorf("input %s has %d rows, %s has %d", t.Name, n/size, m.in[0].Name, rows)
		}
		rows = n / size
	}
	if len(in) > len(m.in) {
		for name := range in {
			if !m.hasInput(name) {
				return 0, fmt.Errorf("unknown input %s", name)
			}
		}
	}
	return rows, nil
}

func (m *Model) hasInput(name string) bool {
	for _, t := range m.in {
		if t.Name == name {
			return true
		}
	}
	return false
}

// Predict runs the forward pass over the rows of in and returns the
// outputs, row-major: a []float32 for a float32 model ([]float64 for a
// float64 one) of rows × Outputs()[0].RowSize() values. A model trained on
// standardised CSV features (csv(normalize = true)) standardises them as
// nnc predict does.
func (m *Model) Predict(ctx context.Context, in Inputs) (any, error) {
	rows, err := m.Rows(in)
	if err != nil {
		return nil, err
	}
	var out any
	if m.f64 {
		out = make([]float64, rows*m.out.RowSize())
	} else {
		out = make([]float32, rows*m.out.RowSize())
	}
	if err := m.predict(ctx, in, out, rows); err != nil {
		return nil, err
	}
	return out, nil
}

// PredictTo is Predict into out, for a float32 model: out must hold rows
// × Outputs()[0].RowSize() values. It returns the number of rows. In
// steady state it allocates nothing.
func (m *Model) PredictTo(ctx context.Context, in Inputs, out []float32) (int, error) {
	if m.f64 {
		return 0, fmt.Errorf("the model's outputs are f64: use PredictTo64")
	}
	return predictTo(m, ctx, in, out)
}

// PredictTo64 is PredictTo for a float64 model.
func (m *Model) PredictTo64(ctx context.Context, in Inputs, out []float64) (int, error) {
	if !m.f64 {
		return 0, fmt.Errorf("the model's outputs are f32: use PredictTo")
	}
	return predictTo(m, ctx, in, out)
}

func predictTo[T float32 | float64](m *Model, ctx context.Context, in Inputs, out []T) (int, error) {
	rows, err := m.Rows(in)
	if err != nil {
		return 0, err
	}
	if want := rows * m.out.RowSize(); len(out) < want {
		return 0, fmt.Errorf("output buffer: %d values, want %d", len(out), want)
	}
	return rows, m.predict(ctx, in, out, rows)
}

func (m *Model) predict(ctx context.Context, in Inputs, out any, rows int) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	m.mu.RLock()
	defer m.mu.RUnlock()
	if m.im64 != nil {
		return m.im64.predict(ctx, in, out, rows)
	}
	return m.im32.predict(ctx, in, out, rows)
}

// Save writes the model's weights (and, after training, the optimizer's
// state) as a safetensors checkpoint, atomically, with the metadata nnc
// run writes.
func (m *Model) Save(path string) error {
	m.mu.RLock()
	defer m.mu.RUnlock()
	if m.im64 != nil {
		return m.im64.save(path)
	}
	return m.im32.save(path)
}

// impl is a Model of element type T: the weights, and the instances that
// run forward passes over them.
type impl[T kernels.Float] struct {
	m     *Model
	store *interp.Store[T]
	pool  chan *instance[T]
}

// instance is one forward pass's interpreter, its input buffers and
// output.
type instance[T kernels.Float] struct {
	mach *interp.Machine[T]
	ins  []interp.Tensor[T]
	out  []T
}

func newImpl[T kernels.Float](m *Model, weights string, instances int) (*impl[T], error) {
	g := m.prog.Forward
	store := interp.NewStore[T]()
	seed := uint64(0)
	if m.prog.Train != nil {
		seed = m.prog.Train.Seed // nnc run's initialisation
	}
	if err := store.Init(g, seed); err != nil {
		return nil, err
	}
	switch {
	case m.int8 != nil:
		if err := train.LoadInt8(store, g, m.int8, weights); err != nil {
			return nil, err
		}
	case weights != "":
		if err := train.LoadCheckpoint[T](store, g, weights); err != nil {
			return nil, err
		}
	}
	im := &impl[T]{m: m, store: store, pool: make(chan *instance[T], instances)}
	for range instances {
		mach, err := interp.New(g, store, 0)
		if err != nil {
			return nil, err
		}
		im.pool <- &instance[T]{mach: mach, ins: mach.InputTensors(), out: mach.OutputTensor("out")}
	}
	return im, nil
}

func (im *impl[T]) predict(ctx context.Context, in Inputs, out any, rows int) error {
	var inst *instance[T]
	select {
	case inst = <-im.pool:
	case <-ctx.Done():
		return ctx.Err()
	}
	defer func() { im.pool <- inst }()
	batch := inst.mach.Batch()
	width := im.m.out.RowSize()
	norm := im.m.info.Norm
	for start := 0; start < rows; start += batch {
		n := min(batch, rows-start)
		for i, t := range im.m.in {
			size := t.RowSize()
			lo, hi := start*size, (start+n)*size
			dst := inst.ins[i]
			switch x := in[t.Name].(type) {
			case []float32:
				copyFloats(dst.F[:hi-lo], x[lo:hi], norm, size)
			case []float64:
				copyFloats(dst.F[:hi-lo], x[lo:hi], norm, size)
			case []int64:
				copy(dst.I64, x[lo:hi])
			}
		}
		// The rows past n hold an earlier call's: computed, not read, so
		// that every row's outputs are those nnc predict gives it.
		if err := inst.mach.Run(train.PredictRows(n, batch)); err != nil {
			return fmt.Errorf("rows %d to %d: %w", start+1, start+n, err)
		}
		switch o := out.(type) {
		case []float32:
			for j, v := range inst.out[:n*width] {
				o[start*width+j] = float32(v)
			}
		case []float64:
			for j, v := range inst.out[:n*width] {
				o[start*width+j] = float64(v)
			}
		}
		if start+n < rows {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
	}
	return nil
}

// copyFloats copies features into an input buffer, standardised with the
// training data's statistics when the checkpoint has them (as nnc predict
// does: in float64, then rounded).
func copyFloats[T, S kernels.Float](dst []T, src []S, norm *data.Standardization, size int) {
	if norm == nil || len(norm.Mean) != size {
		for i, v := range src {
			dst[i] = T(v)
		}
		return
	}
	for i, v := range src {
		j := i % size
		dst[i] = T(float32((float64(float32(v)) - norm.Mean[j]) / norm.Std[j]))
	}
}

func (im *impl[T]) save(path string) error {
	if f := im.m.int8; f != nil {
		// The weights of an int8 model do not change: the checkpoint as
		// it was read.
		b, err := checkpoint.Encode(f)
		if err != nil {
			return err
		}
		return atomicfile.Write(path, b)
	}
	return train.SaveCheckpoint[T](im.store, im.m.prog, []byte(im.m.src), im.m.info, path)
}

// errNoTrain is returned by the training methods of a model whose file has
// no train block.
var errNoTrain = errors.New("the model has no train block")
