package interp

import (
	"github.com/nnc-go/nnc/ir"
	"github.com/nnc-go/nnc/kernels"
)

// PanicFirst makes each step of m start with f, which may panic: the tests
// see what Run makes of a panic that no data explains, a bug.
func PanicFirst[T kernels.Float](m *Machine[T], f func(n int)) {
	m.steps = append([]func(int){f}, m.steps...)
	m.stepOf = append([]*ir.Value{m.stepOf[0]}, m.stepOf...)
}
