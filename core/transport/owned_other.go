//go:build !linux || !(amd64 || arm64)

package transport

import "net"

// ownUDP is not available here: Config.BlockingReads is ignored.
func ownUDP(*net.UDPConn) (packetConn, batchReader, batchWriter, error) {
	return nil, nil, nil, errNotOwnable
}
