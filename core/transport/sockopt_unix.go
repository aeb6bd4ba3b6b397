//go:build unix

package transport

import (
	"net"
	"os"
	"strconv"
	"strings"
	"syscall"
)

// readBufferSize returns the socket receive buffer the kernel granted
// (SO_RCVBUF). Linux reports twice the value it accepted, the other half
// being its bookkeeping allowance (socket(7)).
func readBufferSize(c *net.UDPConn) int {
	rc, err := c.SyscallConn()
	if err != nil {
		return 0
	}
	var n int
	_ = rc.Control(func(fd uintptr) {
		n, _ = syscall.GetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF)
	})
	return n
}

// readBufferLimit returns net.core.rmem_max, the most SetReadBuffer can
// get without privileges on Linux, or 0 where it cannot be read.
func readBufferLimit() int {
	b, err := os.ReadFile("/proc/sys/net/core/rmem_max")
	if err != nil {
		return 0
	}
	n, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	return n
}
