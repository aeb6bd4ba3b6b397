package bootstrap

import (
	"fmt"
	"slices"

	"github.com/wasm2m/wasm2m/core/link"
	"github.com/wasm2m/wasm2m/core/model"
	"github.com/wasm2m/wasm2m/core/store"
)

// Object ids of the Bootstrap interface (Core 1.1 Appendix E).
const (
	objSecurity      = 0
	objServer        = 1
	objAccessControl = 2
	objDevice        = 3
)

// device is what the server knows of a device's instances: from
// Bootstrap-Discover and Bootstrap-Read, with the configuration's
// Bootstrap-Deletes applied.
type device struct {
	// known is false when the device was not discovered (a 1.0 device,
	// or one that refused Bootstrap-Discover): the server then assumes
	// the common layout, the bootstrap account in /0/0.
	known bool
	// bsSec is the bootstrap account's Security instance, -1 if none was
	// seen.
	bsSec int
	// inst maps object id → instance id → short server id (0 if none
	// was reported).
	inst map[uint16]map[uint16]uint16
	// version is the enabler version the device reported on the root
	// link of Bootstrap-Discover; zero if unknown.
	version model.Version
}

// unknownDevice is the assumption made without Bootstrap-Discover.
func unknownDevice() *device {
	return &device{bsSec: 0, inst: map[uint16]map[uint16]uint16{objSecurity: {0: 0}}}
}

// discovered builds the device from the entries of a Bootstrap-Discover
// of / (Core 1.1 section 6.1.7.3): a Security instance with a uri and no
// ssid is the bootstrap account (the Bootstrap-Server has no short server
// id); the first such is kept as the bootstrap account.
func discovered(entries []link.Entry) *device {
	d := &device{known: true, bsSec: -1, inst: map[uint16]map[uint16]uint16{}}
	for _, e := range entries {
		if e.Path.IsRoot() {
			if v, ok := e.LWM2M.Get(); ok {
				d.version = v
			}
			continue
		}
		if e.Path.Level() != model.LevelInstance {
			continue
		}
		o, i := e.Path.ObjectID(), e.Path.InstanceID()
		ssid, _ := e.SSID.Get()
		if o == objSecurity && !e.SSID.IsSet() && d.bsSec < 0 {
			d.bsSec = int(i)
		}
		d.add(o, i, ssid)
	}
	return d
}

func (d *device) add(o, i, ssid uint16) {
	m := d.inst[o]
	if m == nil {
		m = map[uint16]uint16{}
		d.inst[o] = m
	}
	m[i] = ssid
}

// keep reports whether Bootstrap-Delete leaves instance i of object o:
// the bootstrap account and the Device object (Core 1.1 section 6.1.7.5).
func (d *device) keep(o, i uint16) bool {
	return o == objDevice || (o == objSecurity && d.bsSec >= 0 && int(i) == d.bsSec)
}

// delete applies a Bootstrap-Delete of p to what the server knows.
func (d *device) delete(p model.Path) {
	switch p.Level() {
	case model.LevelRoot:
		for o, m := range d.inst {
			for i := range m {
				if !d.keep(o, i) {
					delete(m, i)
				}
			}
		}
	case model.LevelObject:
		for i := range d.inst[p.ObjectID()] {
			if !d.keep(p.ObjectID(), i) {
				delete(d.inst[p.ObjectID()], i)
			}
		}
	case model.LevelInstance:
		if !d.keep(p.ObjectID(), p.InstanceID()) {
			delete(d.inst[p.ObjectID()], p.InstanceID())
		}
	}
}

// write is one Bootstrap-Write of a plan.
type write struct {
	path model.Path // an instance
	node model.Node
}

// plan is what a sequence sends: the deletes, then the writes.
type plan struct {
	deletes []model.Path
	writes  []write
}

// deletePaths returns the Bootstrap-Delete paths of c: "/" when c says
// nothing (nil), none for an empty slice.
func deletePaths(c *store.BootstrapConfig) ([]model.Path, error) {
	if c.Delete == nil {
		return []model.Path{model.RootPath()}, nil
	}
	out := make([]model.Path, 0, len(c.Delete))
	for _, s := range c.Delete {
		p, err := model.ParsePath(s)
		if err != nil {
			return nil, fmt.Errorf("delete %q: %w", s, err)
		}
		if p.Level() > model.LevelInstance {
			return nil, fmt.Errorf("delete %q: bootstrap-delete takes /, an object or an instance", s)
		}
		out = append(out, p)
	}
	return out, nil
}

// makePlan turns configuration c into the requests of a sequence against
// device d (whose state it updates as the deletes will): instance ids
// that c leaves to the server (0) go to the instance that already holds
// the same short server id, else to the lowest id neither the device nor
// c uses; no id ever lands on the bootstrap account.
func makePlan(c *store.BootstrapConfig, d *device) (*plan, error) {
	dels, err := deletePaths(c)
	if err != nil {
		return nil, err
	}
	for _, p := range dels {
		d.delete(p)
	}
	pl := &plan{deletes: dels}
	taken := map[uint16]map[uint16]bool{}
	take := func(o, i uint16) {
		if taken[o] == nil {
			taken[o] = map[uint16]bool{}
		}
		taken[o][i] = true
	}
	pick := func(o uint16, explicit uint16, ssid uint16) (uint16, error) {
		if explicit != 0 {
			if o == objSecurity && d.bsSec >= 0 && int(explicit) == d.bsSec {
				return 0, fmt.Errorf("%w: /0/%d", ErrCollision, explicit)
			}
			return explicit, nil // taken below, before any pick
		}
		if ssid != 0 {
			ids := make([]uint16, 0, len(d.inst[o]))
			for i, s := range d.inst[o] {
				if s == ssid && !taken[o][i] && !(o == objSecurity && int(i) == d.bsSec) {
					ids = append(ids, i)
				}
			}
			if len(ids) > 0 {
				i := slices.Min(ids)
				take(o, i)
				return i, nil
			}
		}
		for i := uint16(0); i <= model.MaxID; i++ {
			if _, used := d.inst[o][i]; used || taken[o][i] || (o == objSecurity && int(i) == d.bsSec) {
				continue
			}
			take(o, i)
			return i, nil
		}
		return 0, fmt.Errorf("bootstrap: no free instance id in /%d", o)
	}
	// Explicit ids first, so that a picked id never takes one the
	// configuration names later.
	takeExplicit := func(o, i uint16) error {
		if i == 0 {
			return nil
		}
		if taken[o][i] {
			return fmt.Errorf("bootstrap: /%d/%d given twice", o, i)
		}
		take(o, i)
		return nil
	}
	for _, s := range c.Servers {
		if err := takeExplicit(objSecurity, s.SecurityInstance); err != nil {
			return nil, err
		}
		if err := takeExplicit(objServer, s.ServerInstance); err != nil {
			return nil, err
		}
	}
	for _, a := range c.ACLs {
		if err := takeExplicit(objAccessControl, a.Instance); err != nil {
			return nil, err
		}
	}
	for _, s := range c.Servers {
		if s.ShortID == 0 || s.ShortID > model.MaxID {
			return nil, fmt.Errorf("bootstrap: short server id %d out of 1 to %d", s.ShortID, model.MaxID)
		}
		sec, err := pick(objSecurity, s.SecurityInstance, s.ShortID)
		if err != nil {
			return nil, err
		}
		srv, err := pick(objServer, s.ServerInstance, s.ShortID)
		if err != nil {
			return nil, err
		}
		pl.writes = append(pl.writes,
			write{model.InstancePath(objSecurity, sec), securityInstance(sec, &s)},
			write{model.InstancePath(objServer, srv), serverInstance(srv, &s)})
		d.add(objSecurity, sec, s.ShortID)
		d.add(objServer, srv, s.ShortID)
	}
	for _, a := range c.ACLs {
		id, err := pick(objAccessControl, a.Instance, 0)
		if err != nil {
			return nil, err
		}
		pl.writes = append(pl.writes, write{model.InstancePath(objAccessControl, id), aclInstance(id, &a)})
		d.add(objAccessControl, id, 0)
	}
	return pl, nil
}

// securityInstance is the Security instance of server account s (Core 1.1
// Appendix E.1): its URI, not a bootstrap account, its mode and keys, its
// short server id.
func securityInstance(id uint16, s *store.ServerAccount) model.Node {
	var pub, srvKey, secret []byte
	switch s.Mode {
	case store.ModePSK:
		pub, secret = []byte(s.PSKIdentity), s.PSK
	case store.ModeCertificate, store.ModeRPK:
		pub, srvKey, secret = s.Certificate, s.ServerCertificate, s.PrivateKey
	}
	return model.NewInstance(id,
		model.NewResource(0, model.String(s.URI)),
		model.NewResource(1, model.Bool(false)),
		model.NewResource(2, model.Int(int64(s.Mode))),
		model.NewResource(3, model.Opaque(nonNil(pub))),
		model.NewResource(4, model.Opaque(nonNil(srvKey))),
		model.NewResource(5, model.Opaque(nonNil(secret))),
		model.NewResource(10, model.Int(int64(s.ShortID))),
	)
}

func nonNil(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}

// defaultLifetime is the Server instance's Lifetime (/1/x/1, mandatory)
// when the configuration leaves it out: the registration default of Core
// 1.1 section 6.2.1.
const defaultLifetime = 86400

// serverInstance is the Server instance of server account s (Core 1.1
// Appendix E.2). Lifetime, Notification Storing and Binding are
// mandatory resources: a zero Lifetime is written as the default 86400 s.
func serverInstance(id uint16, s *store.ServerAccount) model.Node {
	lt := s.Lifetime
	if lt == 0 {
		lt = defaultLifetime
	}
	b := s.Binding
	if b == "" {
		b = "U"
	}
	res := []model.Node{
		model.NewResource(0, model.Int(int64(s.ShortID))),
		model.NewResource(1, model.Int(int64(lt))),
	}
	if s.DefaultPmin != 0 {
		res = append(res, model.NewResource(2, model.Int(int64(s.DefaultPmin))))
	}
	if s.DefaultPmax != 0 {
		res = append(res, model.NewResource(3, model.Int(int64(s.DefaultPmax))))
	}
	res = append(res,
		model.NewResource(6, model.Bool(s.NotificationStoring)),
		model.NewResource(7, model.String(b)))
	return model.NewInstance(id, res...)
}

// aclInstance is the Access Control instance of a (Core 1.1 Appendix E.3).
func aclInstance(id uint16, a *store.ACL) model.Node {
	res := []model.Node{
		model.NewResource(0, model.Int(int64(a.ObjectID))),
		model.NewResource(1, model.Int(int64(a.ObjectInstance))),
	}
	if len(a.Rights) > 0 {
		ris := make([]model.Node, 0, len(a.Rights))
		for ssid, bits := range a.Rights {
			ris = append(ris, model.NewResourceInstance(ssid, model.Int(int64(bits))))
		}
		res = append(res, model.NewMultipleResource(2, ris...))
	}
	res = append(res, model.NewResource(3, model.Int(int64(a.Owner))))
	return model.NewInstance(id, res...)
}
