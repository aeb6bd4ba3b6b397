package stdobj

import (
	"strconv"

	"github.com/wasm2m/wasm2m/core/model"
	"github.com/wasm2m/wasm2m/core/objects"
)

// The object ids of the built-in objects.
const (
	SecurityID      uint16 = 0
	ServerID        uint16 = 1
	AccessControlID uint16 = 2
	DeviceID        uint16 = 3
	ConnectivityID  uint16 = 4
	FirmwareID      uint16 = 5
	LocationID      uint16 = 6
	TemperatureID   uint16 = 3303
)

// Definition returns the built-in definition (objects.Core) of object id
// at version v, or nil.
func Definition(id uint16, v model.Version) *model.ObjectDef {
	for _, d := range objects.Core() {
		if d.ID == id && d.Version == v {
			return d
		}
	}
	return nil
}

// coreDef is Definition for versions the package knows exist.
func coreDef(id uint16, v model.Version) *model.ObjectDef {
	d := Definition(id, v)
	if d == nil {
		panic("stdobj: no built-in definition of object " + strconv.Itoa(int(id)) + " version " + v.String())
	}
	return d
}

// pick returns def, or the built-in version v of object id when def is
// nil. It panics when def is not a definition of object id.
func pick(def *model.ObjectDef, id uint16, v model.Version) *model.ObjectDef {
	if def == nil {
		return coreDef(id, v)
	}
	if def.ID != id {
		panic("stdobj: definition of object " + strconv.Itoa(int(def.ID)) + " given for object " + strconv.Itoa(int(id)))
	}
	return def
}

// keep returns the resources of ns that def has, so that a built-in object
// works with an older or newer definition of its object.
func keep(def *model.ObjectDef, ns ...model.Node) []model.Node {
	out := ns[:0:0]
	for _, n := range ns {
		if def.Resource(n.ID) != nil {
			out = append(out, n)
		}
	}
	return out
}

// has reports whether def has resource id.
func has(def *model.ObjectDef, id uint16) bool { return def.Resource(id) != nil }
