package main

import (
	"io"
	"os"

	"github.com/nnc-go/nnc/internal/bug"
)

// debugStack writes the stack of the internal error err is or wraps (a
// panic inside nnc, recovered into an error of one line) to w, when the
// environment variable NNC_DEBUG is set: the one-line message is for users,
// the stack for whoever reports or fixes the bug.
func debugStack(w io.Writer, err error) {
	if os.Getenv("NNC_DEBUG") == "" {
		return
	}
	if stack, ok := bug.Stack(err); ok {
		w.Write(stack)
	}
}
