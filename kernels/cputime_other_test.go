//go:build !linux

package kernels

import "testing"

// threadCPU runs f as b's loop; only Linux reports a thread's processor
// time (cputime_linux_test.go), so here the wall clock alone.
func threadCPU(b *testing.B, f func()) {
	for b.Loop() {
		f()
	}
}
