package transport

import (
	"encoding/binary"
	"net/netip"
	"slices"
	"strings"
	"sync"

	"github.com/wasm2m/wasm2m/core/model"
)

// Bounds of the block-wise state an endpoint keeps as a server: Block1
// bodies being reassembled and Block2 bodies being served. Each table
// holds at most maxBlockTransfers entries and 4×MaxBodySize bytes, the
// oldest evicted first, and an entry goes after PeerIdleTimeout unused.
const maxBlockTransfers = 1024

// blockKey identifies a block-wise transfer: the peer and the request it
// belongs to, whatever the token (RFC 7959 section 2.4 and 2.5 let a
// client change tokens between blocks).
type blockKey struct {
	peer netip.AddrPort
	req  string
}

type blockState struct {
	mu      sync.Mutex
	asm     ttlMap[blockKey, []byte]   // Block1 bodies so far
	bodies  ttlMap[blockKey, *Message] // Block2 responses, Payload the whole body
	maxBody int
}

func newBlockState(idle int64, maxBody int) *blockState {
	budget := 4 * maxBody
	return &blockState{
		asm:     newTTLMap[blockKey, []byte](idle, maxBlockTransfers, budget),
		bodies:  newTTLMap[blockKey, *Message](idle, maxBlockTransfers, budget),
		maxBody: maxBody,
	}
}

func (s *blockState) sweep(now int64) {
	s.mu.Lock()
	s.asm.sweep(now)
	s.bodies.sweep(now)
	s.mu.Unlock()
}

func (s *blockState) len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.asm.len() + s.bodies.len()
}

// requestKey identifies what a request asks for, for block-wise
// transfers: the method and every option except the block options, the
// size options, Observe and No-Response (RFC 7959 section 2.4, 2.5, and
// 2.10: they are not part of the cache key), plus the payload of a FETCH,
// whose payload selects the representation (RFC 8132 section 2).
func requestKey(m *Message) string {
	var b strings.Builder
	b.WriteByte(byte(m.Code))
	var hdr [4]byte
	for _, o := range m.Options {
		switch o.ID {
		case OptBlock1, OptBlock2, OptSize1, OptSize2, OptObserve, OptNoResponse:
			continue
		}
		binary.BigEndian.PutUint16(hdr[:2], o.ID)
		binary.BigEndian.PutUint16(hdr[2:], uint16(len(o.Value)))
		b.Write(hdr[:])
		b.Write(o.Value)
	}
	if m.Code == FETCH {
		b.WriteByte(0xff)
		b.Write(m.Payload)
	}
	return b.String()
}

// receiveBlock1 adds the block of r to its transfer (RFC 7959 section 2.5,
// atomic). It answers a block that is not the last with 2.31 Continue and
// returns false; it answers a block out of order with 4.08 and a body
// beyond MaxBodySize with 4.13, returning false; on the last block it sets
// r's payload to the whole body and returns true.
func (e *Endpoint) receiveBlock1(r *incoming, now int64) bool {
	m := r.msg
	b, _ := m.Block1() // validated by badCriticalOption
	if v, ok := m.Uint(OptSize1); ok && int64(v) > int64(e.cfg.MaxBodySize) {
		// RFC 7959 section 4: Size1 announces the size; refuse early.
		e.respond(r, tooLarge(e.cfg.MaxBodySize))
		return false
	}
	if b.More && len(m.Payload) != int(b.Size) {
		// RFC 7959 section 2.3: a block with M set carries exactly the
		// block size.
		e.respond(r, &Message{Code: model.BadRequest, Payload: []byte("block1 of the wrong size")})
		return false
	}
	key := blockKey{r.peer, r.requestKey()}
	off := int64(b.Num) * int64(b.Size)
	s := e.blocks
	s.mu.Lock()
	var body []byte
	if b.Num > 0 {
		prev, ok := s.asm.get(key, now)
		if !ok || int64(len(prev)) != off {
			s.asm.remove(key)
			s.mu.Unlock()
			// RFC 7959 section 2.9.2: not all earlier blocks are here.
			e.respond(r, &Message{Code: model.RequestEntityIncomplete})
			return false
		}
		body = prev
	}
	if off+int64(len(m.Payload)) > int64(e.cfg.MaxBodySize) {
		s.asm.remove(key)
		s.mu.Unlock()
		e.respond(r, tooLarge(e.cfg.MaxBodySize))
		return false
	}
	body = append(body, m.Payload...)
	if !b.More {
		s.asm.remove(key)
		s.mu.Unlock()
		m.Payload = body
		m.Remove(OptBlock1)
		m.Remove(OptSize1)
		r.block1, r.hasBlock1 = Block{Num: b.Num, Size: b.Size}, true
		return true
	}
	if b.Num == 0 {
		s.asm.put(key, body, cap(body), now)
	} else {
		s.asm.set(key, body, cap(body), now, true)
	}
	s.mu.Unlock()
	// RFC 7959 section 2.3 and 2.9.1: 2.31 Continue acknowledges the
	// block, and its SZX tells the size we prefer for the next ones.
	cont := &Message{Code: model.Continue}
	cont.SetBlock1(Block{Num: b.Num, More: true, Size: min(b.Size, e.cfg.BlockSize)})
	e.respond(r, cont)
	return false
}

// cachedBody returns the response whose later block r asks for, if it is
// still held.
func (s *blockState) cachedBody(r *incoming, now int64) *Message {
	key := blockKey{r.peer, r.requestKey()}
	s.mu.Lock()
	defer s.mu.Unlock()
	m, ok := s.bodies.get(key, now)
	if !ok {
		return nil
	}
	s.bodies.set(key, m, len(m.Payload), now, true)
	return m
}

// serveBlock2 returns the block of out that r asks for (block 0 if r has
// no Block2), with Block2 and Size2 set (RFC 7959 section 2.2 and 4), and
// keeps the whole body for the blocks that follow. A block beyond the end
// gets 4.02 Bad Option.
func (e *Endpoint) serveBlock2(r *incoming, out *Message) *Message {
	size := e.cfg.BlockSize
	var num uint32
	if r.hasBlock2 {
		num = r.block2.Num
		if r.block2.Size < size {
			size = r.block2.Size
		} else {
			// A client asking for larger blocks than ours gets the block
			// of our size that starts at the same offset.
			num = uint32(uint64(num) * uint64(r.block2.Size) / uint64(size))
		}
	}
	body := out.Payload
	off := int64(num) * int64(size)
	if off >= int64(len(body)) && num > 0 {
		return &Message{Code: model.BadOption, Token: out.Token, Payload: []byte("block2 beyond the end of the body")}
	}
	end := min(off+int64(size), int64(len(body)))
	more := end < int64(len(body))
	if more || num > 0 {
		e.blocks.keep(r, out, e.now())
	}
	blk := &Message{Code: out.Code, Token: out.Token, Options: slices.Clone(out.Options), Payload: body[off:end]}
	blk.SetBlock2(Block{Num: num, More: more, Size: size})
	blk.SetUint(OptSize2, clampUint32(len(body)))
	return blk
}

// keep stores the body of out for the later blocks of r, unless it is
// served from there already or larger than MaxBodySize.
func (s *blockState) keep(r *incoming, out *Message, now int64) {
	if r.cached || len(out.Payload) > s.maxBody {
		return
	}
	body := out.clone()
	body.Remove(OptBlock1)
	s.mu.Lock()
	s.bodies.put(blockKey{r.peer, r.requestKey()}, body, len(body.Payload), now)
	s.mu.Unlock()
}
