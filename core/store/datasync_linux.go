package store

import (
	"os"
	"syscall"
)

// datasync makes the data written to file durable, and the metadata
// needed to read it back (its size), but not its times: fdatasync(2).
func datasync(file *os.File) error {
	for {
		err := syscall.Fdatasync(int(file.Fd()))
		if err != syscall.EINTR {
			return err
		}
	}
}
