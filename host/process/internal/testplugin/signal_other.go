//go:build !unix

package main

import "os"

// stopSignal ends the plugin's process where no signal freezes it: the
// host then sees an exit rather than a hang.
var stopSignal os.Signal = os.Kill
