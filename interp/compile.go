package interp

//go:generate go run ../internal/kernelgen/cmd ../kernels kernels_gen.go

import (
	"fmt"

	"github.com/nnc-go/nnc/ir"
	"github.com/nnc-go/nnc/kernels"
)

// shape is a value's shape with the batch dimension filled in per step.
type shape struct {
	dims  []int
	batch int // index of the batch dimension, or -1
}

func newShape(s ir.Shape) *shape {
	sh := &shape{dims: make([]int, len(s)), batch: -1}
	for i, d := range s {
		sh.dims[i] = d
		if d == ir.Batch {
			sh.batch = i
		}
	}
	return sh
}

// at returns the dimensions for batch n; the slice is reused.
func (s *shape) at(n int) []int {
	if s.batch >= 0 {
		s.dims[s.batch] = n
	}
	return s.dims
}

// operand is one argument of a lowered kernel call, resolved to the
// machine's buffers: the generated bindKernel reads it through the method
// of the parameter's type.
type operand[T kernels.Float] struct {
	// A buffer of one of the element types, and its elements per batch:
	// the float buffer and its size first, together, as the kernels read
	// them most.
	f     []T
	elems ir.Dim
	dim   ir.Dim
	kind  ir.OperandKind
	flag  bool
	float float64
	i32   []int32
	i64   []int64
	i8    []int8
	u8    []uint8
	b     []bool
	f64   []float64
	sh    *shape
	dims  []ir.Dim
}

func (o *operand[T]) floats(n int) []T {
	if o.f == nil {
		return nil
	}
	return o.f[:o.elems.At(n)]
}

func (o *operand[T]) int32s(n int) []int32 {
	if o.i32 == nil {
		return nil
	}
	return o.i32[:o.elems.At(n)]
}

func (o *operand[T]) int64s(n int) []int64 {
	if o.i64 == nil {
		return nil
	}
	return o.i64[:o.elems.At(n)]
}

func (o *operand[T]) float64s(n int) []float64 {
	if o.f64 == nil {
		return nil
	}
	return o.f64[:o.elems.At(n)]
}

func (o *operand[T]) int8s(n int) []int8 {
	if o.i8 == nil {
		return nil
	}
	return o.i8[:o.elems.At(n)]
}

func (o *operand[T]) uint8s(n int) []uint8 {
	if o.u8 == nil {
		return nil
	}
	return o.u8[:o.elems.At(n)]
}

func (o *operand[T]) bools(n int) []bool {
	if o.b == nil {
		return nil
	}
	return o.b[:o.elems.At(n)]
}

func (o *operand[T]) shape(n int) []int { return o.sh.at(n) }

func (o *operand[T]) conv(n int) kernels.ConvShape {
	d := o.dims
	return kernels.ConvShape{N: d[0].At(n), C: d[1].At(n), H: d[2].At(n), W: d[3].At(n), K: d[4].At(n),
		KH: d[5].At(n), KW: d[6].At(n), Stride: d[7].At(n), Pad: d[8].At(n)}
}

func (o *operand[T]) pool(n int) kernels.PoolShape {
	d := o.dims
	return kernels.PoolShape{N: d[0].At(n), C: d[1].At(n), H: d[2].At(n), W: d[3].At(n), Kernel: d[4].At(n), Stride: d[5].At(n)}
}

// fits checks the operands against the kernel's parameters, one letter
// each (see internal/kernelgen), so that a lowering rule that does not
// match its kernel is an error when the graph is prepared, not a panic
// when it runs.
func fits[T kernels.Float](name, sig string, a []operand[T]) error {
	if len(a) != len(sig) {
		return fmt.Errorf("kernel %s takes %d arguments, the lowering gives %d", name, len(sig), len(a))
	}
	for i, o := range a {
		ok := false
		switch sig[i] {
		case 'F':
			ok = o.kind == ir.OpdNil || o.f != nil
		case 'I':
			ok = o.kind == ir.OpdNil || o.i32 != nil
		case 'L':
			ok = o.kind == ir.OpdNil || o.i64 != nil
		case 'D':
			ok = o.kind == ir.OpdNil || o.f64 != nil
		case 'Q':
			ok = o.kind == ir.OpdNil || o.i8 != nil
		case 'U':
			ok = o.kind == ir.OpdNil || o.u8 != nil
		case 'B':
			ok = o.kind == ir.OpdNil || o.b != nil
		case 'S':
			ok = o.kind == ir.OpdShape || o.kind == ir.OpdInts
		case 'n':
			ok = o.kind == ir.OpdInt
		case 'x':
			ok = o.kind == ir.OpdFloat
		case 'b':
			ok = o.kind == ir.OpdBool
		case 'C':
			ok = o.kind == ir.OpdConvShape && len(o.dims) == len(ir.ConvShapeFields)
		case 'P':
			ok = o.kind == ir.OpdPoolShape && len(o.dims) == len(ir.PoolShapeFields)
		case 'R':
			ok = o.kind == ir.OpdRNG
		}
		if !ok {
			return fmt.Errorf("kernel %s: argument %d does not fit its parameter", name, i+1)
		}
	}
	return nil
}

// compile returns the function that computes v for a batch of n rows, or
// nil for values that need no work (sources).
func (m *Machine[T]) compile(v *ir.Value) (func(n int), error) {
	calls, _, err := ir.Lowering(m.g, v)
	if err != nil || len(calls) == 0 {
		return nil, err
	}
	fns := make([]func(int), len(calls))
	for i, c := range calls {
		ops := make([]operand[T], len(c.Args))
		for j, o := range c.Args {
			if ops[j], err = m.operand(o); err != nil {
				return nil, fmt.Errorf("kernel %s: %v", c.Kernel, err)
			}
		}
		if fns[i], err = bindKernel(c.Kernel, ops, m.rng); err != nil {
			return nil, err
		}
	}
	if len(fns) == 1 {
		return fns[0], nil
	}
	return func(n int) {
		for _, f := range fns {
			f(n)
		}
	}, nil
}

// operand resolves a lowered operand to the machine's buffers.
func (m *Machine[T]) operand(o ir.Operand) (operand[T], error) {
	op := operand[T]{kind: o.Kind, dim: o.Dim, float: o.Float, flag: o.Bool, dims: o.Dims}
	switch o.Kind {
	case ir.OpdBuf:
		b, ok := m.bufs[o.Value.ID]
		if !ok {
			return op, fmt.Errorf("v%d has no buffer", o.Value.ID)
		}
		op.f, op.i32, op.i64, op.i8, op.u8, op.b, op.f64 = b.f, b.i32, b.i64, b.i8, b.u8, b.b, b.f64
		op.elems = o.Value.Type.Shape.Volume()
	case ir.OpdScratch:
		b, ok := m.scratch[[2]int{o.Value.ID, o.Index}]
		if !ok {
			return op, fmt.Errorf("v%d has no scratch buffer %d", o.Value.ID, o.Index)
		}
		op.f, op.i32, op.i64, op.i8, op.u8, op.b, op.f64 = b.f, b.i32, b.i64, b.i8, b.u8, b.b, b.f64
		op.elems = b.t.Shape.Volume()
	case ir.OpdShape:
		op.sh = newShape(o.Value.Type.Shape)
	case ir.OpdInts:
		op.sh = &shape{dims: make([]int, len(o.Dims)), batch: -1}
		for i, d := range o.Dims {
			if d.Batch {
				return op, fmt.Errorf("an integer list operand cannot depend on the batch")
			}
			op.sh.dims[i] = d.C
		}
	}
	return op, nil
}
