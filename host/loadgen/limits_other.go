//go:build !unix && !windows

package loadgen

import "time"

// RaiseFileLimit has no limit to raise here: it reports want.
func RaiseFileLimit(want int) (uint64, error) { return uint64(want), nil }

// selfCPU is not known here: 0.
func selfCPU() time.Duration { return 0 }
