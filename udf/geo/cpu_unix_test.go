//go:build unix

package geo

import (
	"syscall"
	"time"
)

// processCPU is the CPU time this process has used, user and system. A
// benchmark reports it per operation because on a shared machine wall time
// also counts the time other processes held the cores.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
