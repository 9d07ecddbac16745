//go:build !unix

package bench

import "time"

// cpuTime cannot be read where the system has no getrusage.
func cpuTime() (time.Duration, bool) { return 0, false }
