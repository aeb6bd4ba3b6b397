//go:build !linux

package loadgen

import "context"

const leanAvailable = false

func runLean(ctx context.Context, cfg *Config, rec *recorder, begin func() error, end func()) error {
	return errNoLean
}
