//go:build unix

package offline

import (
	"syscall"
	"testing"
	"time"
)

// reportCPU adds a cpu-ns/op metric: the process's CPU time per operation.
// On a shared machine ns/op counts the time other processes held the CPU;
// this does not. Call as defer reportCPU(b)().
func reportCPU(b *testing.B) func() {
	start := cpuTime()
	return func() {
		if b.N > 0 {
			b.ReportMetric(float64(cpuTime()-start)/float64(b.N), "cpu-ns/op")
		}
	}
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
