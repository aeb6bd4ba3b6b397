package procplugin

import (
	"bytes"
	"context"
	"io"
	"sync"

	"github.com/wasm2m/wasm2m/sdk/abi"
)

// Serial returns h called one call at a time, each response copied before
// the next call: for a Handler whose response is valid only until its next
// call and that serves one call at a time, as a Wasm instance does
// (sdk/guest's Dispatcher). gRPC calls a Handler from many goroutines.
// Serial(h) is an io.Closer when h is.
func Serial(h Handler) Handler {
	s := &serial{h: h}
	if c, ok := h.(io.Closer); ok {
		return &closingSerial{s, c}
	}
	return s
}

type serial struct {
	mu sync.Mutex
	h  Handler
}

func (s *serial) Call(ctx context.Context, m abi.Method, req []byte) ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	resp, err := s.h.Call(ctx, m, req)
	return bytes.Clone(resp), err
}

type closingSerial struct {
	*serial
	io.Closer
}
