package loadgen

import (
	"syscall"
	"time"
)

// RaiseFileLimit has nothing to raise on Windows, where sockets are
// handles without a per-process limit of the Unix kind: it reports want.
func RaiseFileLimit(want int) (uint64, error) { return uint64(want), nil }

// selfCPU returns the CPU time this process has used (GetProcessTimes).
func selfCPU() time.Duration {
	h, err := syscall.GetCurrentProcess()
	if err != nil {
		return 0
	}
	var created, exited, kernel, user syscall.Filetime
	if syscall.GetProcessTimes(h, &created, &exited, &kernel, &user) != nil {
		return 0
	}
	// Durations in 100 ns units (not instants, so not Filetime.Nanoseconds).
	ticks := func(f syscall.Filetime) int64 { return int64(f.HighDateTime)<<32 | int64(f.LowDateTime) }
	return time.Duration((ticks(kernel) + ticks(user)) * 100)
}
