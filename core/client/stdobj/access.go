package stdobj

import (
	"context"
	"fmt"
	"math"

	"github.com/wasm2m/wasm2m/core/client"
	"github.com/wasm2m/wasm2m/core/model"
)

// AccessControl is the Access Control object (2), version 1.1: one
// instance per client.ACL. Servers may write the ACL and the owner of an
// entry; the client (through Add and RemoveTarget) and the bootstrap
// server create and delete entries. The object only keeps the entries:
// client.Allowed is the one statement of the access control rules (Core
// 1.1 section 7.3), and the engine applies it to what Entries returns.
type AccessControl struct {
	*Object
}

// NewAccessControl returns the Access Control object holding entries,
// entry i in instance i (their InstanceID is ignored). It panics on an
// entry whose ids do not fit the object's resources.
func NewAccessControl(entries ...client.ACL) *AccessControl {
	a := &AccessControl{Object: New(coreDef(AccessControlID, model.V1_1))}
	for i, e := range entries {
		e.InstanceID = uint16(i)
		if err := a.AddInstance(e.Node()); err != nil {
			panic("stdobj: new access control: " + err.Error())
		}
	}
	a.OnWrite(2, checkACL)
	a.OnCreate(func(ctx context.Context, inst uint16, n model.Node) error {
		e, ok := entryOf(n)
		if !ok {
			return nil
		}
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

// entryOf reads an entry back from an instance node; ok is false for an
// instance that names no object instance (client.ParseACL).
func entryOf(n model.Node) (client.ACL, bool) {
	e, err := client.ParseACL(n)
	return e, err == nil
}

// Entries returns a copy of every entry, by instance id. An instance that
// names no object instance (written so by a bootstrap server) governs
// nothing and is left out.
func (a *AccessControl) Entries() []client.ACL {
	insts := a.snapshot()
	out := make([]client.ACL, 0, len(insts))
	for _, n := range insts {
		if e, ok := entryOf(n); ok {
			out = append(out, e)
		}
	}
	return out
}

// Entry returns the entry governing object instance /objectID/instanceID
// (model.NoID for the object itself).
func (a *AccessControl) Entry(objectID, instanceID uint16) (client.ACL, bool) {
	for _, e := range a.Entries() {
		if e.ObjectID == objectID && e.ObjectInstanceID == instanceID {
			return e, true
		}
	}
	return client.ACL{}, false
}

// Add adds e for the client in the lowest free instance, as the client
// does when a server creates an object instance (Core 1.1 section 7.3:
// the creating server becomes the owner), and returns the instance id.
// It fails with 4.00 when an entry governs the same object instance.
func (a *AccessControl) Add(e client.ACL) (uint16, error) {
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
	if err := a.AddInstance(e.Node()); err != nil {
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
