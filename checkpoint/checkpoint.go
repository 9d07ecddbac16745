// Package checkpoint reads and writes model parameters in the safetensors
// format.
//
// A safetensors file is an 8-byte little-endian header length N, then N
// bytes of JSON header, then the tensor data. The header maps each tensor
// name to an object {"dtype": "F32", "shape": [2, 3], "data_offsets":
// [begin, end]}, whose offsets count bytes from the start of the data
// section, and may hold a "__metadata__" object of string values. The
// header may end with spaces that pad it to a multiple of 8 bytes. Tensor
// data is little-endian and row-major; a scalar has shape [] and one
// element.
//
// This package supports the dtypes F32, F64 and I64, which cover the
// parameters and batch-norm counters that PyTorch's state_dict holds, and
// I8 and I32, the weights and biases of an int8 checkpoint (nnc quantize). A
// file holding a tensor of any other dtype is rejected with an error that
// names the tensor and its dtype.
//
// Decode treats its input as hostile: every length and offset in the header
// is checked against the bytes actually present before anything is
// allocated for it, and a malformed file yields an error that says what is
// wrong, never a panic.
package checkpoint

import (
	"fmt"
	"math"
	"slices"
	"strings"
)

// DType names the element type of a tensor, spelled as in the safetensors
// header.
type DType string

// The dtypes that this package reads and writes.
const (
	F32 DType = "F32"
	F64 DType = "F64"
	I64 DType = "I64"
	I32 DType = "I32"
	I8  DType = "I8"
)

// size returns the number of bytes of one element of d, or 0 if d is not a
// supported dtype.
func (d DType) size() int {
	switch d {
	case F32, I32:
		return 4
	case F64, I64:
		return 8
	case I8:
		return 1
	}
	return 0
}

// Tensor is one named tensor of a checkpoint.
//
// Exactly one of F32, F64, I64, I32 and I8 is non-nil, and it determines the dtype;
// its length is the product of Shape (1 for a scalar, whose Shape is
// empty). An empty tensor has a non-nil slice of length 0.
type Tensor struct {
	Name  string
	Shape []int
	F32   []float32
	F64   []float64
	I64   []int64
	I32   []int32
	I8    []int8
}

// DType returns the dtype of t: the one of F32, F64 and I64 whose data
// slice is non-nil. It returns "" if none or more than one is non-nil.
func (t *Tensor) DType() DType {
	var d DType
	n := 0
	if t.F32 != nil {
		d, n = F32, n+1
	}
	if t.F64 != nil {
		d, n = F64, n+1
	}
	if t.I64 != nil {
		d, n = I64, n+1
	}
	if t.I32 != nil {
		d, n = I32, n+1
	}
	if t.I8 != nil {
		d, n = I8, n+1
	}
	if n != 1 {
		return ""
	}
	return d
}

// len returns the number of elements in t's data slice.
func (t *Tensor) len() int {
	return len(t.F32) + len(t.F64) + len(t.I64) + len(t.I32) + len(t.I8)
}

// File is the content of a safetensors file.
type File struct {
	// Metadata holds the header's "__metadata__" strings. It is nil when
	// the file has none; Encode writes "__metadata__" only when it is
	// non-nil.
	Metadata map[string]string
	// Tensors holds the tensors. Decode sorts them by name; Encode accepts
	// them in any order.
	Tensors []*Tensor
}

// Get returns the tensor called name, or nil if f has none.
func (f *File) Get(name string) *Tensor {
	i := slices.IndexFunc(f.Tensors, func(t *Tensor) bool { return t.Name == name })
	if i < 0 {
		return nil
	}
	return f.Tensors[i]
}

// Spec describes a tensor that a model expects to find in a checkpoint.
type Spec struct {
	Name  string
	DType DType
	Shape []int
}

// Check reports whether f holds exactly the tensors that want describes,
// each with the expected dtype and shape. It returns an error naming the
// first problem: the specs are checked in order for a missing tensor or a
// wrong dtype or shape, then any tensor of f that no spec names is reported,
// in name order. For example:
//
//	checkpoint: tensor "fc1.weight" has shape [10 5], model expects [10 10]
func Check(f *File, want []Spec) error {
	wanted := make(map[string]bool, len(want))
	for _, s := range want {
		wanted[s.Name] = true
		t := f.Get(s.Name)
		switch {
		case t == nil:
			return fmt.Errorf("checkpoint: tensor %q is missing, model expects %s %s", s.Name, s.DType, shapeString(s.Shape))
		case t.DType() != s.DType:
			return fmt.Errorf("checkpoint: tensor %q has dtype %s, model expects %s", s.Name, dtypeString(t.DType()), s.DType)
		case !slices.Equal(t.Shape, s.Shape):
			return fmt.Errorf("checkpoint: tensor %q has shape %s, model expects %s", s.Name, shapeString(t.Shape), shapeString(s.Shape))
		}
	}
	var extra []*Tensor
	for _, t := range f.Tensors {
		if !wanted[t.Name] {
			extra = append(extra, t)
		}
	}
	if len(extra) > 0 {
		t := slices.MinFunc(extra, func(a, b *Tensor) int { return strings.Compare(a.Name, b.Name) })
		return fmt.Errorf("checkpoint: unexpected tensor %q (%s %s), the model has no such parameter", t.Name, dtypeString(t.DType()), shapeString(t.Shape))
	}
	return nil
}

// shapeString formats a shape as "[2 3]", and a scalar's as "[]".
func shapeString(shape []int) string {
	return fmt.Sprint(shape)
}

// dtypeString formats a dtype for an error message, showing an invalid one
// as "no dtype".
func dtypeString(d DType) string {
	if d == "" {
		return "no dtype"
	}
	return string(d)
}

// numElements returns the number of elements of a tensor of the given
// shape whose elements take size bytes, or ok false if a dimension is
// negative or the byte size would not fit in an int. The check ignores
// zero dimensions, so a shape such as [0, huge, huge] is rejected too:
// code that computes strides from a shape can rely on their product
// fitting.
func numElements(shape []int, size int) (n int, ok bool) {
	limit := math.MaxInt / size
	n, zero := 1, false
	for _, d := range shape {
		switch {
		case d < 0:
			return 0, false
		case d == 0:
			zero = true
		case n > limit/d:
			return 0, false
		default:
			n *= d
		}
	}
	if zero {
		return 0, true
	}
	return n, true
}
