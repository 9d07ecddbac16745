package interp_test

import (
	"errors"
	"fmt"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/nnc-go/nnc/internal/testenv"
	"github.com/nnc-go/nnc/interp"
	"github.com/nnc-go/nnc/nncrt"
)

// TestInternalError: a step that panics where the batch explains nothing
// fails with an internal error, one line for the user, with the stack of
// the panic for tests and NNC_DEBUG, and leaves the parameters as they
// were.
func TestInternalError(t *testing.T) {
	p := compile(t, mlp)
	store := interp.NewStore[float32]()
	m := machine(t, p.TrainGraph, store)
	before := slices.Clone(store.F["fc1.weight"])
	short := []int{1, 2, 3}
	interp.PanicFirst(m, func(n int) { _ = short[n] })
	err := m.Run(5)
	if !errors.Is(err, interp.ErrInternal) {
		t.Fatalf("a panicking step gave %v, want an internal error", err)
	}
	if want := "internal error: runtime error: index out of range [5] with length 3 (please report it)"; err.Error() != want {
		t.Errorf("message %q, want %q", err, want)
	}
	var re runtime.Error
	if !errors.As(err, &re) {
		t.Errorf("%v does not wrap the runtime error", err)
	}
	var ie *interp.InternalError
	if !errors.As(err, &ie) || !strings.Contains(string(ie.Stack), "errors_test.go") {
		t.Errorf("the stack does not show where the step panicked:\n%s", ie.Stack)
	}
	if !slices.Equal(store.F["fc1.weight"], before) {
		t.Error("a step that failed changed fc1.weight")
	}
}

// TestDataErrorsAreNotInternal: the panics of the kernels that the batch
// explains are errors about the data, in the model's terms, not internal
// errors.
func TestDataErrorsAreNotInternal(t *testing.T) {
	p := compile(t, mlp)
	m := machine(t, p.TrainGraph, interp.NewStore[float32]())
	labels, _ := m.Targets()
	labels[3] = 7
	err := m.Run(4)
	testenv.NoInternal(t, err)
	if want := "target 7 of row 4 of the batch is outside the model's 3 classes"; err == nil || err.Error() != want {
		t.Errorf("target out of range: %v, want %s", err, want)
	}
	labels[3] = -1
	if err := m.Run(4); err == nil || !strings.Contains(err.Error(), "target -1 of row 4") {
		t.Errorf("negative target: %v", err)
	}

	bn := compile(t, `
model BN {
    fc = Linear(4, 3)
    bn = BatchNorm1d(3)
    forward(x: f32[N, 4]) {
        return bn(fc(x))
    }
}
train BN {
    data      = random(samples = 9, classes = 3)
    loss      = cross_entropy
    optimizer = SGD(lr = 0.1)
    epochs    = 1
    batch     = 8
}
`)
	m = machine(t, bn.TrainGraph, interp.NewStore[float32]())
	err = m.Run(1)
	testenv.NoInternal(t, err)
	if want := "batch norm at m.nn:6:16: a training batch of 1 row(s) gives 1 value(s) per channel, it needs more than 1"; err == nil || err.Error() != want {
		t.Errorf("batch norm over one row: %v, want %s", err, want)
	}
	if err := m.Run(2); err != nil {
		t.Errorf("batch norm over two rows: %v", err)
	}
}

// TestNonFiniteKind: the interpreter's diverging step is an
// nncrt.ErrNonFinite, as generated code's is, for the training loop.
func TestNonFiniteKind(t *testing.T) {
	var err error = &interp.NonFinite{Output: "loss"}
	if !errors.Is(fmt.Errorf("step: %w", err), nncrt.ErrNonFinite) || err.Error() != "the loss is not finite" {
		t.Errorf("%v", err)
	}
}
