package kernels

import "testing"

// TestHelperPanic checks that a part that panics in a helper comes back to
// the caller as a value (the interpreter turns panics into errors; one in
// another goroutine would end the program) and that the helper goes on.
func TestHelperPanic(t *testing.T) {
	defer SetThreads(SetThreads(2))
	threads.Lock()
	h := threads.helpers[0]
	threads.Unlock()
	h.give(&gemmPart{m: 1, n: 1, k: 1, alpha: 1, lda: 1, ldb: 1, ldc: 1}) // no data: index out of range
	if f := h.wait(); f == nil {
		t.Fatal("a part that panicked reported nothing")
	}
	if !hasAVX512 {
		return
	}
	c := []float32{0}
	h.give(&gemmPart{m: 1, n: 1, k: 1, alpha: 1, a: []float32{2}, b: []float32{3}, c: c, lda: 1, ldb: 1, ldc: 1})
	if f := h.wait(); f != nil || c[0] != 6 {
		t.Fatalf("after a panic: c = %v, fault %v; want 6, none", c[0], f)
	}
}
