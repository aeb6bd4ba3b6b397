package client

import (
	"context"
	"errors"
	"maps"
	"math"
	"slices"

	"github.com/wasm2m/wasm2m/core/model"
)

// Right is a set of access rights: the bits of an ACL resource instance
// (Access Control object, resource 2: "1st LSB: R (Read, Observe,
// Write-Attributes), 2nd: W (Write), 3rd: E (Execute), 4th: D (Delete),
// 5th: C (Create)"; the other bits are reserved).
type Right uint16

// The access rights, in the bit order of the ACL resource.
const (
	RightRead    Right = 1 << iota // Read, Observe, Write-Attributes
	RightWrite                     // Write
	RightExecute                   // Execute
	RightDelete                    // Delete
	RightCreate                    // Create

	RightNone Right = 0 // what Discover needs: no right governs it
	RightAll        = RightRead | RightWrite | RightExecute | RightDelete | RightCreate
)

// String returns the rights as letters, such as "RWE", or "-" for none.
// Reserved bits are not shown.
func (r Right) String() string {
	var b []byte
	for i, c := range "RWEDC" {
		if r&(1<<i) != 0 {
			b = append(b, byte(c))
		}
	}
	if len(b) == 0 {
		return "-"
	}
	return string(b)
}

// ACL is one instance of the Access Control object (2): the rights servers
// have on one object instance, or on the object itself, where only Create
// means anything (Core 1.1 section 7.3 and Appendix E.3).
type ACL struct {
	// InstanceID is the Access Control instance the ACL lives in;
	// model.NoID for one the engine implies (see Allowed).
	InstanceID uint16
	// ObjectID and ObjectInstanceID name the object instance the ACL
	// governs (resources 0 and 1); ObjectInstanceID model.NoID (MAX_ID)
	// names the object itself, for Create.
	ObjectID         uint16
	ObjectInstanceID uint16
	// Rights holds the rights by Short Server ID (resource 2); key 0
	// holds the default rights of servers that have no key of their own.
	Rights map[uint16]Right
	// Owner is the Short Server ID of the server that manages the ACL
	// (resource 3, Access Control Owner), or model.NoID when only the
	// bootstrap server does.
	Owner uint16
}

// rights returns what server ssid may do under a (Core 1.1 section 7.3):
// the ACL resource instance of the server, else every right for the
// owner ("the Access Control Owner which doesn't have an ACL Resource
// Instance has full access right"), else the default ACL resource
// instance (id 0), else none.
func (a *ACL) rights(ssid uint16) Right {
	if r, ok := a.Rights[ssid]; ok {
		return r
	}
	if a.Owner == ssid {
		return RightAll
	}
	return a.Rights[0]
}

// Node returns a as an Access Control instance node whose ID is
// a.InstanceID, the ACL resource instances in ascending order.
func (a ACL) Node() model.Node {
	acl := model.Node{Kind: model.KindMultipleResource, ID: 2}
	for _, ssid := range slices.Sorted(maps.Keys(a.Rights)) {
		acl.Children = append(acl.Children, model.NewResourceInstance(ssid, model.Int(int64(a.Rights[ssid]))))
	}
	return model.NewInstance(a.InstanceID,
		model.NewResource(0, model.Int(int64(a.ObjectID))),
		model.NewResource(1, model.Int(int64(a.ObjectInstanceID))),
		acl,
		model.NewResource(3, model.Int(int64(a.Owner))),
	)
}

// ParseACL reads an ACL from an Access Control instance node. It fails
// with 4.00 when the Object ID or Object Instance ID is missing or out of
// range, since the ACL would govern nothing it can name. An Owner that is
// missing or out of range reads as model.NoID (the bootstrap server's),
// and an ACL resource instance whose value is not a 16-bit mask as no
// right: a malformed instance never gives a right.
func ParseACL(n model.Node) (ACL, error) {
	id := func(rid uint16, limit int64) (uint16, bool) {
		v, ok := resourceOf(&n, rid)
		if !ok {
			return model.NoID, false
		}
		i, ok := intOf(v)
		if !ok || i < 0 || i > limit {
			return model.NoID, false
		}
		return uint16(i), true
	}
	a := ACL{InstanceID: n.ID}
	var ok0, ok1 bool
	a.ObjectID, ok0 = id(0, model.MaxID)
	a.ObjectInstanceID, ok1 = id(1, model.NoID)
	if !ok0 || !ok1 {
		return ACL{}, model.Errorf(model.BadRequest, "access control instance %d: no valid object id and object instance id", n.ID)
	}
	a.Owner, _ = id(3, model.NoID)
	if r := n.Child(2); r != nil {
		a.Rights = make(map[uint16]Right, len(r.Children))
		for _, ri := range r.Children {
			v, ok := intOf(ri.Value)
			if !ok || v < 0 || v > math.MaxUint16 {
				v = 0
			}
			a.Rights[ri.ID] = Right(v)
		}
	}
	return a, nil
}

// Allowed reports whether the device management server with Short Server
// ID ssid may perform op on p, given the Access Control instances acls and
// the number of device management servers the client has accounts for.
// It is the one statement of the access control rules of Core 1.1 section
// 7.3 in wasm2m; the engine enforces what it says.
//
//   - The Security (0) and OSCORE (21) objects are never accessible to a
//     device management server (only the bootstrap server reaches them),
//     and ssid 0 and model.NoID are no server's.
//   - With a single server (servers <= 1), that server has every right on
//     every other object instance and acls are not consulted (section 7.3:
//     the Access Control object need not even exist).
//   - An op of RightNone (Discover, which no right governs) is allowed.
//   - On the Access Control object itself, any server may read an
//     instance (Read, Observe, Write-Attributes); only its Access Control
//     Owner may write it (resource 3: "only such an LwM2M Server can manage
//     the Resources of this Object Instance"; Execute likewise, though no
//     resource is executable); no server may create or delete one, its
//     owner included. Section 7.3 keeps one Access Control instance per
//     object instance: the client creates it when a server creates the
//     instance and deletes it with the instance, and the bootstrap server
//     provisions the rest. The owner manages the resources of its ACL, not
//     the ACL's existence: deleting it would leave an object instance that
//     no ACL governs. Anjay refuses Create and Delete on object 2 alike.
//   - Create of an instance of object o needs the Create right in the ACL
//     of (o, model.NoID), whatever the depth of p.
//   - Any other op needs p to be an instance or deeper, and the ACL of
//     (o, i): no ACL, no access. Within it, the server's own ACL resource
//     instance gives its rights; the owner without one has every right;
//     anyone else gets the default rights of ACL resource instance 0, or
//     none.
//
// op may hold several rights, all of which are needed. The bootstrap
// server is not subject to access control: do not call Allowed for it.
// An operation on a whole object (Read or Observe of /3) is decided per
// instance: call Allowed for each instance and keep those allowed.
//
// A server's own Server object instance (/1/x whose /1/x/0 is its Short
// Server ID) gets no right here that an ACL does not give it: section 7.3
// has no such exception, and a bootstrap server gives a server rights on
// its own instance with an ACL it provisions. The engine adds, before
// calling Allowed, an implied ACL only for a Server instance no ACL
// governs (see impliedServerACLs).
func Allowed(acls []ACL, ssid uint16, op Right, p model.Path, servers int) bool {
	if p.IsRoot() || hidden(p.ObjectID()) || ssid == 0 || ssid == model.NoID {
		return false
	}
	if servers <= 1 || op == RightNone {
		return true
	}
	oid := p.ObjectID()
	if oid == objAccessControl {
		switch {
		case op&(RightCreate|RightDelete) != 0:
			return false
		case op&(RightWrite|RightExecute) != 0:
			if p.Len() < 2 {
				return false
			}
			for i := range acls {
				if acls[i].InstanceID == p.InstanceID() {
					return acls[i].Owner == ssid
				}
			}
			return false
		}
		return true // read
	}
	var iid uint16 = model.NoID
	if op&RightCreate == 0 {
		if p.Len() < 2 {
			return false
		}
		iid = p.InstanceID()
	}
	for i := range acls {
		a := &acls[i]
		if a.ObjectID == oid && a.ObjectInstanceID == iid {
			return a.rights(ssid)&op == op
		}
	}
	return false
}

// impliedServerACLs returns acls with an implied ACL (InstanceID and Owner
// model.NoID) for every Server object instance that no ACL governs,
// granting the server whose instance it is Read, Write and Execute on it
// and nobody anything else. own maps Server instance IDs to the Short
// Server IDs they hold (/1/x/0).
//
// This is a fallback for configurations without those ACLs, not a rule
// over them: Core 1.1 section 7.3 wants an Access Control instance for
// every object instance, the Server instances included, and gives a
// server rights on its own Server instance only through one; an ACL that
// governs /1/x, even one that grants its server nothing, always decides.
// Without the fallback, a client provisioned with several servers but no
// ACL for their Server instances (a factory configuration, say) would
// lock every server out of its own Registration Update Trigger (/1/x/8)
// and registration parameters, with no way back short of a new bootstrap.
// The fallback grants what a server needs to manage its own account and
// nothing that changes who may reach it: neither Delete nor Create, and no
// right on another server's instance. Anjay has no such fallback (it
// denies what no ACL grants); the Leshan and Wakaama clients do not
// enforce access control at all.
func impliedServerACLs(acls []ACL, own map[uint16]uint16) []ACL {
	var out []ACL
	for _, inst := range slices.Sorted(maps.Keys(own)) {
		governed := false
		for i := range acls {
			if acls[i].ObjectID == objServer && acls[i].ObjectInstanceID == inst {
				governed = true
				break
			}
		}
		if governed {
			continue
		}
		if out == nil {
			out = slices.Clip(acls)
		}
		out = append(out, ACL{
			InstanceID: model.NoID, ObjectID: objServer, ObjectInstanceID: inst,
			Rights: map[uint16]Right{own[inst]: RightRead | RightWrite | RightExecute},
			Owner:  model.NoID,
		})
	}
	if out == nil {
		return acls
	}
	return out
}

// accessControlled reports whether access control applies: the client has
// the Access Control object and more than one device management server
// account (Core 1.1 section 7.3: with a single server, that server has
// every right and the object need not exist).
func (e *Engine) accessControlled() bool {
	return e.objs[objAccessControl] != nil && e.accountCount() > 1
}

// serverInstances returns how many device management accounts the client
// has, and their Server instance IDs with the Short Server ID of each.
func (e *Engine) serverInstances() (int, map[uint16]uint16) {
	e.mu.Lock()
	defer e.mu.Unlock()
	own := make(map[uint16]uint16, len(e.conns))
	for ssid, c := range e.conns {
		own[c.acct.srvID] = ssid
	}
	return len(e.conns), own
}

// readACLs reads every Access Control instance, skipping those that govern
// nothing (ParseACL). The reads carry the bootstrap marker: the engine
// reads what it needs whatever the object lets servers see.
func (e *Engine) readACLs(ctx context.Context) ([]ACL, error) {
	ctx = WithBootstrap(ctx)
	ids, err := e.instances(ctx, objAccessControl)
	if err != nil {
		return nil, err
	}
	out := make([]ACL, 0, len(ids))
	for _, id := range ids {
		n, err := e.readNode(ctx, model.InstancePath(objAccessControl, id))
		if err != nil {
			if errors.Is(err, model.ErrNotFound) {
				continue
			}
			return nil, err
		}
		n.ID = id
		if a, err := ParseACL(n); err == nil {
			out = append(out, a)
		}
	}
	return out, nil
}

// allow checks that server ssid may do want on instance /o/i (on object
// /o for Create, where i is ignored) as Allowed says, with the implied
// ACLs of the servers' own Server instances, and returns 4.01
// Unauthorized when it may not (Core 1.1 section 6.3, every DM
// operation's table: "4.01 Unauthorized: access right permission
// denied"). Without the Access Control object or with a single server,
// everything is allowed (section 7.3).
func (e *Engine) allow(ctx context.Context, ssid, o, i uint16, want Right) error {
	if ssid == 0 || e.objs[objAccessControl] == nil {
		return nil
	}
	servers, own := e.serverInstances()
	if servers <= 1 {
		return nil
	}
	p := model.InstancePath(o, i)
	if want&RightCreate != 0 {
		p = model.ObjectPath(o)
	}
	acls, err := e.readACLs(ctx)
	if err != nil {
		return err
	}
	if !Allowed(impliedServerACLs(acls, own), ssid, want, p, servers) {
		return model.Errorf(model.Unauthorized, "server %d lacks the %s right on %s", ssid, want, p)
	}
	return nil
}

// grantOwner creates the Access Control instance of an instance that
// server ssid just created, with that server as its owner (Core 1.1
// section 7.3: the creating server becomes the Access Control Owner).
func (e *Engine) grantOwner(ctx context.Context, ssid, o, i uint16) {
	if !e.accessControlled() {
		return
	}
	n := ACL{
		InstanceID: model.NoID, ObjectID: o, ObjectInstanceID: i,
		Rights: map[uint16]Right{ssid: RightRead | RightWrite | RightExecute | RightDelete},
		Owner:  ssid,
	}.Node()
	acl := e.objs[objAccessControl]
	if _, err := guard("create", func() (uint16, error) { return acl.Create(WithBootstrap(ctx), n) }); err != nil {
		e.log.Warn("create the access control instance of a new instance", "path", model.InstancePath(o, i).String(), "err", err)
	}
}

// dropACLs deletes the Access Control instances of a deleted instance.
func (e *Engine) dropACLs(ctx context.Context, o, i uint16) {
	if e.objs[objAccessControl] == nil || o == objAccessControl {
		return
	}
	acls, err := e.readACLs(ctx)
	if err != nil {
		return
	}
	acl := e.objs[objAccessControl]
	for _, a := range acls {
		if a.ObjectID == o && a.ObjectInstanceID == i {
			_ = guardErr("delete", func() error { return acl.Delete(WithBootstrap(ctx), a.InstanceID) })
		}
	}
}
