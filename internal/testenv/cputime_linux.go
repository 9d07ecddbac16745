package testenv

import (
	"runtime"
	"syscall"
	"testing"
)

// ThreadCPU runs f as b's loop on one locked thread and reports the
// thread's processor time per call as cpu-ns/op beside the wall clock: on
// a machine other programs share, the wall clock counts their time too.
// f must not hand work to other goroutines (run with NNC_THREADS=1); an
// error from it fails b.
func ThreadCPU(b *testing.B, f func() error) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	var r0, r1 syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_THREAD, &r0)
	n := 0
	for b.Loop() {
		if err := f(); err != nil {
			b.Fatal(err)
		}
		n++
	}
	syscall.Getrusage(syscall.RUSAGE_THREAD, &r1)
	ns := r1.Utime.Nano() + r1.Stime.Nano() - r0.Utime.Nano() - r0.Stime.Nano()
	b.ReportMetric(float64(ns)/float64(n), "cpu-ns/op")
}
