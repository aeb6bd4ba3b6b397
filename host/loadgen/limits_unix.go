//go:build unix

package loadgen

import (
	"fmt"
	"syscall"
	"time"
)

// RaiseFileLimit raises the soft limit of open files (RLIMIT_NOFILE) to at
// least want, up to the hard limit, and returns the soft limit in force.
// It fails when the hard limit is below want.
func RaiseFileLimit(want int) (uint64, error) {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return 0, fmt.Errorf("loadgen: open file limit: %w", err)
	}
	if lim.Cur >= uint64(want) {
		return lim.Cur, nil
	}
	if lim.Max < uint64(want) {
		return lim.Cur, fmt.Errorf("loadgen: %d sockets need an open file limit of %d; the hard limit is %d (ulimit -Hn)", want-256, want, lim.Max)
	}
	lim.Cur = lim.Max
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return 0, fmt.Errorf("loadgen: raise the open file limit to %d: %w", lim.Max, err)
	}
	return lim.Cur, nil
}

// selfCPU returns the CPU time this process has used.
func selfCPU() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
