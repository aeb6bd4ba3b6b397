package stdobj

import (
	"maps"
	"testing"

	"github.com/wasm2m/wasm2m/core/client"
	"github.com/wasm2m/wasm2m/core/model"
)

// aclEntries: servers 101 and 102 (and 103 without any entry of its own).
// The rules over them, client.Allowed, are tested in core/client.
var aclEntries = []client.ACL{
	{InstanceID: 0, ObjectID: 3, ObjectInstanceID: 0, Rights: map[uint16]client.Right{0: client.RightRead, 101: client.RightRead | client.RightWrite | client.RightExecute}, Owner: 101},
	{InstanceID: 1, ObjectID: 3303, ObjectInstanceID: 0, Rights: map[uint16]client.Right{102: client.RightRead}, Owner: 101},
	{InstanceID: 2, ObjectID: 3303, ObjectInstanceID: model.NoID, Rights: map[uint16]client.Right{102: client.RightCreate}, Owner: model.NoID},
	{InstanceID: 3, ObjectID: 1, ObjectInstanceID: 0, Owner: 101},
	{InstanceID: 4, ObjectID: 5, ObjectInstanceID: 0, Rights: map[uint16]client.Right{101: client.RightRead}, Owner: 101},
}

func sameEntries(t *testing.T, got, want []client.ACL) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("entries %v, want %v", got, want)
	}
	for i := range got {
		g, w := got[i], want[i]
		if g.InstanceID != w.InstanceID || g.ObjectID != w.ObjectID || g.ObjectInstanceID != w.ObjectInstanceID ||
			g.Owner != w.Owner || len(g.Rights) != len(w.Rights) || !maps.Equal(g.Rights, w.Rights) {
			t.Fatalf("entry %d = %+v, want %+v", i, g, w)
		}
	}
}

func TestAccessControl(t *testing.T) {
	t.Run("entries round trip", func(t *testing.T) {
		sameEntries(t, NewAccessControl(aclEntries...).Entries(), aclEntries)
	})
	t.Run("entry read by a server", func(t *testing.T) {
		a := NewAccessControl(aclEntries...)
		got, err := a.Read(ctx, p("/2/0"))
		want := model.NewInstance(0,
			model.NewResource(0, model.Int(3)),
			model.NewResource(1, model.Int(0)),
			model.NewMultipleResource(2, model.NewResourceInstance(0, model.Int(1)), model.NewResourceInstance(101, model.Int(7))),
			model.NewResource(3, model.Int(101)))
		if err != nil || !got.Equal(&want) {
			t.Fatalf("read = %v, %v; want %v", got, err, want)
		}
	})
	t.Run("add takes the lowest free instance", func(t *testing.T) {
		a := NewAccessControl(aclEntries[0], aclEntries[1])
		if err := a.RemoveInstance(0); err != nil {
			t.Fatal(err)
		}
		id, err := a.Add(client.ACL{ObjectID: 3303, ObjectInstanceID: 1, Owner: 102})
		if err != nil || id != 0 {
			t.Fatalf("add = %d, %v", id, err)
		}
		id, err = a.Add(client.ACL{ObjectID: 3303, ObjectInstanceID: 2, Owner: 102})
		if err != nil || id != 2 {
			t.Fatalf("add = %d, %v", id, err)
		}
		if e, ok := a.Entry(3303, 2); !ok || e.Owner != 102 || e.InstanceID != 2 {
			t.Fatalf("entry = %+v, %v", e, ok)
		}
	})
	t.Run("add refuses a second entry for a target", func(t *testing.T) {
		_, err := NewAccessControl(aclEntries...).Add(client.ACL{ObjectID: 3, ObjectInstanceID: 0, Owner: 102})
		wantCode(t, err, model.BadRequest)
	})
	t.Run("remove target", func(t *testing.T) {
		a := NewAccessControl(aclEntries...)
		if !a.RemoveTarget(3303, 0) || a.RemoveTarget(3303, 0) {
			t.Fatal("remove target twice did not give true then false")
		}
		sameEntries(t, a.Entries(), []client.ACL{aclEntries[0], aclEntries[2], aclEntries[3], aclEntries[4]})
		if client.Allowed(a.Entries(), 101, client.RightRead, p("/3303/0"), 2) {
			t.Fatal("access survives its entry")
		}
	})
	t.Run("writes", func(t *testing.T) {
		tests := []struct {
			name string
			path string
			node model.Node
			code model.Code
		}{
			{"acl instance", "/2/0/2/102", model.NewResourceInstance(102, model.Int(3)), 0},
			{"acl above 31", "/2/0/2/102", model.NewResourceInstance(102, model.Int(32)), model.BadRequest},
			{"acl negative", "/2/0/2/102", model.NewResourceInstance(102, model.Int(-1)), model.BadRequest},
			{"owner", "/2/0/3", model.NewResource(3, model.Int(102)), 0},
			{"object id is read-only", "/2/0/0", model.NewResource(0, model.Int(4)), model.MethodNotAllowed},
			{"object instance id is read-only", "/2/0/1", model.NewResource(1, model.Int(4)), model.MethodNotAllowed},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				wantCode(t, NewAccessControl(aclEntries...).Write(ctx, p(tc.path), tc.node, false), tc.code)
			})
		}
	})
	t.Run("create refuses a second entry for a target", func(t *testing.T) {
		a := NewAccessControl(aclEntries...)
		_, err := a.Create(boot, client.ACL{InstanceID: 9, ObjectID: 3, Owner: 102}.Node())
		wantCode(t, err, model.BadRequest)
		id, err := a.Create(boot, client.ACL{InstanceID: 9, ObjectID: 3, ObjectInstanceID: 1, Owner: 102}.Node())
		if err != nil || id != 9 {
			t.Fatalf("create = %d, %v", id, err)
		}
	})
	t.Run("acl of version 1.0 has no range but is 16 bits", func(t *testing.T) {
		if err := checkACL(ctx, 0, model.NewMultipleResourceOf(2, model.Int(1<<16))); model.CodeOf(err) != model.BadRequest {
			t.Fatalf("checkACL = %v", err)
		}
	})
}
