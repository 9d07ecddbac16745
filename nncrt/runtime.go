package nncrt

import (
	"errors"

	"github.com/nnc-go/nnc/kernels"
)

// The interface of a compiled model that nnc's tools drive, whichever back
// end computes it: the interpreter (package interp) and generated code
// both give their tensors as Tensors and their diverging steps as
// ErrNonFinite, so that the training loop, checkpoints and predictions
// (package train) need neither's internals.

// Tensors is a model's persistent tensors by name, as checkpoints read and
// write them: the slices themselves, which a caller may write.
type Tensors[T kernels.Float] interface {
	// Float returns the float tensor name, or nil.
	Float(name string) []T
	// Int64 returns the int64 tensor name, or nil.
	Int64(name string) []int64
}

// ErrNonFinite is the kind of the error of a step that computed a NaN or
// an infinity in its loss or in a new parameter: errors.Is(err,
// ErrNonFinite). The parameters keep their values.
var ErrNonFinite = errors.New("not finite")

// Float returns the float tensor name, or nil: a Store is Tensors.
func (s *Store[T]) Float(name string) []T {
	for k, t := range s.tensors {
		if t.Name == name && t.isFloat() {
			return s.f[s.index[k]]
		}
	}
	return nil
}

// Int64 returns the int64 tensor name, or nil.
func (s *Store[T]) Int64(name string) []int64 {
	for k, t := range s.tensors {
		if t.Name == name && t.I64 {
			return s.i[s.index[k]]
		}
	}
	return nil
}

// MapTensors is Tensors over maps by name, such as a generated Model's
// State returns.
type MapTensors[T kernels.Float] struct {
	F   map[string][]T
	I64 map[string][]int64
}

// Float returns the float tensor name, or nil.
func (m MapTensors[T]) Float(name string) []T { return m.F[name] }

// Int64 returns the int64 tensor name, or nil.
func (m MapTensors[T]) Int64(name string) []int64 { return m.I64[name] }
