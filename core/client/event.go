package client

import (
	"net/netip"
	"strconv"
	"time"

	"github.com/wasm2m/wasm2m/core/model"
)

// EventType says what happened in the engine.
type EventType uint8

// The events an engine reports through Config.OnEvent.
const (
	EventRegistered         EventType = iota + 1 // a Register succeeded (Location)
	EventUpdated                                 // an Update succeeded
	EventDeregistered                            // a De-register was sent (Err if it failed)
	EventRegistrationFailed                      // a Register or Update attempt failed (Err)
	EventDisabled                                // a server account was disabled (/1/x/4)
	EventBootstrapping                           // a Bootstrap-Request is about to go out
	EventBootstrapped                            // Bootstrap-Finish was accepted
	EventBootstrapFailed                         // a bootstrap attempt failed (Err)
	EventSleeping                                // queue mode: the awake window with a server closed
	EventAwake                                   // queue mode: the client talks to a sleeping server again
	EventRequest                                 // a request was served (Op, Path, Code)
	EventNotified                                // a notification went out (Path, Code, Err)
	EventSent                                    // a Send went out (Err)
)

var eventNames = [...]string{"", "registered", "updated", "deregistered", "registration-failed", "disabled",
	"bootstrapping", "bootstrapped", "bootstrap-failed", "sleeping", "awake", "request", "notified", "sent"}

func (t EventType) String() string {
	if int(t) < len(eventNames) && t != 0 {
		return eventNames[t]
	}
	return "event(" + strconv.Itoa(int(t)) + ")"
}

// Op names an operation a server asked of the client, in EventRequest.
type Op string

// The operations of the Device Management and Service Enablement, the
// Information Reporting and the Bootstrap interfaces (Core 1.1 sections
// 6.1, 6.3 and 6.4).
const (
	OpRead              Op = "read"
	OpDiscover          Op = "discover"
	OpWrite             Op = "write"
	OpWriteAttributes   Op = "write-attributes"
	OpExecute           Op = "execute"
	OpCreate            Op = "create"
	OpDelete            Op = "delete"
	OpReadComposite     Op = "read-composite"
	OpWriteComposite    Op = "write-composite"
	OpObserve           Op = "observe"
	OpObserveComposite  Op = "observe-composite"
	OpCancelObservation Op = "cancel-observation"
	OpBootstrapWrite    Op = "bootstrap-write"
	OpBootstrapRead     Op = "bootstrap-read"
	OpBootstrapDiscover Op = "bootstrap-discover"
	OpBootstrapDelete   Op = "bootstrap-delete"
	OpBootstrapFinish   Op = "bootstrap-finish"
	OpUnknown           Op = "unknown"
)

// Event is one thing that happened in the engine.
type Event struct {
	Type     EventType
	Time     time.Time
	SSID     uint16         // the server account's Short Server ID; 0 for the bootstrap server or an unknown peer
	Server   string         // the server's URI
	Peer     netip.AddrPort // where a request came from (EventRequest)
	Location string         // the registration's location, such as "/rd/abc" (EventRegistered)
	Op       Op             // EventRequest
	Path     model.Path     // EventRequest, EventNotified
	Code     model.Code     // the response code of EventRequest
	Err      error
}

func (e *Engine) emit(ev Event) {
	if e.cfg.OnEvent == nil {
		return
	}
	if ev.Time.IsZero() {
		ev.Time = e.cfg.Now()
	}
	e.evMu.Lock()
	defer e.evMu.Unlock()
	e.cfg.OnEvent(ev)
}
