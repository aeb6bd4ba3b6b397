//go:build !linux || !(amd64 || arm64)

package transport

import "net"

// newBatchWriter returns nil: datagrams go one WriteTo each.
func newBatchWriter(*net.UDPConn) batchWriter { return nil }
