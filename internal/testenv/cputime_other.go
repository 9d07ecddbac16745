//go:build !linux

package testenv

import "testing"

// ThreadCPU runs f as b's loop, failing b on an error from it. Only Linux
// reports a thread's processor time (cputime_linux.go): here b has the
// wall clock alone.
func ThreadCPU(b *testing.B, f func() error) {
	for b.Loop() {
		if err := f(); err != nil {
			b.Fatal(err)
		}
	}
}
