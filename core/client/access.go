package client

import (
	"context"
	"errors"

	"github.com/wasm2m/wasm2m/core/model"
)

// right is one bit of an ACL value (Access Control object, resource 2:
// "1st LSB: R (Read, Observe, Write-Attributes), 2nd: W (Write), 3rd: E
// (Execute), 4th: D (Delete), 5th: C (Create)").
type right uint8

const (
	rightRead right = 1 << iota
	rightWrite
	rightExecute
	rightDelete
	rightCreate
	rightsAll = rightRead | rightWrite | rightExecute | rightDelete | rightCreate
)

var rightNames = map[right]string{rightRead: "read", rightWrite: "write", rightExecute: "execute", rightDelete: "delete", rightCreate: "create"}

// aclInstance is what the engine reads of one Access Control instance.
type aclInstance struct {
	id       uint16
	obj      uint16
	inst     uint16 // 65535 (MAX_ID) for the object-level instance that grants Create
	acl      map[uint16]right
	owner    uint16
	hasOwner bool
}

// accessControlled reports whether access control applies: the client has
// the Access Control object and more than one device management server
// account (Core 1.1 section 7.3: with a single server, that server has
// every right and the object need not exist).
func (e *Engine) accessControlled() bool {
	return e.objs[objAccessControl] != nil && e.accountCount() > 1
}

// readACLs reads every Access Control instance. The reads carry the
// bootstrap marker: the engine reads what it needs whatever the object
// lets servers see.
func (e *Engine) readACLs(ctx context.Context) ([]aclInstance, error) {
	ctx = WithBootstrap(ctx)
	ids, err := e.instances(ctx, objAccessControl)
	if err != nil {
		return nil, err
	}
	var out []aclInstance
	for _, id := range ids {
		n, err := e.readNode(ctx, model.InstancePath(objAccessControl, id))
		if err != nil {
			if errors.Is(err, model.ErrNotFound) {
				continue
			}
			return nil, err
		}
		a := aclInstance{id: id, acl: map[uint16]right{}}
		o, ok1 := resourceOf(&n, 0)
		i, ok2 := resourceOf(&n, 1)
		ov, ok3 := intOf(o)
		iv, ok4 := intOf(i)
		if !ok1 || !ok2 || !ok3 || !ok4 || ov < 0 || ov > model.MaxID || iv < 0 || iv > model.NoID {
			continue
		}
		a.obj, a.inst = uint16(ov), uint16(iv)
		if v, ok := resourceOf(&n, 3); ok {
			if s, ok := intOf(v); ok && s >= 0 && s <= model.NoID {
				a.owner, a.hasOwner = uint16(s), true
			}
		}
		if r := n.Child(2); r != nil {
			for _, ri := range r.Children {
				if v, ok := intOf(ri.Value); ok {
					a.acl[ri.ID] = right(v) & rightsAll
				}
			}
		}
		out = append(out, a)
	}
	return out, nil
}

// rightsOf returns the rights server ssid has on instance /o/i (i may be
// 65535 for the object-level instance that grants Create), by Core 1.1
// section 7.3.2: the ACL resource instance of the server, else the owner
// has every right, else the default ACL resource instance (id 0), else
// none. Without an Access Control instance for the target the server has
// no right.
func rightsOf(acls []aclInstance, ssid, o, i uint16) right {
	for _, a := range acls {
		if a.obj != o || a.inst != i {
			continue
		}
		if r, ok := a.acl[ssid]; ok {
			return r
		}
		if a.hasOwner && a.owner == ssid {
			return rightsAll
		}
		return a.acl[0]
	}
	return 0
}

// allow checks that server ssid may do want on instance /o/i, and returns
// 4.01 Unauthorized when it may not (Core 1.1 section 6.3, every DM
// operation's table: "4.01 Unauthorized: access right permission
// denied"). Besides the ACLs of the Access Control object:
//   - a server may read, write and execute its own Server instance
//     (/1/x with /1/x/0 its short server id): it must be able to trigger
//     its own Update and read its own parameters whatever the ACLs say;
//   - the Access Control object itself is readable by every server, and
//     an instance of it is written or deleted by its owner only; no
//     server creates one (the client does, on Create).
func (e *Engine) allow(ctx context.Context, ssid, o, i uint16, want right) error {
	if ssid == 0 || !e.accessControlled() {
		return nil
	}
	deny := func() error {
		return model.Errorf(model.Unauthorized, "server %d has no %s right on /%d/%d", ssid, rightNames[want], o, i)
	}
	acls, err := e.readACLs(ctx)
	if err != nil {
		return err
	}
	switch o {
	case objAccessControl:
		if want == rightRead {
			return nil
		}
		for _, a := range acls {
			if a.id == i && a.hasOwner && a.owner == ssid && want != rightCreate {
				return nil
			}
		}
		return deny()
	case objServer:
		if i != model.NoID && want&(rightRead|rightWrite|rightExecute) != 0 {
			if v, ok := e.readValue(WithBootstrap(ctx), objServer, i, 0); ok {
				if s, ok := intOf(v); ok && s == int64(ssid) {
					return nil
				}
			}
		}
	}
	if rightsOf(acls, ssid, o, i)&want == 0 {
		return deny()
	}
	return nil
}

// grantOwner creates the Access Control instance of an instance that
// server ssid just created, with that server as its owner (Core 1.1
// section 7.3.1: the creating server becomes the Access Control Owner).
func (e *Engine) grantOwner(ctx context.Context, ssid, o, i uint16) {
	if !e.accessControlled() {
		return
	}
	acl := e.objs[objAccessControl]
	n := model.NewInstance(model.NoID,
		model.NewResource(0, model.Int(int64(o))),
		model.NewResource(1, model.Int(int64(i))),
		model.NewMultipleResource(2, model.NewResourceInstance(ssid, model.Int(int64(rightRead|rightWrite|rightExecute|rightDelete)))),
		model.NewResource(3, model.Int(int64(ssid))),
	)
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
		if a.obj == o && a.inst == i {
			_ = guardErr("delete", func() error { return acl.Delete(WithBootstrap(ctx), a.id) })
		}
	}
}
