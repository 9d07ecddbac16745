package kernels

import (
	"runtime"
	"syscall"
	"testing"
)

// threadCPU runs f as b's loop on one locked thread and reports the
// thread's processor time per call as cpu-ns/op: on a machine other
// programs share, the wall clock counts their time too. f must not hand
// work to other goroutines (NNC_THREADS=1).
func threadCPU(b *testing.B, f func()) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	var r0, r1 syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_THREAD, &r0)
	n := 0
	for b.Loop() {
		f()
		n++
	}
	syscall.Getrusage(syscall.RUSAGE_THREAD, &r1)
	ns := r1.Utime.Nano() + r1.Stime.Nano() - r0.Utime.Nano() - r0.Stime.Nano()
	b.ReportMetric(float64(ns)/float64(n), "cpu-ns/op")
}
