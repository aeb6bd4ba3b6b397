//go:build !linux || !(amd64 || arm64)

package transport

import "net"

// newBatchReader returns nil: datagrams are read one ReadFrom each.
func newBatchReader(*net.UDPConn) batchReader { return nil }
