//go:build wasip1

package guest

import (
	"context"
	"unsafe"

	"github.com/wasm2m/wasm2m/core/model"
	"github.com/wasm2m/wasm2m/sdk/abi"
)

// The Wasm side of ABI v1: the exports a host calls and the imports of
// module wasm2m_v1 (sdk/abi's ExportX and ImportX). A Wasm instance runs
// one export call at a time, so the buffers below need no lock.

var (
	dispatcher *Dispatcher // made at the first call, after every init ran
	callBuf    []byte      // the call buffer (wasm2m_buffer): requests land here
	lastErr    []byte      // the message of the last failed call
	reqScratch []byte      // host requests are encoded here
	resScratch []byte      // host responses are copied here
)

// minBuffer is the size of the first call buffer: most requests fit.
const minBuffer = 4096

func addr(b []byte) uint32 { return uint32(uintptr(unsafe.Pointer(unsafe.SliceData(b)))) }

//go:wasmexport wasm2m_abi_v1
func exportVersion() int32 { return abi.Minor }

//go:wasmexport wasm2m_buffer
func exportBuffer(size int32) int32 {
	if size < 0 {
		size = 0
	}
	if cap(callBuf) < int(size) || callBuf == nil {
		callBuf = make([]byte, max(int(size), 2*cap(callBuf), minBuffer))
	}
	callBuf = callBuf[:cap(callBuf)]
	return int32(addr(callBuf))
}

//go:wasmexport wasm2m_call
func exportCall(method, n int32) int64 {
	if dispatcher == nil {
		dispatcher = NewDispatcher(nil, nil)
	}
	if n < 0 || int(n) > len(callBuf) {
		return fail(model.Errorf(model.BadRequest, "request of %d bytes outside the call buffer of %d", n, len(callBuf)))
	}
	resp, err := dispatcher.Call(context.Background(), abi.Method(method), callBuf[:n])
	if err != nil {
		return fail(err)
	}
	if len(resp) == 0 {
		return 0
	}
	return abi.PackResult(addr(resp), uint32(len(resp)))
}

func fail(err error) int64 {
	lastErr = append(lastErr[:0], messageOf(err)...)
	return abi.PackStatus(abi.StatusOf(err))
}

//go:wasmexport wasm2m_last_error
func exportLastError() int64 {
	if len(lastErr) == 0 {
		return 0
	}
	return abi.PackResult(addr(lastErr), uint32(len(lastErr)))
}

//go:wasmimport wasm2m_v1 log
func importLog(level int32, ptr unsafe.Pointer, n int32)

//go:wasmimport wasm2m_v1 call
func importCall(method int32, ptr unsafe.Pointer, n int32) int32

//go:wasmimport wasm2m_v1 result
func importResult(ptr unsafe.Pointer, n int32) int32

// wasmHost is the host through the imports.
type wasmHost struct{}

func (wasmHost) Log(level Level, msg string) {
	importLog(int32(level), unsafe.Pointer(unsafe.StringData(msg)), int32(len(msg)))
}

// maxErrorMessage is room for the whole error message of a failed host
// call: the host cuts it to abi.MaxHostError bytes, and the result
// import's count is its length.
const maxErrorMessage = abi.MaxHostError

func (wasmHost) Call(_ context.Context, m abi.HostMethod, req []byte) ([]byte, error) {
	n := importCall(int32(m), unsafe.Pointer(unsafe.SliceData(req)), int32(len(req)))
	if n < 0 {
		buf := result(maxErrorMessage)
		return nil, abi.ErrorOf(-n, string(buf))
	}
	return result(int(n)), nil
}

// result copies the pending result of the last host call, at most n bytes,
// into the reused scratch buffer.
func result(n int) []byte {
	if n == 0 {
		return resScratch[:0]
	}
	if cap(resScratch) < n {
		resScratch = make([]byte, max(n, 2*cap(resScratch), 256))
	}
	b := resScratch[:n]
	got := importResult(unsafe.Pointer(unsafe.SliceData(b)), int32(n))
	return b[:max(0, min(int(got), n))]
}

func defaultHost() Host { return wasmHost{} }

// reqBuf returns the reused buffer host requests are encoded into; the
// host copies a request during the import call, so it is free again when
// the call returns.
func reqBuf() []byte { return reqScratch[:0] }

func keepReqBuf(b []byte) { reqScratch = b[:0] }

// logDefault is never called on wasip1, where the host is always there;
// it keeps log/slog out of plugins.
func logDefault(context.Context, Level, string) {}
