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

	"github.com/nnc-go/nnc/kernels"
)

// Tensor describes one persistent tensor of a generated model.
type Tensor struct {
	// Name is the tensor's name in the state_dict ("fc1.weight") or, for
	// optimizer state, in nnc's checkpoints ("optimizer.fc1.weight.exp_avg").
	Name  string
	Shape []int
	// I64 marks an int64 tensor (num_batches_tracked, optimizer.step);
	// the others hold the model's float type.
	I64 bool
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

// A Store is the persistent tensors of one model: the slices of its float
// and int64 arrays, in the order of its table.
type Store[T kernels.Float] struct {
	tensors []Tensor
	f       [][]T
	i       [][]int64
	index   []int // of each tensor, into f or i
	pcg     *rand.PCG
}

// NewStore allocates the tensors of the table, zeroed: the float ones
// into f and the int64 ones into i, each numbered in table order (the
// k-th float tensor of the table is f[k]). It returns the Store and the
// generator of dropout's masks, seeded from seed. A table with more
// tensors than f or i can hold is a bug of the generator: NewStore panics.
func NewStore[T kernels.Float](tensors []Tensor, f [][]T, i [][]int64, seed uint64) (*Store[T], *rand.Rand) {
	pcg := rand.NewPCG(seed, 0x64726f70)
	s := &Store[T]{tensors: tensors, f: f, i: i, index: make([]int, len(tensors)), pcg: pcg}
	nf, ni := 0, 0
	for k, t := range tensors {
		n := 1
		for _, d := range t.Shape {
			n *= d
		}
		if t.I64 {
			if ni == len(i) {
				panic("nncrt: more int64 tensors in the table than the model holds")
			}
			s.index[k], ni = ni, ni+1
			i[s.index[k]] = make([]int64, n)
		} else {
			if nf == len(f) {
				panic("nncrt: more float tensors in the table than the model holds")
			}
			s.index[k], nf = nf, nf+1
			f[s.index[k]] = make([]T, n)
		}
	}
	return s, rand.New(pcg)
}

// Init initialises the parameters as PyTorch does by default, from seed:
// the same values `nnc run` starts from.
func (s *Store[T]) Init(seed uint64) {
	rng := rand.New(rand.NewPCG(seed, 0x6e6e63))
	for k, t := range s.tensors {
		if t.I64 || t.State {
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
// shapes: the slices themselves, not copies.
func (s *Store[T]) State() (f map[string][]T, i64 map[string][]int64, shapes map[string][]int) {
	f, i64, shapes = map[string][]T{}, map[string][]int64{}, map[string][]int{}
	for k, t := range s.tensors {
		if t.I64 {
			i64[t.Name] = s.i[s.index[k]]
		} else {
			f[t.Name] = s.f[s.index[k]]
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
