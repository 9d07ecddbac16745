// Package bug is the kind of error that reports a bug in nnc rather than a
// problem of the model or its data: a panic recovered at a boundary (a step
// of the interpreter), kept with the stack where it happened. Users see it
// as one line; tests fail on it and print the stack; NNC_DEBUG=1 makes the
// nnc command print the stack too.
//
// It is a package of its own, importing nothing of nnc, so that the
// packages that recover panics and the tests of every package (through
// internal/testenv) can name it without an import cycle.
package bug

import (
	"errors"
	"fmt"
	"runtime/debug"
)

// ErrInternal is the kind of every *Error: errors.Is(err, ErrInternal)
// reports whether err is, or wraps, a bug in nnc.
var ErrInternal = errors.New("internal error")

// Error is a recovered panic: the value panicked with and the stack of the
// goroutine that panicked.
type Error struct {
	Panic any
	Stack []byte
}

func (e *Error) Error() string {
	return fmt.Sprintf("internal error: %v (please report it)", e.Panic)
}

// Is makes every *Error match ErrInternal.
func (e *Error) Is(target error) bool { return target == ErrInternal }

// Unwrap returns the value panicked with when it is an error (a
// runtime.Error, say), else nil.
func (e *Error) Unwrap() error {
	err, _ := e.Panic.(error)
	return err
}

// Recovered returns the *Error of a panic with value r. Called in the
// deferred function that recovered r, it records the stack with the frames
// that panicked still on it.
func Recovered(r any) *Error { return &Error{Panic: r, Stack: debug.Stack()} }

// Stack returns the stack of the internal error err is or wraps, and
// whether there is one.
func Stack(err error) ([]byte, bool) {
	var e *Error
	if errors.As(err, &e) {
		return e.Stack, true
	}
	return nil, false
}
