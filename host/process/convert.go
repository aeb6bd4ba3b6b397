package process

import (
	"net/netip"
	"time"

	"github.com/wasm2m/wasm2m/core/link"
	"github.com/wasm2m/wasm2m/core/model"
	"github.com/wasm2m/wasm2m/core/store"
	"github.com/wasm2m/wasm2m/sdk/abi"
)

// Conversions between core/store's values and the ABI's storage messages.
// A valid value survives the round trip; what a plugin could have got
// wrong comes back as a 5.00 from the adapter (the plugin broke the
// contract) and as a 4.00 from StorageOf (the host sent nonsense).

func unixNano(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

func timeOf(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n).UTC()
}

func versionText(v model.Version) string {
	if v.IsZero() {
		return ""
	}
	return v.String()
}

func versionOf(s string) (model.Version, error) {
	if s == "" {
		return model.Version{}, nil
	}
	return model.ParseVersion(s)
}

// RegistrationOf returns r as a message.
func RegistrationOf(r *store.Registration) *abi.Registration {
	if r == nil {
		return nil
	}
	m := &abi.Registration{
		ID:                   r.ID,
		Endpoint:             r.Endpoint,
		Lifetime:             r.Lifetime,
		LWM2MVersion:         versionText(r.Version),
		Binding:              r.Binding,
		Queue:                r.Queue,
		Sms:                  r.SMS,
		RootPath:             r.RootPath,
		RegisteredAtUnixNano: unixNano(r.RegisteredAt),
		UpdatedAtUnixNano:    unixNano(r.UpdatedAt),
		Secure:               r.Secure,
		Identity:             r.Identity,
	}
	if r.Address.IsValid() {
		m.Address = r.Address.String()
	}
	if len(r.Objects) > 0 {
		m.Objects = make([]abi.RegisteredObject, len(r.Objects))
		for i, o := range r.Objects {
			m.Objects[i] = abi.RegisteredObject{ID: uint32(o.ID), Version: versionText(o.Version)}
			if len(o.Instances) > 0 {
				m.Objects[i].Instances = make([]uint32, len(o.Instances))
				for j, id := range o.Instances {
					m.Objects[i].Instances[j] = uint32(id)
				}
			}
		}
	}
	if len(r.ContentFormats) > 0 {
		m.ContentFormats = make([]uint32, len(r.ContentFormats))
		for i, f := range r.ContentFormats {
			m.ContentFormats[i] = uint32(f)
		}
	}
	return m
}

// RegistrationModel returns the registration m describes, or a 4.00 for a
// field out of range.
func RegistrationModel(m *abi.Registration) (*store.Registration, error) {
	if m == nil {
		return nil, model.Errorf(model.BadRequest, "registration: missing")
	}
	r := &store.Registration{
		ID:           m.ID,
		Endpoint:     m.Endpoint,
		Lifetime:     m.Lifetime,
		Binding:      m.Binding,
		Queue:        m.Queue,
		SMS:          m.Sms,
		RootPath:     m.RootPath,
		RegisteredAt: timeOf(m.RegisteredAtUnixNano),
		UpdatedAt:    timeOf(m.UpdatedAtUnixNano),
		Secure:       m.Secure,
		Identity:     m.Identity,
	}
	var err error
	if r.Version, err = versionOf(m.LWM2MVersion); err != nil {
		return nil, model.Errorf(model.BadRequest, "registration %q: version: %v", m.ID, err)
	}
	if m.Address != "" {
		if r.Address, err = netip.ParseAddrPort(m.Address); err != nil {
			return nil, model.Errorf(model.BadRequest, "registration %q: address: %v", m.ID, err)
		}
	}
	if len(m.Objects) > 0 {
		r.Objects = make([]link.Object, len(m.Objects))
		for i, o := range m.Objects {
			if o.ID > model.MaxID {
				return nil, model.Errorf(model.BadRequest, "registration %q: object id %d", m.ID, o.ID)
			}
			r.Objects[i].ID = uint16(o.ID)
			if r.Objects[i].Version, err = versionOf(o.Version); err != nil {
				return nil, model.Errorf(model.BadRequest, "registration %q: object %d: version: %v", m.ID, o.ID, err)
			}
			if len(o.Instances) > 0 {
				r.Objects[i].Instances = make([]uint16, len(o.Instances))
				for j, id := range o.Instances {
					if id > model.MaxID {
						return nil, model.Errorf(model.BadRequest, "registration %q: object %d: instance id %d", m.ID, o.ID, id)
					}
					r.Objects[i].Instances[j] = uint16(id)
				}
			}
		}
	}
	if len(m.ContentFormats) > 0 {
		r.ContentFormats = make([]uint16, len(m.ContentFormats))
		for i, f := range m.ContentFormats {
			if f > 0xffff {
				return nil, model.Errorf(model.BadRequest, "registration %q: content format %d", m.ID, f)
			}
			r.ContentFormats[i] = uint16(f)
		}
	}
	return r, nil
}

// ObservationOf returns o as a message.
func ObservationOf(o *store.Observation) *abi.Observation {
	if o == nil {
		return nil
	}
	m := &abi.Observation{
		Token:             []byte(o.Token),
		RegistrationID:    o.RegistrationID,
		Endpoint:          o.Endpoint,
		Composite:         o.Composite,
		Format:            uint32(o.Format),
		CreatedAtUnixNano: unixNano(o.CreatedAt),
	}
	if len(o.Paths) > 0 {
		m.Paths = abi.PathsOf(o.Paths)
	}
	return m
}

// ObservationModel returns the observation m describes, or a 4.00.
func ObservationModel(m *abi.Observation) (*store.Observation, error) {
	if m == nil {
		return nil, model.Errorf(model.BadRequest, "observation: missing")
	}
	if m.Format > 0xffff {
		return nil, model.Errorf(model.BadRequest, "observation %x: format %d", m.Token, m.Format)
	}
	o := &store.Observation{
		Token:          string(m.Token),
		RegistrationID: m.RegistrationID,
		Endpoint:       m.Endpoint,
		Composite:      m.Composite,
		Format:         uint16(m.Format),
		CreatedAt:      timeOf(m.CreatedAtUnixNano),
	}
	if len(m.Paths) > 0 {
		ps, err := abi.PathsModel(m.Paths)
		if err != nil {
			return nil, model.Errorf(model.BadRequest, "observation %x: %v", m.Token, err)
		}
		o.Paths = ps
	}
	return o, nil
}
