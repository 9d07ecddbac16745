package main

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/nnc-go/nnc/internal/bug"
)

// TestDebugStack: with NNC_DEBUG set, the stack of an internal error is
// printed after its line; without it, or for other errors, nothing is.
func TestDebugStack(t *testing.T) {
	internal := fmt.Errorf("epoch 1, batch 1: %w", &bug.Error{Panic: "boom", Stack: []byte("goroutine 1 [running]:\nkernels.Gemm(...)\n")})
	for _, c := range []struct {
		debug string
		err   error
		want  string
	}{
		{"1", internal, "goroutine 1 [running]:\nkernels.Gemm(...)\n"},
		{"", internal, ""},
		{"1", errors.New("data.csv: no such file"), ""},
	} {
		t.Setenv("NNC_DEBUG", c.debug)
		var b bytes.Buffer
		debugStack(&b, c.err)
		if b.String() != c.want {
			t.Errorf("NNC_DEBUG=%q, %v: printed %q, want %q", c.debug, c.err, b.String(), c.want)
		}
	}
	if !strings.Contains(internal.Error(), "internal error: boom (please report it)") {
		t.Errorf("message %q", internal)
	}
}
