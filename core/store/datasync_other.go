//go:build !linux

package store

import "os"

// datasync makes the data written to file durable: elsewhere than on
// Linux, with fsync (on macOS, Go's File.Sync is F_FULLFSYNC).
func datasync(file *os.File) error { return file.Sync() }
