//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly)

package store

import "os"

// lockFile opens path, creating it. This platform has no flock: two Files
// on one path are not detected.
func lockFile(path string) (*os.File, error) {
	return os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
}

// syncDir does nothing: this platform cannot fsync a directory.
func syncDir(dir string) error { return nil }
