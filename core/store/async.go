package store

import "context"

// AsyncPutter is a Store whose changes become durable in group commits
// (File). PutRegistrationAsync makes the change as PutRegistration does
// and returns once its record is queued; done follows once the record is
// durable. A caller that answers a device only after that (the server's
// Register) then keeps no goroutine waiting per change, and the answers of
// one commit can go out together.
type AsyncPutter interface {
	// PutRegistrationAsync returns an error, and never calls done, if the
	// change is refused before it is made: an invalid registration, a
	// closed or broken store, ctx done. Otherwise the change is made
	// (readers see it at once, as with PutRegistration) and done is called
	// exactly once: with the registration r replaced by endpoint, as
	// PutRegistration returns it, and nil once r is durable, or with the
	// error that kept it from being written.
	//
	// done is called by the store's writer goroutine, in the order the
	// changes were made, right after their commit: it must return at once
	// (hand the work to another goroutine) and never call the store.
	PutRegistrationAsync(ctx context.Context, r *Registration, done func(replaced *Registration, err error)) error
}

var _ AsyncPutter = (*File)(nil)

// Local reports whether s answers from this process's memory, with no
// I/O its caller waits on (a commit's fsync is waited for only through
// PutRegistrationAsync's done): Memory, File, and the Security and
// Bootstraps of NewSecurity and NewBootstraps over them. A caller may then
// use it on a goroutine that must not block, as the server does for a
// Register read off the socket. Stores of plugins are not local.
func Local(s any) bool {
	switch s := s.(type) {
	case *Memory, *File:
		return true
	case *kvSecurity:
		return Local(s.kv)
	case *kvBootstraps:
		return Local(s.kv)
	}
	return false
}
