package interp

import (
	"fmt"
	"math/rand/v2"

	"github.com/nnc-go/nnc/ir"
	"github.com/nnc-go/nnc/kernels"
	"github.com/nnc-go/nnc/nncrt"
)

// Machine runs one planned graph. It is not safe for concurrent use.
type Machine[T kernels.Float] struct {
	g     *ir.Graph
	store *Store[T]
	cap   int    // the largest batch a step may have: the plan's
	arena []byte // the memory plan's arena, every element type in one
	// bufs holds each value's buffer by ID, sized for cap: an arena view,
	// a store tensor, or storage of its own for inputs and constants.
	bufs map[int]tensor[T]
	// scratch holds the scratch buffers of ops, by value ID and index.
	scratch map[[2]int]tensor[T]
	steps   []func(n int)
	// stepOf[i] is the value steps[i] computes.
	stepOf []*ir.Value
	// checks are the outputs that must be finite before the store takes
	// the step's results: the loss and every new parameter and state.
	checks []check[T]
	back   []func() // copies of outputs into the store
	rng    *rand.Rand
	pcg    *rand.PCG // rng's source, whose state checkpoints save
}

// tensor is a buffer of one of the element types a graph computes with:
// the float type T, int32 or int64.
type tensor[T kernels.Float] struct {
	f   []T
	i32 []int32
	i64 []int64
	i8  []int8
	u8  []uint8
	b   []bool
	f64 []float64 // an f64 value, whatever T is (in a float64 machine, f too)
	t   ir.Type
}

// New prepares g, which the memplan pass has planned, for running over the
// tensors of store (missing ones are added, zero). seed seeds the random
// ops (dropout). New allocates every buffer a step needs: Run allocates
// nothing.
func New[T kernels.Float](g *ir.Graph, store *Store[T], seed uint64) (*Machine[T], error) {
	if g.Plan == nil {
		return nil, fmt.Errorf("interp: graph %s has no memory plan", g.Name)
	}
	var zero T
	size := int(unsafeSizeof(zero))
	if err := checkFits(g, size); err != nil {
		return nil, err
	}
	pcg := rand.NewPCG(seed, 0x64726f70) // "drop"
	m := &Machine[T]{g: g, store: store, cap: g.Plan.Batch, bufs: map[int]tensor[T]{}, scratch: map[[2]int]tensor[T]{},
		rng: rand.New(pcg), pcg: pcg}
	m.arena = kernels.NewArena(g.Plan.ArenaBytes)
	for _, v := range g.Values {
		if err := m.alloc(v, size); err != nil {
			return nil, err
		}
	}
	for _, v := range g.Values {
		run, err := m.compile(v)
		if err != nil {
			return nil, fmt.Errorf("interp: %s (v%d at %s): %v", v.Op, v.ID, v.Pos, err)
		}
		if run != nil {
			m.steps = append(m.steps, run)
			m.stepOf = append(m.stepOf, v)
		}
	}
	for _, o := range g.Outputs {
		if err := m.writeBack(o); err != nil {
			return nil, err
		}
		if f := m.bufs[o.Value.ID].f; f != nil && (o.Name == "loss" || m.store.F[o.Name] != nil) {
			m.checks = append(m.checks, check[T]{o.Name, o.Value, f})
		}
	}
	return m, nil
}

func unsafeSizeof[T kernels.Float](T) uintptr {
	var z T
	switch any(z).(type) {
	case float32:
		return 4
	}
	return 8
}

// alloc gives v its buffer (a store tensor for parameters and state, its
// own for inputs, targets and constants, the arena for computed values)
// and places the scratch buffers of its op.
func (m *Machine[T]) alloc(v *ir.Value, size int) error {
	elems := v.Type.Shape.Size(m.cap)
	switch v.Op {
	case ir.OpParam, ir.OpBuffer, ir.OpState:
		if err := m.store.ensure(v); err != nil {
			return err
		}
		t := tensor[T]{t: v.Type}
		switch v.Type.DType {
		case ir.I64:
			t.i64 = m.store.I64[v.Name]
		case ir.I8:
			t.i8 = m.store.I8[v.Name]
		case ir.I32:
			t.i32 = m.store.I32[v.Name]
		default:
			t.f = m.store.F[v.Name]
		}
		m.bufs[v.ID] = t
		return nil
	case ir.OpConst:
		if v.Type.DType == ir.I64 { // an integer constant of the ONNX ops (issue 13)
			m.bufs[v.ID] = tensor[T]{i64: []int64{int64(v.AttrFloat("value"))}, t: v.Type}
			return nil
		}
		m.bufs[v.ID] = tensor[T]{f: []T{T(v.AttrFloat("value"))}, t: v.Type}
		return nil
	}
	if !v.Op.Info().Source || v.Op == ir.OpDropoutMask {
		off, ok := m.g.Plan.Offset[v.ID]
		if !ok {
			return fmt.Errorf("interp: v%d has no place in the memory plan", v.ID)
		}
		t, err := m.view(v.Type, off)
		if err != nil {
			return fmt.Errorf("interp: v%d: %v", v.ID, err)
		}
		m.bufs[v.ID] = t
	} else {
		m.bufs[v.ID] = m.own(v.Type, elems)
	}
	offs := m.g.Plan.Scratch[v.ID]
	for i, s := range ir.ScratchOf(m.g, v) {
		if i >= len(offs) {
			return fmt.Errorf("interp: scratch %d of v%d has no place in the memory plan", i, v.ID)
		}
		t, err := m.view(s.Type, offs[i])
		if err != nil {
			return fmt.Errorf("interp: scratch %d of v%d: %v", i, v.ID, err)
		}
		m.scratch[[2]int{v.ID, i}] = t
	}
	return nil
}

// view is the tensor of type t at byte offset off of the arena, sized for
// the largest batch.
func (m *Machine[T]) view(t ir.Type, off int) (tensor[T], error) {
	n := t.Shape.Size(m.cap)
	if off < 0 || off+n*t.DType.Size() > len(m.arena) {
		return tensor[T]{}, fmt.Errorf("%s at offset %d is outside the arena of %d bytes", t, off, len(m.arena))
	}
	r := tensor[T]{t: t}
	switch t.DType {
	case ir.I32:
		r.i32 = kernels.View[int32](m.arena, off, n)
	case ir.I64:
		r.i64 = kernels.View[int64](m.arena, off, n)
	case ir.I8:
		r.i8 = kernels.View[int8](m.arena, off, n)
	case ir.U8:
		r.u8 = kernels.View[uint8](m.arena, off, n)
	case ir.Bool:
		r.b = kernels.View[bool](m.arena, off, n)
	case ir.F32, ir.F64:
		if t.DType.Size() != int(unsafeSizeof(*new(T))) {
			// An f64 value of a float32 model: float64s only.
			r.f64 = kernels.View[float64](m.arena, off, n)
			break
		}
		r.f = kernels.View[T](m.arena, off, n)
		if t.DType == ir.F64 {
			r.f64 = kernels.View[float64](m.arena, off, n)
		}
	default:
		return r, fmt.Errorf("the interpreter has no %s tensors", t.DType)
	}
	return r, nil
}

// own is a tensor of type t with storage of its own, n elements.
func (m *Machine[T]) own(t ir.Type, n int) tensor[T] {
	r := tensor[T]{t: t}
	switch t.DType {
	case ir.I32:
		r.i32 = make([]int32, n)
	case ir.I64:
		r.i64 = make([]int64, n)
	case ir.I8:
		r.i8 = make([]int8, n)
	case ir.U8:
		r.u8 = make([]uint8, n)
	case ir.Bool:
		r.b = make([]bool, n)
	default:
		r.f = make([]T, n)
	}
	return r
}

// writeBack arranges for an output named after a store tensor (a new
// parameter, new optimizer state) to replace it after each step.
func (m *Machine[T]) writeBack(o ir.Output) error {
	if dst, ok := m.store.F[o.Name]; ok {
		src := m.bufs[o.Value.ID].f
		if len(src) != len(dst) {
			return fmt.Errorf("interp: output %s has %d elements, the tensor %d", o.Name, len(src), len(dst))
		}
		if &src[0] != &dst[0] {
			m.back = append(m.back, func() { copy(dst, src) })
		}
	}
	if dst, ok := m.store.I64[o.Name]; ok {
		src := m.bufs[o.Value.ID].i64
		m.back = append(m.back, func() { copy(dst, src) })
	}
	return nil
}

// Input returns the buffer of the input named name, room for the largest
// batch, row-major; nil if there is none.
func (m *Machine[T]) Input(name string) []T {
	for _, v := range m.g.Values {
		if v.Op == ir.OpInput && v.Name == name {
			return m.bufs[v.ID].f
		}
	}
	return nil
}

// Tensor is a buffer of a machine, sized for its largest batch: the one
// of F (the machine's float type), I32, I64, I8, U8 and Bool that Type
// says is set.
type Tensor[T kernels.Float] struct {
	Name string
	Type ir.Type
	F    []T
	I32  []int32
	I64  []int64
	I8   []int8
	U8   []uint8
	Bool []bool
}

func (m *Machine[T]) tensorOf(v *ir.Value) Tensor[T] {
	b := m.bufs[v.ID]
	return Tensor[T]{Name: v.Name, Type: v.Type, F: b.f, I32: b.i32, I64: b.i64, I8: b.i8, U8: b.u8, Bool: b.b}
}

// Inputs returns the float buffers of the inputs in order (nil for an
// integer input).
func (m *Machine[T]) Inputs() [][]T {
	var bs [][]T
	for _, t := range m.InputTensors() {
		bs = append(bs, t.F)
	}
	return bs
}

// Targets returns the buffers of the training targets: class indices, or
// float targets, whichever the loss takes (the other is nil).
func (m *Machine[T]) Targets() ([]int32, []T) {
	t, _ := m.Target()
	return t.I32, t.F
}

// InputTensors returns the buffers of the inputs, in the order forward
// declares them.
func (m *Machine[T]) InputTensors() []Tensor[T] {
	var ts []Tensor[T]
	for _, v := range m.g.Values {
		if v.Op == ir.OpInput {
			ts = append(ts, m.tensorOf(v))
		}
	}
	return ts
}

// Target returns the buffer of the training targets: class indices (I32),
// class indices per position (I64) or float values (F), whichever the loss
// takes; false when the graph has none.
func (m *Machine[T]) Target() (Tensor[T], bool) {
	for _, v := range m.g.Values {
		if v.Op == ir.OpTarget {
			return m.tensorOf(v), true
		}
	}
	return Tensor[T]{}, false
}

// RNGState returns the state of the generator of the random ops
// (dropout), to save with a checkpoint.
func (m *Machine[T]) RNGState() []byte {
	b, _ := m.pcg.MarshalBinary()
	return b
}

// SetRNGState restores a state RNGState returned.
func (m *Machine[T]) SetRNGState(b []byte) error { return m.pcg.UnmarshalBinary(b) }

// Batch is the largest batch a step may have.
func (m *Machine[T]) Batch() int { return m.cap }

// Output returns the first element of the output named name (a loss, a
// count) as a float64, and whether there is such an output.
func (m *Machine[T]) Output(name string) (float64, bool) {
	v := m.g.Output(name)
	if v == nil {
		return 0, false
	}
	switch b := m.bufs[v.ID]; {
	case b.i32 != nil:
		return float64(b.i32[0]), true
	case b.i64 != nil:
		return float64(b.i64[0]), true
	}
	return float64(m.bufs[v.ID].f[0]), true
}

// OutputTensor returns the buffer of a float output, sized for the largest
// batch.
func (m *Machine[T]) OutputTensor(name string) []T {
	if v := m.g.Output(name); v != nil {
		return m.bufs[v.ID].f
	}
	return nil
}

// Run executes one step on a batch of n rows (1 ≤ n ≤ Batch()), whose
// inputs and targets the caller has written, and then replaces the stored
// tensors by their new values. A kernel's complaint about the batch (a
// target outside the classes) is returned as an error; any other panic as
// an *InternalError (see ErrInternal).
func (m *Machine[T]) Run(n int) (err error) {
	if n < 1 || n > m.cap {
		return fmt.Errorf("interp: batch of %d rows, the graph is planned for 1 to %d", n, m.cap)
	}
	at := 0 // the step running, for the error of a panic
	defer func() {
		if r := recover(); r != nil {
			err = m.panicked(n, m.stepOf[at], r)
		}
	}()
	for i, s := range m.steps {
		at = i
		s(n)
	}
	for _, c := range m.checks {
		if !isFinite(c.values(n)) {
			// The parameters keep their values: find where the first
			// non-finite value came from, replaying the step checked.
			return m.anomaly(n, c.name)
		}
	}
	for _, b := range m.back {
		b()
	}
	return nil
}

// check is an output that must be finite.
type check[T kernels.Float] struct {
	name string
	v    *ir.Value
	buf  []T
}

func (c check[T]) values(n int) []T { return c.buf[:c.v.Type.Shape.Size(n)] }

// NonFinite is the error of a step that computed a NaN or an infinity: the
// output that showed it, and the first value of the graph that held one,
// with its source position, as PyTorch's anomaly detection reports.
type NonFinite struct {
	Output string
	First  *ir.Value
}

// Is makes a *NonFinite an nncrt.ErrNonFinite, as generated code's
// diverging steps are.
func (e *NonFinite) Is(target error) bool { return target == nncrt.ErrNonFinite }

func (e *NonFinite) Error() string {
	what := "the loss is not finite"
	if e.Output != "loss" {
		what = "the new " + e.Output + " is not finite"
	}
	if e.First == nil {
		return what
	}
	name := ""
	if e.First.Name != "" {
		name = " (" + e.First.Name + ")"
	}
	return fmt.Sprintf("%s: the first non-finite value is %s%s at %s", what, e.First.Op, name, e.First.Pos)
}

// anomaly reruns the step, checking each value as it is computed, and
// returns a *NonFinite naming the first that is not finite.
func (m *Machine[T]) anomaly(n int, output string) error {
	for i, s := range m.steps {
		s(n)
		v := m.stepOf[i]
		if f := m.bufs[v.ID].f; f != nil && !isFinite(f[:min(len(f), v.Type.Shape.Size(n))]) {
			return &NonFinite{Output: output, First: v}
		}
	}
	return &NonFinite{Output: output}
}

// isFinite reports whether every element of x is finite.
func isFinite[T kernels.Float](x []T) bool { return kernels.AllFinite(x) }

// OutputTensorOf returns the buffer of the output named name, of any
// element type, sized for the largest batch; the zero Tensor if there is
// no such output.
func (m *Machine[T]) OutputTensorOf(name string) Tensor[T] {
	if v := m.g.Output(name); v != nil {
		return m.tensorOf(v)
	}
	return Tensor[T]{}
}
