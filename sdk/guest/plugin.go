package guest

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/wasm2m/wasm2m/core/model"
	"github.com/wasm2m/wasm2m/sdk/abi"
)

// Manifest says what a plugin is and what it asks of the host. The host
// reads it (MethodManifest) before it starts the plugin, and grants the
// host functions of Capabilities only.
type Manifest struct {
	// ID names the plugin: dotted and namespaced by kind, such as
	// "objects.temperature" or "logic.autoobserve".
	ID string
	// Kind is abi.KindObject or abi.KindLogic. Register fills it in from
	// Plugin when left empty.
	Kind abi.Kind
	// Name is for humans: "Temperature sensor".
	Name string
	// Version is the plugin's own version, such as "1.2.0".
	Version string
	// Description is one or two sentences for humans. Optional.
	Description string
	// Capabilities are the host functions the plugin uses (abi.CapChanged,
	// abi.CapKV, abi.CapRequest, abi.CapClock, abi.CapRandom). A host
	// function not asked for fails with 4.03.
	Capabilities []string
	// ConfigSchema is a JSON Schema of the configuration Start receives,
	// as JSON text; empty for a plugin that takes none.
	ConfigSchema string
}

// Validate checks what can be checked without the host: an id of dotted
// lowercase words, a known kind, a version, and known capabilities given
// once. It does not parse ConfigSchema (sdk/plugintest does).
func (m *Manifest) Validate() error {
	if err := abi.CheckID(m.ID); err != nil {
		return err
	}
	switch m.Kind {
	case abi.KindObject, abi.KindLogic:
	case abi.KindStorage:
		return fmt.Errorf("manifest %s: kind storage is for process plugins, not Wasm", m.ID)
	default:
		return fmt.Errorf("manifest %s: unknown kind %q", m.ID, m.Kind)
	}
	if m.Version == "" {
		return fmt.Errorf("manifest %s: no version", m.ID)
	}
	for i, c := range m.Capabilities {
		switch c {
		case abi.CapChanged, abi.CapKV, abi.CapRequest, abi.CapClock, abi.CapRandom:
		default:
			return fmt.Errorf("manifest %s: unknown capability %q", m.ID, c)
		}
		for _, d := range m.Capabilities[:i] {
			if c == d {
				return fmt.Errorf("manifest %s: capability %q given twice", m.ID, c)
			}
		}
	}
	return nil
}

// Has reports whether m asks for capability c.
func (m *Manifest) Has(c string) bool {
	for _, x := range m.Capabilities {
		if x == c {
			return true
		}
	}
	return false
}

// Object is one LwM2M object implemented by a plugin, the same contract as
// a client object of core (core/client.Object): the host's adapter makes
// it one.
//
// Paths given to an Object are inside its object (p.ObjectID() ==
// Definition().ID) and deeper than the object itself. Nodes returned must
// fit the path asked (model.Node.CheckAt); nodes passed in belong to the
// object once the call returns.
//
// Errors carry CoAP codes (*model.Error): model.ErrNotFound for what does
// not exist, model.ErrMethodNotAllowed for an operation a resource does
// not allow, model.ErrBadRequest for a value the object refuses. Any other
// error is a 5.00. They cross the ABI with their code and message, so
// that errors.Is(err, model.ErrNotFound) holds on the host.
//
// Before any call reaches the object, the SDK checks the request against
// the definition: an unknown resource is 4.04, a write of a resource that
// is not writable or an execute of one that is not executable 4.05, a
// value of the wrong type or out of range 4.00. Read of an object path is
// answered by the SDK from Instances and instance reads.
//
// Lifecycle: Definition is called when the plugin is registered and when
// a Dispatcher is made; it must return the same definition every time.
// The other methods are called one at a time (a Wasm instance runs one
// call at a time; a native Dispatcher serializes its calls too). The host
// pools instances of a Wasm module, each with its own memory: state in
// Go variables is per instance; state that must be shared between
// instances or survive a discarded one belongs in KV.
type Object interface {
	// Definition returns the object's definition. It never changes.
	Definition() *model.ObjectDef

	// Instances returns the ids of the instances that exist, ascending.
	Instances(ctx context.Context) ([]uint16, error)

	// Read returns the node at p: an object instance with its readable
	// resources, a resource or a resource instance.
	Read(ctx context.Context, p model.Path) (model.Node, error)

	// Write writes n at p (Core 1.1 section 6.3.3). At an instance path,
	// replace sets the instance to exactly n's resources and !replace
	// (partial update) changes only the resources n gives. At a resource
	// or resource instance path replace is always true for a single
	// value; for a multiple resource, replace drops the instances n does
	// not give.
	Write(ctx context.Context, p model.Path, n model.Node, replace bool) error

	// Execute runs resource p with the arguments of the request payload
	// (Core 1.1 section 5.4.3 syntax, e.g. `0='4',1`; empty for none).
	Execute(ctx context.Context, p model.Path, args []byte) error

	// Create creates an instance from n, whose ID is the instance id
	// requested, or model.NoID to let the object choose; it returns the
	// id created. model.ErrBadRequest if the id is taken,
	// model.ErrMethodNotAllowed for an object that has a fixed set of
	// instances.
	Create(ctx context.Context, n model.Node) (uint16, error)

	// Delete deletes instance id.
	Delete(ctx context.Context, id uint16) error
}

// Logic is a logic plugin: a server calls OnEvent for each event the
// plugin gets (registered, updated, deregistered, expired, sleeping,
// awake, notification, send). It may ask the device things back with
// Device, if its manifest has abi.CapRequest. Calls come one at a time.
type Logic interface {
	OnEvent(ctx context.Context, e Event) error
}

// Configurer is implemented by an Object or Logic that takes
// configuration or restores state: Configure gets the plugin's config JSON
// (possibly empty) once, when the host starts the instance, before any
// other call but the manifest's; host functions (KV...) work with ctx. An
// error fails the start.
type Configurer interface {
	Configure(ctx context.Context, config []byte) error
}

// Stopper is implemented by an Object or Logic that wants to know when the
// host discards an instance on purpose (not after a trap).
type Stopper interface {
	Stop(ctx context.Context) error
}

// Plugin is what Register registers: a manifest and the objects (for an
// object plugin) or the logic (for a logic plugin) that implement it.
type Plugin struct {
	Manifest Manifest
	Objects  []Object
	Logic    Logic
}

// check fills in the kind and checks that p is complete and consistent.
func (p *Plugin) check() error {
	switch {
	case len(p.Objects) > 0 && p.Logic != nil:
		return fmt.Errorf("plugin %s: objects and logic in one plugin", p.Manifest.ID)
	case len(p.Objects) > 0:
		if p.Manifest.Kind == "" {
			p.Manifest.Kind = abi.KindObject
		}
	case p.Logic != nil:
		if p.Manifest.Kind == "" {
			p.Manifest.Kind = abi.KindLogic
		}
	default:
		return fmt.Errorf("plugin %s: neither objects nor logic", p.Manifest.ID)
	}
	if err := p.Manifest.Validate(); err != nil {
		return err
	}
	if p.Manifest.Kind == abi.KindObject && len(p.Objects) == 0 || p.Manifest.Kind == abi.KindLogic && p.Logic == nil {
		return fmt.Errorf("plugin %s: kind %s without its implementation", p.Manifest.ID, p.Manifest.Kind)
	}
	for i, o := range p.Objects {
		if o == nil {
			return fmt.Errorf("plugin %s: object %d is nil", p.Manifest.ID, i)
		}
		d := o.Definition()
		if d == nil {
			return fmt.Errorf("plugin %s: object %d has no definition", p.Manifest.ID, i)
		}
		if err := d.Validate(); err != nil {
			return fmt.Errorf("plugin %s: %w", p.Manifest.ID, err)
		}
		for _, q := range p.Objects[:i] {
			if q.Definition().ID == d.ID {
				return fmt.Errorf("plugin %s: object %d given twice", p.Manifest.ID, d.ID)
			}
		}
	}
	return nil
}

var registry struct {
	mu     sync.Mutex
	plugin *Plugin
	err    error
}

// Register registers the plugin this module implements. Call it once, from
// an init function of package main (a Wasm reactor never runs main):
//
//	func init() {
//		guest.Register(guest.Plugin{
//			Manifest: guest.Manifest{ID: "objects.valve", Name: "Valve", Version: "1.0.0",
//				Capabilities: []string{abi.CapChanged}},
//			Objects: []guest.Object{newValve()},
//		})
//	}
//
// Register does not panic: a plugin that is incomplete or inconsistent, or
// registered twice, fails every call with 5.00 and the reason (the host
// reports it at load), and sdk/plugintest fails the test.
func Register(p Plugin) {
	registry.mu.Lock()
	defer registry.mu.Unlock()
	if registry.plugin != nil || registry.err != nil {
		registry.err = errors.New("guest: Register called more than once")
		return
	}
	if err := p.check(); err != nil {
		registry.err = err
		return
	}
	registry.plugin = &p
}

// Registered returns the plugin given to Register, or the reason it cannot
// serve.
func Registered() (*Plugin, error) {
	registry.mu.Lock()
	defer registry.mu.Unlock()
	if registry.err != nil {
		return nil, registry.err
	}
	if registry.plugin == nil {
		return nil, errors.New("guest: no plugin registered (call guest.Register from an init function)")
	}
	return registry.plugin, nil
}
