package procplugin

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/wasm2m/wasm2m/core/model"
	"github.com/wasm2m/wasm2m/sdk/abi"
)

func TestCodec(t *testing.T) {
	in := &abi.CallRequest{Method: int32(abi.MethodStoreKVGet), Request: []byte{1, 2, 3}}
	b, err := codec{}.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	var out abi.CallRequest
	if err := (codec{}).Unmarshal(b, &out); err != nil || out.Method != in.Method || string(out.Request) != string(in.Request) {
		t.Fatalf("round trip: %+v, %v", out, err)
	}
	if _, err := (codec{}).Marshal("not a message"); err == nil {
		t.Fatal("a string encoded")
	}
	if err := (codec{}).Unmarshal(b, new(int)); err == nil {
		t.Fatal("decoded into an int")
	}
}

func TestServerStatus(t *testing.T) {
	s := &server{h: HandlerFunc(func(_ context.Context, m abi.Method, req []byte) ([]byte, error) {
		if m == 1 {
			return req, nil
		}
		return nil, model.Errorf(model.NotFound, "no %d", m)
	})}
	resp, _ := s.call(context.Background(), &abi.CallRequest{Method: 1, Request: []byte("x")})
	if resp.Status != 0 || string(resp.Response) != "x" {
		t.Fatalf("ok call: %+v", resp)
	}
	resp, _ = s.call(context.Background(), &abi.CallRequest{Method: 7})
	if resp.Status != abi.StatusNotFound || resp.Error == "" {
		t.Fatalf("failed call: %+v", resp)
	}
	if err := abi.ErrorOf(resp.Status, resp.Error); !errors.Is(err, model.ErrNotFound) {
		t.Fatalf("status back to an error: %v", err)
	}
}

// nopStorage fails every method with a 5.00, so that a test sees which
// calls reach it.
type nopStorage struct{ Storage }

func TestStorageHandlerRefuses(t *testing.T) {
	h := StorageHandler(&abi.Manifest{ID: "storage.nop"}, nopStorage{})
	out, err := h.Call(context.Background(), abi.MethodManifest, nil)
	var m abi.Manifest
	if err != nil || m.Unmarshal(out) != nil || m.Kind != string(abi.KindStorage) || m.ID != "storage.nop" || m.ABIMinor != abi.Minor {
		t.Fatalf("manifest %+v, %v", m, err)
	}
	enc := func(v interface{ MarshalAppend([]byte) []byte }) []byte { return v.MarshalAppend(nil) }
	tests := []struct {
		name string
		m    abi.Method
		req  []byte
		want error
	}{
		{"registration without id", abi.MethodStorePutRegistration, enc(&abi.StorePutRegistrationRequest{Registration: &abi.Registration{Endpoint: "ep"}}), model.ErrBadRequest},
		{"registration without endpoint", abi.MethodStorePutRegistration, enc(&abi.StorePutRegistrationRequest{Registration: &abi.Registration{ID: "r"}}), model.ErrBadRequest},
		{"no registration", abi.MethodStorePutRegistration, nil, model.ErrBadRequest},
		{"observation without token", abi.MethodStorePutObservation, enc(&abi.StorePutObservationRequest{Observation: &abi.Observation{RegistrationID: "r"}}), model.ErrBadRequest},
		{"bytes that do not decode", abi.MethodStoreRegistration, []byte{0xff}, model.ErrBadRequest},
		{"not a storage method", abi.MethodObjectRead, nil, model.ErrNotImplemented},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := h.Call(context.Background(), tc.m, tc.req); !errors.Is(err, tc.want) {
				t.Fatalf("error %v, want %v", err, tc.want)
			}
		})
	}
}

func TestWatchParent(t *testing.T) {
	gone := make(chan struct{})
	go watchParent(-1, func() { close(gone) }) // no process has parent -1
	select {
	case <-gone:
	case <-time.After(5 * time.Second):
		t.Fatal("a changed parent went unnoticed")
	}
}

// TestServerCopiesResponse: gRPC encodes a response after the handler
// returned, so a Handler that reuses its buffer must not change it.
func TestServerCopiesResponse(t *testing.T) {
	buf := []byte("first")
	s := &server{h: HandlerFunc(func(context.Context, abi.Method, []byte) ([]byte, error) { return buf, nil })}
	resp, _ := s.call(context.Background(), &abi.CallRequest{Method: 1})
	copy(buf, "XXXXX") // the next call reuses the buffer
	if string(resp.Response) != "first" {
		t.Fatalf("response %q changed with the handler's buffer", resp.Response)
	}
}

// TestSerial: a Handler that reuses one buffer across calls, as
// sdk/guest's Dispatcher does, is safe from many goroutines behind Serial.
func TestSerial(t *testing.T) {
	var buf []byte
	h := Serial(HandlerFunc(func(_ context.Context, _ abi.Method, req []byte) ([]byte, error) {
		buf = append(buf[:0], req...)
		return buf, nil
	}))
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			want := []byte{byte(g), byte(g), byte(g)}
			for range 200 {
				out, err := h.Call(context.Background(), 1, want)
				if err != nil || string(out) != string(want) {
					t.Errorf("got %v, %v, want %v", out, err, want)
					return
				}
			}
		}()
	}
	wg.Wait()
}
