package interp

import (
	"fmt"

	"github.com/nnc-go/nnc/internal/bug"
	"github.com/nnc-go/nnc/ir"
	"github.com/nnc-go/nnc/kernels"
)

// ErrInternal is the kind of the error of a step that panicked in a way the
// batch's data does not explain: a bug in nnc. errors.Is(err, ErrInternal)
// tells it from the errors of the model and its data; errors.As with a
// *InternalError gets the stack.
var ErrInternal = bug.ErrInternal

// InternalError is a panic recovered during a step, with its stack.
type InternalError = bug.Error

// panicked returns the error of a step of n rows that panicked with r. The
// kernels panic on a few properties of the data (a class target outside
// the classes, one value per channel for batch norm in training): when the
// batch has one of them, that is the error, said in the model's terms;
// any other panic is an internal error. Checking after the panic, not
// before each step, keeps the steps that succeed free of the checks.
func (m *Machine[T]) panicked(n int, at *ir.Value, r any) error {
	if e, ok := r.(*kernels.IDError); ok {
		// An id outside an embedding's table: say where in the batch.
		per := 1
		for _, a := range at.Args {
			if a.Type.DType == ir.I64 {
				per = a.Type.Shape.Size(1)
			}
		}
		return fmt.Errorf("token id %d at row %d, position %d of the batch is outside the %d ids of %s at %s", e.ID, e.Pos/per+1, e.Pos%per+1, e.Num, at.Op, at.Pos)
	}
	for _, v := range m.g.Values {
		// Class targets follow the logits they score.
		for i, t := range v.Args {
			if i == 0 || t.Op != ir.OpTarget {
				continue
			}
			logits := v.Args[i-1].Type.Shape
			c := logits[logits.Rank()-1]
			if y := m.bufs[t.ID].i32; len(y) >= n {
				if j := kernels.CheckTargets(y[:n], c); j >= 0 {
					return fmt.Errorf("target %d of row %d of the batch is outside the model's %d classes", y[j], j+1, c)
				}
			}
			if y, per := m.bufs[t.ID].i64, t.Type.Shape.Size(1); len(y) >= n*per {
				if j := kernels.CheckTargetsInt64(y[:n*per], c); j >= 0 {
					return fmt.Errorf("target %d at row %d, position %d of the batch is outside the model's %d classes", y[j], j/per+1, j%per+1, c)
				}
			}
		}
		if v.Op == ir.OpBatchNormTrain {
			if _, hw := v.Args[0].Type.Shape.Channels(); n*hw < 2 {
				return fmt.Errorf("batch norm at %s: a training batch of %d row(s) gives %d value(s) per channel, it needs more than 1", v.Pos, n, n*hw)
			}
		}
	}
	return bug.Recovered(r)
}
