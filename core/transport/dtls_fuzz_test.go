package transport

import (
	"bytes"
	"testing"
)

// FuzzDTLSRecord feeds datagrams to the demultiplexer's record parsing:
// it must never panic, never read beyond the datagram, and agree with
// itself: what isClientHello accepts is an epoch 0 handshake record, and
// a connection ID is a slice of the datagram of the issued length.
func FuzzDTLSRecord(f *testing.F) {
	f.Add(clientHello(f))
	for _, s := range dtlsSeeds() {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		orig := bytes.Clone(b)
		for _, cl := range []int{0, cidLen} {
			r, ok := parseRecord(b, cl)
			if !ok {
				continue
			}
			if r.contentType == contentCID {
				if cl == 0 || len(r.cid) != cl || !bytes.Equal(r.cid, b[11:11+cl]) {
					t.Fatalf("cid %x with cidLen %d", r.cid, cl)
				}
			} else if r.cid != nil {
				t.Fatalf("cid %x in a record of type %d", r.cid, r.contentType)
			}
		}
		if isClientHello(b) {
			r, ok := parseRecord(b, 0)
			if !ok || r.contentType != contentHandshake || r.epoch != 0 || b[recordHeaderLen] != handshakeClientHello {
				t.Fatalf("ClientHello %x: record %+v %v", b, r, ok)
			}
		}
		if !bytes.Equal(b, orig) {
			t.Fatal("parsing changed the datagram")
		}
	})
}

// dtlsSeeds are records of every kind the demultiplexer meets, and broken
// ones.
func dtlsSeeds() [][]byte {
	rec := func(typ byte, epoch uint16, cid []byte, body []byte) []byte {
		b := []byte{typ, 0xfe, 0xfd, byte(epoch >> 8), byte(epoch), 0, 0, 0, 0, 0, 7}
		b = append(b, cid...)
		return append(append(b, byte(len(body)>>8), byte(len(body))), body...)
	}
	hs := func(typ byte, seq uint16, body []byte) []byte {
		n := len(body)
		h := []byte{typ, byte(n >> 16), byte(n >> 8), byte(n), byte(seq >> 8), byte(seq), 0, 0, 0, byte(n >> 16), byte(n >> 8), byte(n)}
		return append(h, body...)
	}
	hello := append([]byte{0xfe, 0xfd}, make([]byte, 32)...)
	hello = append(hello, 0, 0, 0, 2, 0xc0, 0xa8, 1, 0)
	cid := []byte{1, 2, 3, 4, 5, 6, 7, 8}
	ch := rec(22, 0, nil, hs(1, 0, hello))
	return [][]byte{
		ch,
		rec(22, 0, nil, hs(1, 1, append(hello[:34:34], 0, 20))), // cookie length beyond the body
		rec(22, 0, nil, hs(3, 0, []byte{0xfe, 0xff, 1, 9})),     // HelloVerifyRequest
		rec(23, 1, nil, []byte("encrypted application data")),
		rec(25, 1, cid, []byte("encrypted with a connection id")),
		rec(25, 1, cid[:4], []byte("short cid")),
		rec(21, 0, nil, []byte{2, 40}),
		rec(20, 0, nil, []byte{1}),
		append(ch, rec(23, 1, nil, []byte("second record"))...),
		ch[:20],
		{22, 0xfe, 0xfd},
		{},
	}
}
