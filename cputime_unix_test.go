//go:build unix

package connmgr_test

import (
	"syscall"
	"time"
)

// processCPU returns the CPU time the process has used, in all its
// threads, or 0 where that is not known.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
