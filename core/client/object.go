package client

import (
	"context"

	"github.com/wasm2m/wasm2m/core/model"
)

// Object is one LwM2M object on a client: the instances it has and what
// they do. The engine never knows whether an Object is Go code, a Wasm
// plugin or a process plugin; plugins implement this same contract.
//
// Paths given to an Object are always inside its object (p.ObjectID() ==
// Definition().ID) and deeper than the object itself: an instance, a
// resource or a resource instance. Nodes returned must fit the path asked
// (model.Node.CheckAt) and must not be modified by the object afterwards;
// nodes passed in belong to the object once the call returns.
//
// Errors carry CoAP codes (*model.Error): model.ErrNotFound for what does
// not exist, model.ErrMethodNotAllowed for an operation a resource does
// not allow, model.ErrBadRequest for a value the object refuses. Any other
// error is a 5.00.
//
// Lifecycle: the engine calls Definition once when the object is added,
// then the other methods from any goroutine, concurrently, until the
// engine stops; the object guards its own state. An Object that reports
// changes (a sensor whose value moves) also implements Observable.
type Object interface {
	// Definition returns the object's definition: its id, version and
	// resources. It never changes while the engine runs.
	Definition() *model.ObjectDef

	// Instances returns the ids of the instances that exist, ascending.
	Instances(ctx context.Context) ([]uint16, error)

	// Read returns the node at p: an object instance with its readable
	// resources, a resource (single or multiple) or a resource instance.
	Read(ctx context.Context, p model.Path) (model.Node, error)

	// Write writes n at p (Core 1.1 section 6.3.3). At an instance path,
	// replace sets the instance to exactly n's resources (those it does
	// not give are removed or reset), and !replace (partial update)
	// changes only the resources n gives. At a resource or resource
	// instance path replace is always true for a single value; for a
	// multiple resource, replace drops the instances n does not give.
	Write(ctx context.Context, p model.Path, n model.Node, replace bool) error

	// Execute runs resource p with the arguments of the request payload
	// (Core 1.1 section 5.4.3 syntax, e.g. `0='4',1`; empty for none).
	Execute(ctx context.Context, p model.Path, args []byte) error

	// Create creates an instance from n, whose ID is the instance id
	// requested, or model.NoID to let the object choose; it returns the
	// id created. model.ErrBadRequest if the id is taken.
	Create(ctx context.Context, n model.Node) (uint16, error)

	// Delete deletes instance id.
	Delete(ctx context.Context, id uint16) error
}

// Observable is implemented by objects whose values change on their own.
// The engine calls Observe once, before any other call, with the function
// the object calls (from any goroutine, any number of times) to report
// that the values at paths changed, so that observations fire.
type Observable interface {
	Observe(changed func(paths ...model.Path))
}

type bootstrapKey struct{}

// WithBootstrap returns a context that marks the calls made with it as
// coming from the bootstrap server (Bootstrap-Write, -Read, -Discover,
// -Delete; Core 1.1 section 6.1.7). An Object lets such calls do what a
// device management server may not: write read-only resources of the
// Security (0) and Server (1) objects, read the Security object.
func WithBootstrap(ctx context.Context) context.Context {
	return context.WithValue(ctx, bootstrapKey{}, true)
}

// IsBootstrap reports whether ctx marks a call from the bootstrap server.
func IsBootstrap(ctx context.Context) bool {
	b, _ := ctx.Value(bootstrapKey{}).(bool)
	return b
}
