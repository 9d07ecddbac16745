package kernels

import (
	"fmt"
	"os"
	"os/exec"
	"testing"
)

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

// TestKernelsEnv checks that NNC_KERNELS caps the kernels a process uses,
// in child processes (the variable is read when the package starts).
func TestKernelsEnv(t *testing.T) {
	if os.Getenv("NNC_KERNELS_CHILD") != "" {
		fmt.Printf("avx512=%v avx2=%v\n", hasAVX512, hasAVX2)
		return
	}
	child := func(env string) (avx512, avx2 bool) {
		cmd := exec.Command(os.Args[0], "-test.run=^TestKernelsEnv$")
		cmd.Env = append(os.Environ(), "NNC_KERNELS_CHILD=1", "NNC_KERNELS="+env)
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("NNC_KERNELS=%s: %v", env, err)
		}
		if _, err := fmt.Sscanf(string(out), "avx512=%t avx2=%t", &avx512, &avx2); err != nil {
			t.Fatalf("NNC_KERNELS=%s: the child says %q", env, out)
		}
		return avx512, avx2
	}
	_, best2 := child("")
	if a512, a2 := child("avx2"); a512 || a2 != best2 {
		t.Errorf("NNC_KERNELS=avx2: avx512=%v avx2=%v, want false %v", a512, a2, best2)
	}
	if a512, a2 := child("portable"); a512 || a2 {
		t.Errorf("NNC_KERNELS=portable: avx512=%v avx2=%v, want none", a512, a2)
	}
}
