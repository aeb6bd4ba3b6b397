package client

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"time"

	"github.com/wasm2m/wasm2m/core/codec"
	"github.com/wasm2m/wasm2m/core/model"
	"github.com/wasm2m/wasm2m/core/transport"
)

// Config configures an Engine. Endpoint and Objects are required; every
// other field has a default.
type Config struct {
	// Endpoint is the endpoint client name (ep=, Core 1.1 section 6.2.1).
	Endpoint string

	// Objects are the client's objects. They must include the Security
	// (0), Server (1) and Device (3) objects; Access Control (2) is
	// enforced when it is present and more than one server account is
	// configured (Core 1.1 section 7.3). Object ids must be unique.
	Objects []Object

	// Version is the LwM2M enabler version the client implements and
	// registers with (lwm2m=): 1.0, 1.1 or 1.2; default 1.1. It decides
	// what the client sends (the Q parameter, binding letters), which
	// content formats it may speak (SenML and CBOR from 1.1, LwM2M CBOR
	// from 1.2) and which operations it serves (composite operations and
	// Send from 1.1).
	Version model.Version

	// Formats are the content formats the client speaks, advertised in
	// the ct attribute of its registration, in order of preference: a
	// response to a request without Accept uses the first that can carry
	// the node. Default: every data format the version allows. A format
	// newer than Version is refused by New.
	Formats []codec.Format

	// Addr is the local UDP address of the client's one socket; default
	// ":0".
	Addr string

	// Transport tunes the CoAP endpoint (timers, limits). Its Handler,
	// Notify and OnReset are the engine's own.
	Transport transport.Config

	// Logger receives the engine's logs; nil discards them.
	Logger *slog.Logger

	// AwakeTime is how long a client in queue mode listens after each
	// message it sends before it sleeps (Core 1.1 section 6.5; Transport
	// 1.1 section 5.1.1 recommends MAX_TRANSMIT_WAIT); default 93 s.
	AwakeTime time.Duration

	// Now is the clock for timestamps and notification timing; default
	// time.Now. Timers still run on the system clock.
	Now func() time.Time

	// OnEvent, if set, is called for each Event: registrations, updates,
	// de-registrations, failures, bootstrap, requests served. Calls are
	// serialized; OnEvent must return quickly and must not call Close.
	OnEvent func(Event)

	// BootstrapRetry is the retry policy of client-initiated bootstrap
	// (Core 1.1 section 6.2.1.1 applies the communication sequence to
	// bootstrapping too); the zero value takes the defaults of the
	// specification: 5 attempts 60 s apart doubling, one sequence.
	BootstrapRetry RetryPolicy

	// BootstrapTimeout is how long the client waits for Bootstrap-Finish
	// after its Bootstrap-Request was accepted, and after each message of
	// the bootstrap server; default 247 s (EXCHANGE_LIFETIME).
	BootstrapTimeout time.Duration

	// CloseTimeout bounds how long Close waits for the De-register of
	// every server; default 5 s.
	CloseTimeout time.Duration

	// DTLSIdleTimeout ends the DTLS session with a server that sent
	// nothing for that long, so that the next message starts with a new
	// handshake: a server forgets idle sessions (wasm2m's after 30
	// minutes by default) and drops the records of a session it forgot
	// without a word, and without this the client would learn it only
	// when a request timed out (about 93 s). Default 20 minutes; negative
	// keeps sessions for ever.
	DTLSIdleTimeout time.Duration

	// ConfirmableNotifications sends notifications as confirmable
	// messages; by default they are non-confirmable, except that one in
	// every 24 hours is confirmable (RFC 7641 section 4.5) and the con
	// attribute of LwM2M 1.2 decides per observation.
	ConfirmableNotifications bool
}

// RetryPolicy is a communication sequence of Core 1.1 section 6.2.1.1,
// as the Server object's resources 17 to 20 give it for a server account.
type RetryPolicy struct {
	// Count is the number of attempts in a sequence (Communication Retry
	// Count); default 5.
	Count int
	// Timer is the delay before the second attempt, doubled before each
	// later one (Communication Retry Timer: timer * 2^(attempt-1));
	// default 60 s.
	Timer time.Duration
	// SequenceDelay is the delay between sequences (Communication
	// Sequence Delay Timer); default 24 h.
	SequenceDelay time.Duration
	// Sequences is the number of sequences before the attempt is a
	// failure (Communication Sequence Retry Count); default 1.
	Sequences int
}

// The defaults of Core 1.1 section 6.2.1.1 (Table: Registration
// Procedures Default Values) and of the Server object (Disable Timeout).
const (
	defaultRetryCount     = 5
	defaultRetryTimer     = 60 * time.Second
	defaultSequenceDelay  = 86400 * time.Second
	defaultSequences      = 1
	defaultDisableTimeout = 86400 * time.Second
)

func (p RetryPolicy) withDefaults() RetryPolicy {
	if p.Count <= 0 {
		p.Count = defaultRetryCount
	}
	if p.Timer <= 0 {
		p.Timer = defaultRetryTimer
	}
	if p.SequenceDelay <= 0 {
		p.SequenceDelay = defaultSequenceDelay
	}
	if p.Sequences <= 0 {
		p.Sequences = defaultSequences
	}
	return p
}

// delay returns how long to wait after attempt (1-based) failed.
func (p RetryPolicy) delay(attempt int) time.Duration {
	d := p.Timer
	for i := 1; i < attempt && d < 1<<40; i++ {
		d *= 2
	}
	return d
}

// versionFormats are the data formats of each enabler version, in the
// engine's default order of preference.
func versionFormats(v model.Version) []codec.Format {
	all := []codec.Format{codec.SenMLCBOR, codec.LwM2MCBOR, codec.SenMLJSON, codec.TLV, codec.JSON, codec.CBOR, codec.Text, codec.Opaque}
	var out []codec.Format
	for _, f := range all {
		if f.MinVersion().Compare(v) <= 0 {
			out = append(out, f)
		}
	}
	return out
}

func (c *Config) setDefaults() error {
	if c.Endpoint == "" {
		return errors.New("client: config: no endpoint name")
	}
	if c.Version.IsZero() {
		c.Version = model.V1_1
	}
	if c.Version != model.V1_0 && c.Version != model.V1_1 && c.Version != model.V1_2 {
		return fmt.Errorf("client: config: lwm2m version %s is not 1.0, 1.1 or 1.2", c.Version)
	}
	if c.Formats == nil {
		c.Formats = versionFormats(c.Version)
	} else {
		c.Formats = slices.Clone(c.Formats)
	}
	for _, f := range c.Formats {
		switch {
		case f == codec.LinkFormat:
			return errors.New("client: config: the link format is not a data format; it is always spoken")
		case !f.Known():
			return fmt.Errorf("client: config: unknown content format %d", uint16(f))
		case f.MinVersion().Compare(c.Version) > 0:
			return fmt.Errorf("client: config: %s needs LwM2M %s, the client is %s", f.Name(), f.MinVersion(), c.Version)
		}
	}
	if len(c.Formats) == 0 {
		return errors.New("client: config: no content format")
	}
	if c.Addr == "" {
		c.Addr = ":0"
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if c.AwakeTime <= 0 {
		c.AwakeTime = 93 * time.Second
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	c.BootstrapRetry = c.BootstrapRetry.withDefaults()
	if c.DTLSIdleTimeout == 0 {
		c.DTLSIdleTimeout = 20 * time.Minute
	}
	if c.BootstrapTimeout <= 0 {
		c.BootstrapTimeout = 247 * time.Second
	}
	if c.CloseTimeout <= 0 {
		c.CloseTimeout = 5 * time.Second
	}
	return nil
}
