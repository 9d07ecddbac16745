//go:build unix

package train

import (
	"syscall"
	"time"
)

// cpuTime returns the processor time the process has used, user and
// system: what a benchmark on a machine shared with other work measures
// more steadily than the wall clock.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return time.Duration(time.Now().UnixNano())
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
