package procplugin

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/wasm2m/wasm2m/core/model"
	"github.com/wasm2m/wasm2m/sdk/abi"
)

type expiringStorage struct {
	nopStorage
	before time.Time
}

func (s *expiringStorage) Expired(_ context.Context, before time.Time, limit int) ([]string, error) {
	s.before = before
	return []string{"r1"}[:min(limit, 1)], nil
}

func (s *expiringStorage) DeleteExpired(_ context.Context, id string, before time.Time) (*abi.Registration, []abi.Observation, error) {
	if id != "r1" || !before.Equal(s.before) {
		return nil, nil, model.Errorf(model.NotFound, "not expired")
	}
	return &abi.Registration{ID: id, Endpoint: "ep"}, nil, nil
}

// TestStorageHandlerExpiry: the ABI 1.1 expiry methods reach a Storage
// that is an Expirer, and are 5.01 for one that is not.
func TestStorageHandlerExpiry(t *testing.T) {
	ctx := context.Background()
	before := time.Unix(1_700_000_000, 5)
	req := (&abi.StoreExpiredRequest{BeforeUnixNano: before.UnixNano(), Limit: 10}).MarshalAppend(nil)
	if _, err := StorageHandler(&abi.Manifest{ID: "storage.nop"}, nopStorage{}).Call(ctx, abi.MethodStoreExpired, req); !errors.Is(err, model.ErrNotImplemented) {
		t.Fatalf("a Storage without expiry: %v, want 5.01", err)
	}
	s := &expiringStorage{}
	h := StorageHandler(&abi.Manifest{ID: "storage.exp"}, s)
	out, err := h.Call(ctx, abi.MethodStoreExpired, req)
	var resp abi.StoreExpiredResponse
	if err != nil || resp.Unmarshal(out) != nil || len(resp.IDs) != 1 || !s.before.Equal(before) {
		t.Fatalf("expired: %v %v %v", resp.IDs, s.before, err)
	}
	del := (&abi.StoreDeleteExpiredRequest{ID: "r1", BeforeUnixNano: before.UnixNano()}).MarshalAppend(nil)
	out, err = h.Call(ctx, abi.MethodStoreDeleteExpired, del)
	var dr abi.StoreDeleteExpiredResponse
	if err != nil || dr.Unmarshal(out) != nil || dr.Registration.ID != "r1" {
		t.Fatalf("delete expired: %+v %v", dr, err)
	}
	if _, err := h.Call(ctx, abi.MethodStoreDeleteExpired, nil); !errors.Is(err, model.ErrBadRequest) {
		t.Fatalf("no id: %v, want 4.00", err)
	}
}
