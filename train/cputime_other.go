//go:build !unix

package train

import "time"

// cpuTime is the wall clock where the system has no getrusage.
func cpuTime() time.Duration { return time.Duration(time.Now().UnixNano()) }
