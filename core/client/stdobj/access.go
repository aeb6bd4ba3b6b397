package stdobj

import (
	"context"
	"fmt"
	"math"

	"github.com/wasm2m/wasm2m/core/model"
)

// Access is a set of access rights: the bits of an ACL resource instance
// of the Access Control object (object 2, resource 2).
type Access uint16

// The access rights, in the bit order of the ACL resource.
const (
	AccessRead    Access = 1 << iota // Read, Observe, Write-Attributes
	AccessWrite                      // Write
	AccessExecute                    // Execute
	AccessDelete                     // Delete
	AccessCreate                     // Create

	AccessNone Access = 0
	AccessAll         = AccessRead | AccessWrite | AccessExecute | AccessDelete | AccessCreate
)

// String returns the rights as letters, such as "RWE", or "-" for none.
func (a Access) String() string {
	var b []byte
	for i, c := range "RWEDC" {
		if a&(1<<i) != 0 {
			b = append(b, byte(c))
		}
	}
	if len(b) == 0 {
		return "-"
	}
	return string(b)
}

// ACLEntry is one Access Control object instance: the rights servers have
// on one object instance, or on the object itself (ObjectInstanceID
// model.NoID, where only Create means anything).
type ACLEntry struct {
	// InstanceID is the Access Control instance the entry lives in. The
	// constructor and Add choose it; Entries fills it in.
	InstanceID uint16
	// ObjectID and ObjectInstanceID name the object instance the entry
	// governs (resources 0 and 1).
	ObjectID         uint16
	ObjectInstanceID uint16
	// ACL holds the rights by Short Server ID; key 0 holds the default
	// rights of servers that have no key of their own (resource 2).
	ACL map[uint16]Access
	// Owner is the Short Server ID of the server that manages the entry,
	// or model.NoID when only the bootstrap server does (resource 3).
	Owner uint16
}

// Allowed reports whether the device management server with Short Server
// ID ssid may perform op on p, given the Access Control entries and the
// number of device management servers the client has accounts for (Core
// 1.1 section 7.3 and the Access Control object, Appendix E.3):
//
//   - the Security object (0) is never accessible to a device management
//     server, and ssid 0 and model.NoID are no server's;
//   - with a single server (servers <= 1), that server has every right on
//     every other object instance; the entries are not consulted;
//   - an op of AccessNone (Discover, which no right governs) is allowed;
//   - on the Access Control object itself, any server may read an entry,
//     only its owner may write it (and execute, though no resource is
//     executable), and no server may create or delete one: the client
//     manages them;
//   - Create of an instance of object o needs the Create right in the
//     entry for (o, model.NoID), whatever the depth of p;
//   - any other op needs p to be an instance or deeper, and the entry for
//     (o, i); no entry, no access. Within the entry, a server's own ACL
//     instance gives its rights; the owner without one has every right;
//     anyone else gets the default rights of ACL instance 0, or none.
//
// op may hold several rights, all of which are needed. The bootstrap
// server is not subject to access control: do not call Allowed for it.
// An operation on a whole object (Read or Observe of /3) is decided per
// instance: call Allowed for each instance and keep those allowed.
func Allowed(entries []ACLEntry, ssid uint16, op Access, p model.Path, servers int) bool {
	if p.IsRoot() || p.ObjectID() == SecurityID || ssid == 0 || ssid == model.NoID {
		return false
	}
	if servers <= 1 || op == AccessNone {
		return true
	}
	oid := p.ObjectID()
	if oid == AccessControlID {
		switch {
		case op&(AccessCreate|AccessDelete) != 0:
			return false
		case op&(AccessWrite|AccessExecute) != 0:
			if p.Len() < 2 {
				return false
			}
			for i := range entries {
				if entries[i].InstanceID == p.InstanceID() {
					return entries[i].Owner == ssid
				}
			}
			return false
		}
		return true // read
	}
	var iid uint16 = model.NoID
	if op&AccessCreate == 0 {
		if p.Len() < 2 {
			return false
		}
		iid = p.InstanceID()
	}
	for i := range entries {
		e := &entries[i]
		if e.ObjectID == oid && e.ObjectInstanceID == iid {
			return e.rights(ssid)&op == op
		}
	}
	return false
}

// rights returns what server ssid may do under e.
func (e *ACLEntry) rights(ssid uint16) Access {
	if a, ok := e.ACL[ssid]; ok {
		return a
	}
	if e.Owner == ssid {
		return AccessAll
	}
	return e.ACL[0] // the default, or none
}

// AccessControl is the Access Control object (2), version 1.1: one
// instance per ACLEntry. Servers may write the ACL and the owner of an
// entry; the client (through Add and RemoveTarget) and the bootstrap
// server create and delete entries. Allowed applies the rules to the
// entries held.
type AccessControl struct {
	*Object
}

// NewAccessControl returns the Access Control object holding entries,
// entry i in instance i. It panics on an entry whose ids do not fit the
// object's resources.
func NewAccessControl(entries ...ACLEntry) *AccessControl {
	a := &AccessControl{Object: New(coreDef(AccessControlID, model.V1_1))}
	for i, e := range entries {
		e.InstanceID = uint16(i)
		if err := a.AddInstance(e.node()); err != nil {
			panic("stdobj: new access control: " + err.Error())
		}
	}
	a.OnWrite(2, checkACL)
	a.OnCreate(func(ctx context.Context, inst uint16, n model.Node) error {
		e := entryOf(n)
		if _, dup := a.Entry(e.ObjectID, e.ObjectInstanceID); dup {
			return model.Errorf(model.BadRequest, "an entry for /%d/%d exists", e.ObjectID, e.ObjectInstanceID)
		}
		return nil
	})
	return a
}

// checkACL refuses ACL values that are not 16-bit masks (version 1.0 of
// the object gives no range; 1.1's 0..31 is checked by the definition).
func checkACL(ctx context.Context, inst uint16, v model.Node) error {
	for _, c := range v.Children {
		if n := c.Value.Int(); n < 0 || n > math.MaxUint16 {
			return model.Errorf(model.BadRequest, "acl %d: %d is not a 16-bit mask", c.ID, n)
		}
	}
	return nil
}

// node returns e as an Access Control instance node.
func (e ACLEntry) node() model.Node {
	acl := model.Node{Kind: model.KindMultipleResource, ID: 2}
	for ssid, a := range e.ACL {
		acl.Children = append(acl.Children, model.NewResourceInstance(ssid, model.Int(int64(a))))
	}
	acl.Sort()
	return model.NewInstance(e.InstanceID,
		model.NewResource(0, model.Int(int64(e.ObjectID))),
		model.NewResource(1, model.Int(int64(e.ObjectInstanceID))),
		acl,
		model.NewResource(3, model.Int(int64(e.Owner))),
	)
}

// entryOf reads an entry back from an instance node. Values that do not
// fit 16 bits read as model.NoID, which matches no object or server.
func entryOf(n model.Node) ACLEntry {
	id := func(rid uint16) uint16 {
		c := n.Child(rid)
		if c == nil || c.Value.Int() < 0 || c.Value.Int() > math.MaxUint16 {
			return model.NoID
		}
		return uint16(c.Value.Int())
	}
	e := ACLEntry{InstanceID: n.ID, ObjectID: id(0), ObjectInstanceID: id(1), Owner: id(3)}
	if acl := n.Child(2); acl != nil {
		e.ACL = make(map[uint16]Access, len(acl.Children))
		for _, c := range acl.Children {
			e.ACL[c.ID] = Access(c.Value.Int())
		}
	}
	return e
}

// Entries returns a copy of every entry, by instance id.
func (a *AccessControl) Entries() []ACLEntry {
	insts := a.snapshot()
	out := make([]ACLEntry, len(insts))
	for i, n := range insts {
		out[i] = entryOf(n)
	}
	return out
}

// Entry returns the entry governing object instance /objectID/instanceID
// (model.NoID for the object itself).
func (a *AccessControl) Entry(objectID, instanceID uint16) (ACLEntry, bool) {
	for _, e := range a.Entries() {
		if e.ObjectID == objectID && e.ObjectInstanceID == instanceID {
			return e, true
		}
	}
	return ACLEntry{}, false
}

// Add adds e for the client in the lowest free instance, as the client
// does when a server creates an object instance (Core 1.1 section 7.3:
// the creating server becomes the owner), and returns the instance id.
// It fails with 4.00 when an entry governs the same object instance.
func (a *AccessControl) Add(e ACLEntry) (uint16, error) {
	a.change.Lock()
	defer a.change.Unlock()
	if _, dup := a.Entry(e.ObjectID, e.ObjectInstanceID); dup {
		return 0, model.Errorf(model.BadRequest, "add acl entry: an entry for /%d/%d exists", e.ObjectID, e.ObjectInstanceID)
	}
	ids, _ := a.Instances(context.Background())
	e.InstanceID = 0
	for _, id := range ids {
		if id != e.InstanceID {
			break
		}
		e.InstanceID++
	}
	if err := a.AddInstance(e.node()); err != nil {
		return 0, fmt.Errorf("add acl entry: %w", err)
	}
	return e.InstanceID, nil
}

// RemoveTarget removes the entry governing /objectID/instanceID, as the
// client does when that instance is deleted; it reports whether there was
// one.
func (a *AccessControl) RemoveTarget(objectID, instanceID uint16) bool {
	e, ok := a.Entry(objectID, instanceID)
	if !ok {
		return false
	}
	return a.RemoveInstance(e.InstanceID) == nil
}

// Allowed applies the package's Allowed to the entries held.
func (a *AccessControl) Allowed(ssid uint16, op Access, p model.Path, servers int) bool {
	if servers <= 1 {
		return Allowed(nil, ssid, op, p, servers)
	}
	return Allowed(a.Entries(), ssid, op, p, servers)
}
