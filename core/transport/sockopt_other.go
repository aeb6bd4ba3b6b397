//go:build !unix

package transport

import "net"

func readBufferSize(*net.UDPConn) int { return 0 }

func readBufferLimit() int { return 0 }
