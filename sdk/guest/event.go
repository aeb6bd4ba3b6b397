package guest

import (
	"strconv"
	"time"

	"github.com/wasm2m/wasm2m/core/model"
	"github.com/wasm2m/wasm2m/sdk/abi"
)

// EventType says what happened on the server. The numbers are ABI v1's
// (and core/server's).
type EventType uint8

// The events a logic plugin receives.
const (
	EventRegistered   EventType = iota + 1 // a Register created a registration
	EventUpdated                           // an Update changed one
	EventDeregistered                      // a De-register removed one
	EventExpired                           // its lifetime ran out
	EventSleeping                          // a queue-mode device's awake window closed
	EventAwake                             // a queue-mode device talked again
	EventNotification                      // a notification of an observation arrived
	EventSend                              // the device sent data with the Send operation
)

var eventNames = [...]string{"", "registered", "updated", "deregistered", "expired", "sleeping", "awake", "notification", "send"}

func (t EventType) String() string {
	if t != 0 && int(t) < len(eventNames) {
		return eventNames[t]
	}
	return "event(" + strconv.Itoa(int(t)) + ")"
}

// Event is one thing that happened on the server, with the registration
// of the device it happened to (after the event, for an Update).
type Event struct {
	Type EventType
	Time time.Time

	Endpoint       string
	RegistrationID string // the location: /rd/<RegistrationID>
	Lifetime       time.Duration
	Binding        string // "U", "UQ", "N", ...
	LWM2MVersion   model.Version
	Queue          bool
	Address        string // where the device talks from: "192.0.2.1:5683"
	Objects        []RegisteredObject

	// Notification and Send.
	Token   []byte         // the observation's token (Notification)
	Paths   []model.Path   // the observed paths (Notification)
	Entries []model.Entry  // the content, one entry per path
	Records []model.Record // the content as records, with their times when the device gave them
	Err     error          // a notification that failed: a *model.Error with its code
}

// RegisteredObject is one object a device registered: </3303>;ver=1.1 with
// its instances.
type RegisteredObject struct {
	ID        uint16
	Version   model.Version // zero when the device gave none
	Instances []uint16
}

// Object returns the registered object id, or nil.
func (e *Event) Object(id uint16) *RegisteredObject {
	for i := range e.Objects {
		if e.Objects[i].ID == id {
			return &e.Objects[i]
		}
	}
	return nil
}

func eventOf(m *abi.Event) (Event, error) {
	if m == nil {
		return Event{}, model.Errorf(model.BadRequest, "no event")
	}
	if m.Type <= abi.EventTypeUnspecified || m.Type > abi.EventTypeSend {
		return Event{}, model.Errorf(model.BadRequest, "unknown event type %d", m.Type)
	}
	e := Event{
		Type:           EventType(m.Type),
		Endpoint:       m.Endpoint,
		RegistrationID: m.RegistrationID,
		Lifetime:       time.Duration(m.Lifetime) * time.Second,
		Binding:        m.Binding,
		Queue:          m.Queue,
		Address:        m.Address,
		Token:          m.Token,
	}
	if m.TimeUnixNano != 0 {
		e.Time = time.Unix(0, m.TimeUnixNano)
	}
	var err error
	if m.LWM2MVersion != "" {
		if e.LWM2MVersion, err = model.ParseVersion(m.LWM2MVersion); err != nil {
			return Event{}, model.Errorf(model.BadRequest, "event: %v", err)
		}
	}
	if len(m.Objects) > 0 {
		e.Objects = make([]RegisteredObject, len(m.Objects))
		for i := range m.Objects {
			o := &m.Objects[i]
			if o.ID > model.MaxID {
				return Event{}, model.Errorf(model.BadRequest, "event: object id %d above 65534", o.ID)
			}
			r := RegisteredObject{ID: uint16(o.ID)}
			if o.Version != "" {
				if r.Version, err = model.ParseVersion(o.Version); err != nil {
					return Event{}, model.Errorf(model.BadRequest, "event: object %d: %v", o.ID, err)
				}
			}
			if len(o.Instances) > 0 {
				r.Instances = make([]uint16, len(o.Instances))
				for j, id := range o.Instances {
					if id > model.MaxID {
						return Event{}, model.Errorf(model.BadRequest, "event: instance id %d above 65534", id)
					}
					r.Instances[j] = uint16(id)
				}
			}
			e.Objects[i] = r
		}
	}
	if len(m.Paths) > 0 {
		if e.Paths, err = abi.PathsModel(m.Paths); err != nil {
			return Event{}, err
		}
	}
	if len(m.Entries) > 0 {
		if e.Entries, err = abi.EntriesModel(m.Entries); err != nil {
			return Event{}, err
		}
	}
	if len(m.Records) > 0 {
		e.Records = make([]model.Record, len(m.Records))
		for i := range m.Records {
			r := &m.Records[i]
			p, err := r.Path.Model()
			if err != nil {
				return Event{}, err
			}
			v, err := r.Value.Model()
			if err != nil {
				return Event{}, err
			}
			e.Records[i] = model.Record{Path: p, Value: v}
			if r.TimeUnixNano != 0 {
				e.Records[i].Time = time.Unix(0, r.TimeUnixNano)
			}
		}
	}
	if m.ErrorCode != 0 || m.Error != "" {
		code := model.Code(m.ErrorCode)
		if m.ErrorCode == 0 || m.ErrorCode > 255 {
			code = model.InternalServerError
		}
		e.Err = &model.Error{Code: code, Msg: m.Error}
	}
	return e, nil
}
