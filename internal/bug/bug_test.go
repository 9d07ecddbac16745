package bug

import (
	"errors"
	"fmt"
	"runtime"
	"strings"
	"testing"
)

func panicking() (err error) {
	defer func() { err = Recovered(recover()) }()
	var s []int
	_ = s[3]
	return nil
}

func TestRecovered(t *testing.T) {
	err := fmt.Errorf("evaluation, batch 1: %w", panicking())
	if !errors.Is(err, ErrInternal) {
		t.Fatalf("%v is not ErrInternal", err)
	}
	if want := "evaluation, batch 1: internal error: runtime error: index out of range [3] with length 0 (please report it)"; err.Error() != want {
		t.Errorf("message %q, want %q", err, want)
	}
	if strings.Contains(err.Error(), "\n") {
		t.Errorf("message of more than one line: %q", err)
	}
	var re runtime.Error
	if !errors.As(err, &re) {
		t.Error("the runtime error is not unwrapped")
	}
	stack, ok := Stack(err)
	if !ok || !strings.Contains(string(stack), "bug.panicking") {
		t.Errorf("the stack does not hold the function that panicked:\n%s", stack)
	}
	if _, ok := Stack(errors.New("data.csv: no such file")); ok {
		t.Error("Stack found a stack in an ordinary error")
	}
	if errors.Is(errors.New("internal error"), ErrInternal) {
		t.Error("an error saying internal error is ErrInternal")
	}
	if (&Error{Panic: "x"}).Unwrap() != nil {
		t.Error("a panic with a string unwraps to an error")
	}
}
