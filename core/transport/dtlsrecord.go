package transport

// The demultiplexer reads only the outer DTLS 1.2 record header (RFC 6347
// section 4.1) and, for a record of epoch 0, the handshake header behind it
// (section 4.2.2). Everything else is pion's business.

const (
	recordHeaderLen    = 13 // type, version, epoch, sequence number, length
	handshakeHeaderLen = 12 // type, length, message_seq, fragment_offset, fragment_length

	contentHandshake = 22
	contentCID       = 25 // tls12_cid, RFC 9146 section 4

	handshakeClientHello = 1

	// minClientHelloBody is the smallest ClientHello body: version (2),
	// random (32), session_id and cookie lengths (1 each), cipher suites
	// length (2) and one suite (2), compression methods length (1) and one
	// method (1).
	minClientHelloBody = 2 + 32 + 1 + 1 + 2 + 2 + 1 + 1
)

// recordInfo is what the demultiplexer needs to know of a datagram's first
// record.
type recordInfo struct {
	contentType byte
	epoch       uint16
	cid         []byte // a tls12_cid record's connection ID, a slice of the datagram
}

// parseRecord reads the first record header of a datagram. cidLen is the
// length of the connection IDs this side issues (0: none): a tls12_cid
// record carries one of that length between sequence number and length
// (RFC 9146 section 4). ok is false for anything that is not a plausible
// DTLS record: a version other than DTLS 1.0 or 1.2 (0xfeff, 0xfefd), a
// length beyond the datagram, or a tls12_cid record when this side issues
// no CIDs.
func parseRecord(b []byte, cidLen int) (r recordInfo, ok bool) {
	if len(b) < recordHeaderLen {
		return r, false
	}
	r.contentType = b[0]
	if b[1] != 0xfe || (b[2] != 0xff && b[2] != 0xfd) {
		return r, false
	}
	r.epoch = uint16(b[3])<<8 | uint16(b[4])
	lenAt := 11
	if r.contentType == contentCID {
		if cidLen == 0 || len(b) < recordHeaderLen+cidLen {
			return r, false
		}
		r.cid = b[11 : 11+cidLen]
		lenAt += cidLen
	} else if r.contentType < 20 || r.contentType > 24 {
		// RFC 6347 section 4.1: change_cipher_spec (20), alert (21),
		// handshake (22), application_data (23), heartbeat (24).
		return r, false
	}
	n := int(b[lenAt])<<8 | int(b[lenAt+1])
	if n == 0 || lenAt+2+n > len(b) {
		return r, false
	}
	return r, true
}

// isClientHello reports whether a datagram starts with what may create
// server state: a handshake record of epoch 0 whose first message is a
// ClientHello's first fragment (offset 0) with sane lengths. It reads the
// headers only: pion parses the body.
func isClientHello(b []byte) bool {
	r, ok := parseRecord(b, 0)
	if !ok || r.contentType != contentHandshake || r.epoch != 0 {
		return false
	}
	recLen := int(b[11])<<8 | int(b[12])
	if recLen < handshakeHeaderLen+minClientHelloBody {
		return false
	}
	h := b[recordHeaderLen : recordHeaderLen+recLen]
	if h[0] != handshakeClientHello {
		return false
	}
	msgLen := int(h[1])<<16 | int(h[2])<<8 | int(h[3])
	fragOff := int(h[6])<<16 | int(h[7])<<8 | int(h[8])
	fragLen := int(h[9])<<16 | int(h[10])<<8 | int(h[11])
	// A ClientHello is sent with message_seq 0, or 1 after a
	// HelloVerifyRequest (section 4.2.2); nothing larger is plausible.
	seq := int(h[4])<<8 | int(h[5])
	return seq <= 1 && fragOff == 0 && fragLen >= minClientHelloBody &&
		fragLen <= msgLen && msgLen <= 1<<14 && handshakeHeaderLen+fragLen <= recLen
}
