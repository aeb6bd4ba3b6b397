//go:build unix

package main

import (
	"os"
	"syscall"
)

// stopSignal freezes the plugin's process, so that it hangs: alive, but
// answering nothing.
var stopSignal os.Signal = syscall.SIGSTOP
