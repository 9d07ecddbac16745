// Package nncrt is the run time of the Go packages `nnc build` generates:
// the code every generated model would otherwise carry a copy of, so that
// the generated file holds only what is specific to its model (its shapes,
// its table of tensors and the kernel calls of its computations).
//
// A generated Model keeps its persistent tensors (parameters, buffers and
// optimizer state) in two arrays of slices, one of floats and one of
// int64s, which its kernel calls index directly, and describes them in a
// table of Tensor. A Store over the table and the two arrays allocates and
// initialises the tensors, writes and reads them as safetensors files
// (PyTorch's state_dict, under PyTorch's names), lists them by name, and
// holds the generator of dropout's masks, whose state checkpoints save.
//
// The package depends on the standard library and nnc's kernels alone, so
// that generated packages build without cgo for every target Go has
// (linux/arm64, js/wasm, wasip1/wasm...).
package nncrt

import (
	"math"
	"math/rand/v2"
	"strings"

	"github.com/nnc-go/nnc/kernels"
)

// Tensor describes one persistent tensor of a generated model.
type Tensor struct {
	// Name is the tensor's name in the state_dict ("fc1.weight") or, for
	// optimizer state, in nnc's checkpoints ("optimizer.fc1.weight.exp_avg").
	Name  string
	Shape []int
	// I64 marks an int64 tensor (num_batches_tracked, optimizer.step),
	// I8 and I32 the weights and corrected biases of an int8 layer (nnc
	// quantize); the others hold the model's float type.
	I64, I8, I32 bool
	// Packed, for the weights of an int8 Linear (NAME.qweight, I8), is
	// their [out, in] shape: Shape is that of the layout
	// kernels.QPackLinear packs them into, and files hold them unpacked,
	// as NAME.weight, the int8 checkpoint's tensor.
	Packed []int
	// Init is how New initialises the tensor when no weights are given:
	// "uniform" draws from ±1/√FanIn as PyTorch's default does, "ones"
	// fills it with 1, and anything else leaves zeros.
	Init  string
	FanIn int
	// Std is the standard deviation of Init "normal" when not 1 (a
	// Parameter's).
	Std float64
	// State marks optimizer state, which is not part of the state_dict.
	State bool
}

// file returns the name and shape of t in a safetensors file.
func (t *Tensor) file() (string, []int) {
	if t.Packed != nil {
		return strings.TrimSuffix(t.Name, ".qweight") + ".weight", t.Packed
	}
	return t.Name, t.Shape
}

// isFloat reports whether t holds the model's float type.
func (t *Tensor) isFloat() bool { return !t.I64 && !t.I8 && !t.I32 }

// A Store is the persistent tensors of one model: the slices of its float,
// int64, int8 and int32 arrays, in the order of its table.
type Store[T kernels.Float] struct {
	tensors []Tensor
	f       [][]T
	i       [][]int64
	i8      [][]int8
	i32     [][]int32
	index   []int // of each tensor, into f, i, i8 or i32
	pcg     *rand.PCG
}

// NewStore allocates the tensors of the table, zeroed: the float ones
// into f and the int64 ones into i, each numbered in table order (the
// k-th float tensor of the table is f[k]). It returns the Store and the
// generator of dropout's masks, seeded from seed. A table with more
// tensors than f or i can hold is a bug of the generator: NewStore panics.
func NewStore[T kernels.Float](tensors []Tensor, f [][]T, i [][]int64, seed uint64) (*Store[T], *rand.Rand) {
	return NewStoreInt8(tensors, f, i, nil, nil, seed)
}

// NewStoreInt8 is NewStore for a model with int8 layers: their int8
// weights go into i8 and their int32 biases into i32, numbered in table
// order as the others.
func NewStoreInt8[T kernels.Float](tensors []Tensor, f [][]T, i [][]int64, i8 [][]int8, i32 [][]int32, seed uint64) (*Store[T], *rand.Rand) {
	pcg := rand.NewPCG(seed, 0x64726f70)
	s := &Store[T]{tensors: tensors, f: f, i: i, i8: i8, i32: i32, index: make([]int, len(tensors)), pcg: pcg}
	var nf, ni, n8, n32 int
	for k, t := range tensors {
		n := 1
		for _, d := range t.Shape {
			n *= d
		}
		switch {
		case t.I64:
			s.index[k], ni = alloc(i, ni, n, "int64")
		case t.I8:
			s.index[k], n8 = alloc(i8, n8, n, "int8")
		case t.I32:
			s.index[k], n32 = alloc(i32, n32, n, "int32")
		default:
			s.index[k], nf = alloc(f, nf, n, "float")
		}
	}
	return s, rand.New(pcg)
}

// alloc allocates the next tensor of n elements of arr, whose first next
// are taken, and returns its index and the new count.
func alloc[E any](arr [][]E, next, n int, what string) (int, int) {
	if next == len(arr) {
		panic("nncrt: more " + what + " tensors in the table than the model holds")
	}
	arr[next] = make([]E, n)
	return next, next + 1
}

// Init initialises the parameters as PyTorch does by default, from seed:
// the same values `nnc run` starts from.
func (s *Store[T]) Init(seed uint64) {
	rng := rand.New(rand.NewPCG(seed, 0x6e6e63))
	for k, t := range s.tensors {
		if !t.isFloat() || t.State {
			continue
		}
		switch t.Init {
		case "uniform":
			bound := 1 / math.Sqrt(float64(t.FanIn))
			kernels.Uniform(s.f[s.index[k]], -bound, bound, rng)
		case "ones":
			kernels.Fill(s.f[s.index[k]], 1)
		case "normal":
			std := t.Std
			if std == 0 {
				std = 1
			}
			kernels.Normal(s.f[s.index[k]], 0, std, rng)
		}
	}
}

// State returns the tensors by name, floats and int64s apart, with their
// shapes: the slices themselves, not copies (not the int8 layers'
// tensors, which only a model without a training step has).
func (s *Store[T]) State() (f map[string][]T, i64 map[string][]int64, shapes map[string][]int) {
	f, i64, shapes = map[string][]T{}, map[string][]int64{}, map[string][]int{}
	for k, t := range s.tensors {
		switch {
		case t.I64:
			i64[t.Name] = s.i[s.index[k]]
		case t.isFloat():
			f[t.Name] = s.f[s.index[k]]
		default:
			continue
		}
		shapes[t.Name] = t.Shape
	}
	return f, i64, shapes
}

// RNGState returns the state of dropout's generator.
func (s *Store[T]) RNGState() []byte {
	b, _ := s.pcg.MarshalBinary()
	return b
}

// SetRNGState restores a state RNGState returned.
func (s *Store[T]) SetRNGState(b []byte) error { return s.pcg.UnmarshalBinary(b) }
