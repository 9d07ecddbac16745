//go:build !linux

package train_test

import "testing"

// threadCPU runs f as b's loop; only Linux reports a thread's processor
// time (cputime_linux_test.go), so here the wall clock alone.
func threadCPU(b *testing.B, f func() error) {
	for b.Loop() {
		if err := f(); err != nil {
			b.Fatal(err)
		}
	}
}
