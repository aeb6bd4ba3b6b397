package stdobj

import (
	"maps"
	"testing"

	"github.com/wasm2m/wasm2m/core/model"
)

// aclEntries: servers 101 and 102 (and 103 without any entry of its own).
var aclEntries = []ACLEntry{
	{InstanceID: 0, ObjectID: 3, ObjectInstanceID: 0, ACL: map[uint16]Access{0: AccessRead, 101: AccessRead | AccessWrite | AccessExecute}, Owner: 101},
	{InstanceID: 1, ObjectID: 3303, ObjectInstanceID: 0, ACL: map[uint16]Access{102: AccessRead}, Owner: 101},
	{InstanceID: 2, ObjectID: 3303, ObjectInstanceID: model.NoID, ACL: map[uint16]Access{102: AccessCreate}, Owner: model.NoID},
	{InstanceID: 3, ObjectID: 1, ObjectInstanceID: 0, Owner: 101},
	{InstanceID: 4, ObjectID: 5, ObjectInstanceID: 0, ACL: map[uint16]Access{101: AccessRead}, Owner: 101},
}

func TestAllowed(t *testing.T) {
	tests := []struct {
		name    string
		ssid    uint16
		op      Access
		path    string
		servers int
		want    bool
	}{
		// Core 1.1 section 7.3: a single server has every right.
		{"single server reads", 101, AccessRead, "/3/0/1", 1, true},
		{"single server deletes", 101, AccessDelete, "/3/0", 1, true},
		{"single server creates", 101, AccessCreate, "/3303", 1, true},
		{"single server, no entry", 101, AccessWrite, "/6/0", 1, true},
		{"single server, security", 101, AccessRead, "/0/0", 1, false},
		{"no server count", 101, AccessRead, "/6/0", 0, true},

		// The server's own ACL instance.
		{"own rights read", 101, AccessRead, "/3/0", 2, true},
		{"own rights write", 101, AccessWrite, "/3/0/13", 2, true},
		{"own rights execute", 101, AccessExecute, "/3/0/4", 2, true},
		{"own rights lack delete", 101, AccessDelete, "/3/0", 2, false},
		{"own rights, several needed", 101, AccessRead | AccessWrite, "/3/0", 2, true},
		{"own rights take precedence over ownership", 101, AccessWrite, "/5/0/1", 2, false},
		{"own rights of the owner still read", 101, AccessRead, "/5/0/3", 2, true},
		{"own rights of another", 102, AccessRead, "/3303/0/5700", 2, true},
		{"own rights of another lack write", 102, AccessWrite, "/3303/0/5750", 2, false},

		// The default, ACL instance 0.
		{"default read", 102, AccessRead, "/3/0/0", 2, true},
		{"default lacks write", 102, AccessWrite, "/3/0/13", 2, false},
		{"default for a server without entries", 103, AccessRead, "/3/0", 2, true},
		{"several rights, default has one", 102, AccessRead | AccessWrite, "/3/0", 2, false},

		// The owner without an ACL instance of its own.
		{"owner has every right", 101, AccessWrite, "/3303/0/5750", 2, true},
		{"owner deletes", 101, AccessDelete, "/3303/0", 2, true},
		{"owner with an empty acl", 101, AccessExecute, "/1/0/8", 2, true},
		{"not the owner, empty acl", 102, AccessRead, "/1/0", 2, false},
		{"not the owner, no default", 103, AccessRead, "/3303/0", 2, false},

		// Create: the object-level entry, instance MAX_ID.
		{"create granted", 102, AccessCreate, "/3303", 2, true},
		{"create with an instance id", 102, AccessCreate, "/3303/7", 2, true},
		{"create not granted", 101, AccessCreate, "/3303", 2, false},
		{"create without an object entry", 101, AccessCreate, "/3", 2, false},

		// No entry, no access.
		{"no entry", 101, AccessRead, "/6/0", 2, false},
		{"no entry for the instance", 101, AccessRead, "/3/1", 2, false},
		{"object level read is decided per instance", 101, AccessRead, "/3", 2, false},

		// The Access Control object itself.
		{"anyone reads an acl entry", 102, AccessRead, "/2/0", 2, true},
		{"anyone reads the acl object", 103, AccessRead, "/2", 2, true},
		{"owner writes its entry", 101, AccessWrite, "/2/0/2/102", 2, true},
		{"others do not write it", 102, AccessWrite, "/2/0/2", 2, false},
		{"nobody writes a bootstrap-owned entry", 102, AccessWrite, "/2/2", 2, false},
		{"absent entry", 101, AccessWrite, "/2/9", 2, false},
		{"write at object level", 101, AccessWrite, "/2", 2, false},
		{"no acl create", 101, AccessCreate, "/2", 2, false},
		{"no acl delete", 101, AccessDelete, "/2/0", 2, false},

		// Never.
		{"security read", 101, AccessRead, "/0/0", 2, false},
		{"security create", 101, AccessCreate, "/0", 2, false},
		{"ssid 0", 0, AccessRead, "/3/0", 2, false},
		{"ssid MAX_ID", model.NoID, AccessRead, "/3/0", 1, false},
		{"root", 101, AccessRead, "/", 1, false},

		// Discover needs no right.
		{"discover", 103, AccessNone, "/3303/0", 2, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := Allowed(aclEntries, tc.ssid, tc.op, p(tc.path), tc.servers); got != tc.want {
				t.Fatalf("allowed(%d, %s, %s, %d) = %v, want %v", tc.ssid, tc.op, tc.path, tc.servers, got, tc.want)
			}
		})
	}
	t.Run("object method agrees", func(t *testing.T) {
		a := NewAccessControl(aclEntries...)
		for _, tc := range tests {
			if got := a.Allowed(tc.ssid, tc.op, p(tc.path), tc.servers); got != tc.want {
				t.Fatalf("%s: allowed = %v, want %v", tc.name, got, tc.want)
			}
		}
	})
}

func TestAccessString(t *testing.T) {
	tests := []struct {
		a    Access
		want string
	}{
		{AccessNone, "-"},
		{AccessAll, "RWEDC"},
		{AccessRead | AccessDelete, "RD"},
		{AccessCreate, "C"},
	}
	for _, tc := range tests {
		t.Run(tc.want, func(t *testing.T) {
			if got := tc.a.String(); got != tc.want {
				t.Fatalf("%d = %q", tc.a, got)
			}
		})
	}
}

func sameEntries(t *testing.T, got, want []ACLEntry) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("entries %v, want %v", got, want)
	}
	for i := range got {
		g, w := got[i], want[i]
		if g.InstanceID != w.InstanceID || g.ObjectID != w.ObjectID || g.ObjectInstanceID != w.ObjectInstanceID ||
			g.Owner != w.Owner || len(g.ACL) != len(w.ACL) || !maps.Equal(g.ACL, w.ACL) {
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
		id, err := a.Add(ACLEntry{ObjectID: 3303, ObjectInstanceID: 1, Owner: 102})
		if err != nil || id != 0 {
			t.Fatalf("add = %d, %v", id, err)
		}
		id, err = a.Add(ACLEntry{ObjectID: 3303, ObjectInstanceID: 2, Owner: 102})
		if err != nil || id != 2 {
			t.Fatalf("add = %d, %v", id, err)
		}
		if e, ok := a.Entry(3303, 2); !ok || e.Owner != 102 || e.InstanceID != 2 {
			t.Fatalf("entry = %+v, %v", e, ok)
		}
	})
	t.Run("add refuses a second entry for a target", func(t *testing.T) {
		_, err := NewAccessControl(aclEntries...).Add(ACLEntry{ObjectID: 3, ObjectInstanceID: 0, Owner: 102})
		wantCode(t, err, model.BadRequest)
	})
	t.Run("remove target", func(t *testing.T) {
		a := NewAccessControl(aclEntries...)
		if !a.RemoveTarget(3303, 0) || a.RemoveTarget(3303, 0) {
			t.Fatal("remove target twice did not give true then false")
		}
		sameEntries(t, a.Entries(), []ACLEntry{aclEntries[0], aclEntries[2], aclEntries[3], aclEntries[4]})
		if a.Allowed(101, AccessRead, p("/3303/0"), 2) {
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
		_, err := a.Create(boot, ACLEntry{InstanceID: 9, ObjectID: 3, Owner: 102}.node())
		wantCode(t, err, model.BadRequest)
		id, err := a.Create(boot, ACLEntry{InstanceID: 9, ObjectID: 3, ObjectInstanceID: 1, Owner: 102}.node())
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
