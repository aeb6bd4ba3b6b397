package server

import (
	"context"
	"errors"
	"log/slog"

	"github.com/wasm2m/wasm2m/core/model"
	"github.com/wasm2m/wasm2m/core/security"
	"github.com/wasm2m/wasm2m/core/store"
	"github.com/wasm2m/wasm2m/core/transport"
)

// identityOf returns the DTLS identity req came with (security.Of).
func identityOf(req *transport.Request) security.Identity { return security.Of(req.Identity) }

// authorize checks that the device that sent req may act as endpoint ep
// (security.Authorize against Config.Security). The error is a 4.03 to
// answer the device with, or a store failure.
func (s *Server) authorize(ctx context.Context, req *transport.Request, id security.Identity, ep string) error {
	err := security.Authorize(ctx, s.cfg.Security, id, ep)
	if err != nil && errors.Is(err, model.ErrForbidden) && s.log.Enabled(ctx, slog.LevelWarn) {
		s.log.Warn("device refused", "endpoint", ep, "addr", req.Peer.String(), "identity", id.String(), "err", err)
	}
	return err
}

// sameDevice checks that req comes from the device registration r belongs
// to: over the same kind of transport (DTLS or not) and, over DTLS, with
// the identity r was registered with, which must still be authorized (its
// credentials may have been removed or changed since). A device without
// DTLS is known by its registration id (and for Send, its address) alone,
// as Core 1.1 section 6.2.2 has it.
func (s *Server) sameDevice(ctx context.Context, req *transport.Request, r *store.Registration) error {
	id := identityOf(req)
	if id.Secure() != r.Secure {
		if r.Secure {
			return model.Errorf(model.Forbidden, "registration %s was made over DTLS", r.ID)
		}
		return model.Errorf(model.Forbidden, "registration %s was made without DTLS: register again", r.ID)
	}
	if !r.Secure {
		return nil
	}
	if id.String() != r.Identity {
		return model.Errorf(model.Forbidden, "registration %s belongs to another DTLS identity", r.ID)
	}
	return s.authorize(ctx, req, id, r.Endpoint)
}
