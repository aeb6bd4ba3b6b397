package client_test

import (
	"maps"
	"testing"

	"github.com/wasm2m/wasm2m/core/client"
	"github.com/wasm2m/wasm2m/core/client/stdobj"
	"github.com/wasm2m/wasm2m/core/model"
)

// aclTable: servers 101 and 102 (and 103 without any entry of its own).
// Server 103's Server instance /1/2 has an ACL of its own that only lets
// everyone read it; /1/1 has none.
var aclTable = []client.ACL{
	{InstanceID: 0, ObjectID: 3, ObjectInstanceID: 0, Rights: map[uint16]client.Right{0: client.RightRead, 101: client.RightRead | client.RightWrite | client.RightExecute}, Owner: 101},
	{InstanceID: 1, ObjectID: 3303, ObjectInstanceID: 0, Rights: map[uint16]client.Right{102: client.RightRead}, Owner: 101},
	{InstanceID: 2, ObjectID: 3303, ObjectInstanceID: model.NoID, Rights: map[uint16]client.Right{102: client.RightCreate}, Owner: model.NoID},
	{InstanceID: 3, ObjectID: 1, ObjectInstanceID: 0, Owner: 101},
	{InstanceID: 4, ObjectID: 5, ObjectInstanceID: 0, Rights: map[uint16]client.Right{101: client.RightRead}, Owner: 101},
	{InstanceID: 5, ObjectID: 1, ObjectInstanceID: 2, Rights: map[uint16]client.Right{0: client.RightRead}, Owner: model.NoID},
}

// ownServers maps the Server instances of the table's servers to their
// Short Server IDs, for the engine's implied ACLs.
var ownServers = map[uint16]uint16{0: 101, 1: 102, 2: 103}

func TestAllowed(t *testing.T) {
	const (
		R, W, E, D, C = client.RightRead, client.RightWrite, client.RightExecute, client.RightDelete, client.RightCreate
		none          = client.RightNone
	)
	tests := []struct {
		name    string
		ssid    uint16
		op      client.Right
		path    string
		servers int
		implied bool // with the engine's implied ACLs for Server instances no ACL governs
		want    bool
	}{
		// Core 1.1 section 7.3: a single server has every right.
		{"single server reads", 101, R, "/3/0/1", 1, false, true},
		{"single server deletes", 101, D, "/3/0", 1, false, true},
		{"single server creates", 101, C, "/3303", 1, false, true},
		{"single server, no entry", 101, W, "/6/0", 1, false, true},
		{"single server, security", 101, R, "/0/0", 1, false, false},
		{"single server, oscore", 101, R, "/21/0", 1, false, false},
		{"no server count", 101, R, "/6/0", 0, false, true},

		// The server's own ACL resource instance.
		{"own rights read", 101, R, "/3/0", 2, false, true},
		{"own rights write", 101, W, "/3/0/13", 2, false, true},
		{"own rights execute", 101, E, "/3/0/4", 2, false, true},
		{"own rights lack delete", 101, D, "/3/0", 2, false, false},
		{"own rights, several needed", 101, R | W, "/3/0", 2, false, true},
		{"own rights take precedence over ownership", 101, W, "/5/0/1", 2, false, false},
		{"own rights of the owner still read", 101, R, "/5/0/3", 2, false, true},
		{"own rights of another", 102, R, "/3303/0/5700", 2, false, true},
		{"own rights of another lack write", 102, W, "/3303/0/5750", 2, false, false},

		// The default, ACL resource instance 0.
		{"default read", 102, R, "/3/0/0", 2, false, true},
		{"default lacks write", 102, W, "/3/0/13", 2, false, false},
		{"default for a server without entries", 103, R, "/3/0", 2, false, true},
		{"several rights, default has one", 102, R | W, "/3/0", 2, false, false},

		// The owner without an ACL resource instance of its own.
		{"owner has every right", 101, W, "/3303/0/5750", 2, false, true},
		{"owner deletes", 101, D, "/3303/0", 2, false, true},
		{"owner with an empty acl", 101, E, "/1/0/8", 2, false, true},
		{"not the owner, empty acl", 102, R, "/1/0", 2, false, false},
		{"not the owner, no default", 103, R, "/3303/0", 2, false, false},

		// Create: the object-level ACL, instance MAX_ID.
		{"create granted", 102, C, "/3303", 2, false, true},
		{"create with an instance id", 102, C, "/3303/7", 2, false, true},
		{"create not granted", 101, C, "/3303", 2, false, false},
		{"create without an object entry", 101, C, "/3", 2, false, false},

		// No ACL, no access.
		{"no entry", 101, R, "/6/0", 2, false, false},
		{"no entry for the instance", 101, R, "/3/1", 2, false, false},
		{"object level read is decided per instance", 101, R, "/3", 2, false, false},

		// The Access Control object itself.
		{"anyone reads an acl entry", 102, R, "/2/0", 2, false, true},
		{"anyone reads the acl object", 103, R, "/2", 2, false, true},
		{"owner writes its entry", 101, W, "/2/0/2/102", 2, false, true},
		{"owner writes the owner of its entry", 101, W, "/2/0/3", 2, false, true},
		{"others do not write it", 102, W, "/2/0/2", 2, false, false},
		{"nobody writes a bootstrap-owned entry", 102, W, "/2/2", 2, false, false},
		{"absent entry", 101, W, "/2/9", 2, false, false},
		{"write at object level", 101, W, "/2", 2, false, false},
		{"no acl create", 101, C, "/2", 2, false, false},
		{"no acl delete", 101, D, "/2/0", 2, false, false},
		// One of the two rules the engine and stdobj disagreed on: the
		// owner manages its ACL's resources, not its existence.
		{"owner may not delete its own acl instance", 101, D, "/2/0", 2, true, false},
		{"owner may not delete another of its acl instances", 101, D, "/2/1", 2, false, false},

		// The other: a server's own Server instance. Only an ACL gives
		// rights on it; the engine implies one for a Server instance no
		// ACL governs, with Read, Write and Execute for its server.
		{"own server instance without an acl, nothing implied", 102, R, "/1/1", 2, false, false},
		{"own server instance, implied read", 102, R, "/1/1", 2, true, true},
		{"own server instance, implied write", 102, W, "/1/1/1", 2, true, true},
		{"own server instance, implied update trigger", 102, E, "/1/1/8", 2, true, true},
		{"own server instance, implied rights lack delete", 102, D, "/1/1", 2, true, false},
		{"own server instance, implied rights lack create", 102, C, "/1", 2, true, false},
		{"another's server instance, implied for it alone", 101, R, "/1/1", 2, true, false},
		{"another's server instance governed by its acl", 102, R, "/1/0", 2, true, false},
		{"own server instance governed by an acl of the owner", 101, D, "/1/0", 2, true, true},
		{"own server instance, its acl grants read", 103, R, "/1/2", 2, true, true},
		{"own server instance, its acl wins over the fallback", 103, W, "/1/2/1", 2, true, false},
		{"own server instance, its acl denies the update trigger", 103, E, "/1/2/8", 2, true, false},

		// Never.
		{"security read", 101, R, "/0/0", 2, false, false},
		{"security create", 101, C, "/0", 2, false, false},
		{"oscore read", 101, R, "/21/0", 2, true, false},
		{"ssid 0", 0, R, "/3/0", 2, false, false},
		{"ssid MAX_ID", model.NoID, R, "/3/0", 1, false, false},
		{"root", 101, R, "/", 1, false, false},

		// Discover needs no right.
		{"discover", 103, none, "/3303/0", 2, false, true},
	}
	run := func(t *testing.T, acls []client.ACL) {
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				a := acls
				if tc.implied {
					a = client.ImpliedServerACLs(acls, ownServers)
				}
				if got := client.Allowed(a, tc.ssid, tc.op, model.MustPath(tc.path), tc.servers); got != tc.want {
					t.Fatalf("allowed(%d, %s, %s, %d) = %v, want %v", tc.ssid, tc.op, tc.path, tc.servers, got, tc.want)
				}
			})
		}
	}
	t.Run("table", func(t *testing.T) { run(t, aclTable) })
	// The Access Control object of stdobj holds the same ACLs and gives
	// them back for the same decisions.
	t.Run("through the access control object", func(t *testing.T) {
		run(t, stdobj.NewAccessControl(aclTable...).Entries())
	})
}

func TestImpliedServerACLs(t *testing.T) {
	in := aclTable[:len(aclTable):len(aclTable)]
	out := client.ImpliedServerACLs(in, ownServers)
	if len(out) != len(in)+1 {
		t.Fatalf("%d acls, want %d", len(out), len(in)+1)
	}
	got := out[len(out)-1]
	if got.InstanceID != model.NoID || got.ObjectID != 1 || got.ObjectInstanceID != 1 || got.Owner != model.NoID ||
		!maps.Equal(got.Rights, map[uint16]client.Right{102: client.RightRead | client.RightWrite | client.RightExecute}) {
		t.Fatalf("implied acl %+v", got)
	}
	if same := client.ImpliedServerACLs(in, map[uint16]uint16{0: 101, 2: 103}); len(same) != len(in) {
		t.Fatalf("governed server instances got implied acls: %+v", same)
	}
	if none := client.ImpliedServerACLs(nil, nil); none != nil {
		t.Fatalf("implied acls of nothing: %+v", none)
	}
}

func TestRightString(t *testing.T) {
	tests := []struct {
		r    client.Right
		want string
	}{
		{client.RightNone, "-"},
		{client.RightAll, "RWEDC"},
		{client.RightRead | client.RightDelete, "RD"},
		{client.RightCreate, "C"},
		{client.RightAll | 1<<10, "RWEDC"},
	}
	for _, tc := range tests {
		t.Run(tc.want, func(t *testing.T) {
			if got := tc.r.String(); got != tc.want {
				t.Fatalf("%d = %q", tc.r, got)
			}
		})
	}
}

func TestParseACL(t *testing.T) {
	inst := func(res ...model.Node) model.Node { return model.NewInstance(7, res...) }
	oid := model.NewResource(0, model.Int(3))
	iid := model.NewResource(1, model.Int(0))
	tests := []struct {
		name string
		node model.Node
		want client.ACL
		bad  bool
	}{
		{"complete", inst(oid, iid, model.NewMultipleResource(2, model.NewResourceInstance(0, model.Int(1)), model.NewResourceInstance(101, model.Int(7))), model.NewResource(3, model.Int(101))),
			client.ACL{InstanceID: 7, ObjectID: 3, ObjectInstanceID: 0, Rights: map[uint16]client.Right{0: 1, 101: 7}, Owner: 101}, false},
		{"object level", inst(oid, model.NewResource(1, model.Int(model.NoID)), model.NewResource(3, model.Int(model.NoID))),
			client.ACL{InstanceID: 7, ObjectID: 3, ObjectInstanceID: model.NoID, Owner: model.NoID}, false},
		{"unsigned and float ids", inst(model.NewResource(0, model.Uint(3)), model.NewResource(1, model.Float(2)), model.NewResource(3, model.Int(5))),
			client.ACL{InstanceID: 7, ObjectID: 3, ObjectInstanceID: 2, Owner: 5}, false},
		{"no owner is the bootstrap server's", inst(oid, iid),
			client.ACL{InstanceID: 7, ObjectID: 3, ObjectInstanceID: 0, Owner: model.NoID}, false},
		{"owner out of range", inst(oid, iid, model.NewResource(3, model.Int(1<<16))),
			client.ACL{InstanceID: 7, ObjectID: 3, ObjectInstanceID: 0, Owner: model.NoID}, false},
		{"a mask out of range gives no right", inst(oid, iid, model.NewMultipleResource(2, model.NewResourceInstance(9, model.Int(-1)), model.NewResourceInstance(8, model.Int(1<<16))), model.NewResource(3, model.Int(9))),
			client.ACL{InstanceID: 7, ObjectID: 3, ObjectInstanceID: 0, Rights: map[uint16]client.Right{8: 0, 9: 0}, Owner: 9}, false},
		{"no object id", inst(iid), client.ACL{}, true},
		{"no object instance id", inst(oid), client.ACL{}, true},
		{"object id MAX_ID", inst(model.NewResource(0, model.Int(model.NoID)), iid), client.ACL{}, true},
		{"negative object instance id", inst(oid, model.NewResource(1, model.Int(-1))), client.ACL{}, true},
		{"string object id", inst(model.NewResource(0, model.String("3")), iid), client.ACL{}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := client.ParseACL(tc.node)
			if tc.bad {
				if model.CodeOf(err) != model.BadRequest {
					t.Fatalf("parse = %+v, %v; want 4.00", got, err)
				}
				return
			}
			if err != nil || got.InstanceID != tc.want.InstanceID || got.ObjectID != tc.want.ObjectID ||
				got.ObjectInstanceID != tc.want.ObjectInstanceID || got.Owner != tc.want.Owner || !maps.Equal(got.Rights, tc.want.Rights) {
				t.Fatalf("parse = %+v, %v; want %+v", got, err, tc.want)
			}
			// What parses goes back to the same node, less what did not
			// parse.
			back, err := client.ParseACL(got.Node())
			if err != nil || back.Owner != got.Owner || !maps.Equal(back.Rights, got.Rights) {
				t.Fatalf("round trip = %+v, %v; want %+v", back, err, got)
			}
		})
	}
}
