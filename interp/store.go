// Package interp executes an optimized ir.Graph over preallocated buffers:
// the intermediate values in one arena laid out by the memory plan, the
// parameters, buffers and optimizer state in a Store that outlives a step.
// New compiles the graph into one closure per value, so that running a step
// is a loop over closures with no allocation and no lookup; the kernels are
// those of package kernels, shared with the generated Go code.
//
// The interpreter knows no op's meaning: a value is computed by the kernel
// calls its op lowers to (ir.Lowering), each bound once to its kernel by
// bindKernel, which internal/kernelgen generates from package kernels
// (kernels_gen.go; `go generate ./interp` after adding a kernel).
// Values of every element type live in one byte arena, viewed as typed
// slices (kernels.View) at the offsets of the memory plan.
package interp

import (
	"fmt"
	"math/rand/v2"

	"github.com/nnc-go/nnc/ir"
	"github.com/nnc-go/nnc/kernels"
)

// Store holds a model's persistent tensors by name: parameters and buffers
// under their state_dict names, optimizer state under optimizer.NAME...
// Float tensors have the model's element type T; num_batches_tracked and
// optimizer.step are int64.
type Store[T kernels.Float] struct {
	F   map[string][]T
	I64 map[string][]int64
	// I8 and I32 hold the weights and biases of an int8 model (nnc
	// quantize's checkpoints).
	I8    map[string][]int8
	I32   map[string][]int32
	Shape map[string]ir.Shape
	order []string // the order tensors were added in: the state_dict's
}

// NewStore returns an empty store.
func NewStore[T kernels.Float]() *Store[T] {
	return &Store[T]{F: map[string][]T{}, I64: map[string][]int64{}, I8: map[string][]int8{}, I32: map[string][]int32{}, Shape: map[string]ir.Shape{}}
}

// Float returns the float tensor name, or nil: a Store is nncrt.Tensors,
// as the generated code's tensors are.
func (s *Store[T]) Float(name string) []T { return s.F[name] }

// Int64 returns the int64 tensor name, or nil.
func (s *Store[T]) Int64(name string) []int64 { return s.I64[name] }

// Names returns the names of the tensors in the order they were added.
func (s *Store[T]) Names() []string { return s.order }

// ensure adds the tensor of source value v, zero, unless present; it checks
// that a present one has v's shape.
func (s *Store[T]) ensure(v *ir.Value) error {
	if sh, ok := s.Shape[v.Name]; ok {
		if !sh.Equal(v.Type.Shape) {
			return fmt.Errorf("tensor %s has shape %v, the graph expects %v", v.Name, sh, v.Type.Shape)
		}
		return nil
	}
	n := v.Type.Shape.Elems()
	switch v.Type.DType {
	case ir.I64:
		s.I64[v.Name] = make([]int64, n)
	case ir.I8:
		s.I8[v.Name] = make([]int8, n)
	case ir.I32:
		s.I32[v.Name] = make([]int32, n)
	case ir.F32, ir.F64:
		s.F[v.Name] = make([]T, n)
	default:
		return fmt.Errorf("tensor %s of type %s cannot be stored", v.Name, v.Type)
	}
	s.Shape[v.Name] = v.Type.Shape.Clone()
	s.order = append(s.order, v.Name)
	return nil
}

// Init adds the parameters and buffers of g to s, initialised as PyTorch
// does by default: Linear and Conv2d weights and biases from
// U(-1/sqrt(fan_in), 1/sqrt(fan_in)), BatchNorm weights 1 and biases 0,
// running means 0 and variances 1, drawn in state_dict order from a
// generator seeded with seed. Tensors already in s are left alone.
func (s *Store[T]) Init(g *ir.Graph, seed uint64) error {
	var z T
	if err := checkFits(g, int(unsafeSizeof(z))); err != nil {
		return err
	}
	rng := rand.New(rand.NewPCG(seed, 0x6e6e63)) // "nnc"
	for _, v := range g.Values {
		if v.Op != ir.OpParam && v.Op != ir.OpBuffer {
			continue
		}
		if _, ok := s.Shape[v.Name]; ok {
			if err := s.ensure(v); err != nil {
				return err
			}
			continue
		}
		if err := s.ensure(v); err != nil {
			return err
		}
		if !v.Type.DType.IsFloat() {
			continue
		}
		t := s.F[v.Name]
		switch init := v.Attrs.String("init"); init {
		case "uniform":
			b := ir.InitBound(v.Attrs.Int("fan_in", 1))
			kernels.Uniform(t, -b, b, rng)
		case "ones":
			kernels.Fill(t, 1)
		case "normal": // torch.nn.Embedding's N(0, 1), or a Parameter's N(0, std²)
			kernels.Normal(t, 0, v.AttrFloat("std"), rng)
		case "zeros", "":
		default:
			return fmt.Errorf("tensor %s: unknown initialisation %q", v.Name, init)
		}
	}
	return nil
}
