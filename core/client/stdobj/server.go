package stdobj

import (
	"context"
	"strings"
	"sync"
	"time"

	"github.com/wasm2m/wasm2m/core/model"
)

// ServerAccount is one instance of the Server object: how the client
// keeps its registration with one LwM2M server.
type ServerAccount struct {
	// InstanceID is the Server instance the account lives in. The
	// constructor puts account i in instance i; Accounts fills it in.
	InstanceID uint16

	SSID     uint16        // 0: Short Server ID, 1..65534
	Lifetime time.Duration // 1: registration lifetime, whole seconds

	// DefaultMinPeriod and DefaultMaxPeriod are the pmin and pmax of
	// observations that set none (2, 3); DisableTimeout is how long
	// Disable keeps the server off (5; 86400 s when absent). 0 is not
	// written.
	DefaultMinPeriod time.Duration
	DefaultMaxPeriod time.Duration
	DisableTimeout   time.Duration

	NotificationStoring bool   // 6: store notifications while offline or disabled
	Binding             string // 7: "U", "UQ", "T", ...; "" means "U"

	// Version 1.1 resources, written when set. BootstrapOnRegistration
	// Failure (16) is true when absent, hence the pointer; the retry
	// counts and timers (17 to 20) have the defaults the Server object
	// gives (Core 1.1 Appendix E.2) when absent (0 here).
	BootstrapOnRegistrationFailure *bool
	CommunicationRetryCount        uint64
	CommunicationRetryTimer        time.Duration
	SequenceDelayTimer             time.Duration
	SequenceRetryCount             uint64
	MuteSend                       bool // 23: do not use Send with this server
}

// Server is the Server object (1), version 1.1. Its executable resources
// reach the engine through the functions set with OnDisable,
// OnUpdateTrigger and OnBootstrapTrigger, which receive the Short Server
// ID of the instance executed.
type Server struct {
	*Object

	mu        sync.Mutex
	disable   func(ssid uint16)
	update    func(ssid uint16)
	bootstrap func(ssid uint16)
}

// NewServer returns the Server object holding accounts, account i in
// instance i. Writes are checked beyond the definition: no negative
// periods, and a binding made of the letters U, T, S, N and Q (Core 1.1
// Appendix E.2, resource 7), each at most once.
func NewServer(accounts ...ServerAccount) *Server {
	s := &Server{Object: New(coreDef(ServerID, model.V1_1))}
	for i, a := range accounts {
		a.InstanceID = uint16(i)
		if err := s.AddInstance(a.node(s.def)); err != nil {
			panic("stdobj: new server: " + err.Error())
		}
	}
	for _, id := range []uint16{1, 2, 3, 5} {
		s.OnWrite(id, notNegative)
	}
	s.OnWrite(7, func(ctx context.Context, inst uint16, v model.Node) error {
		return CheckBinding(v.Value.Str())
	})
	s.OnExecute(4, s.execute(func() func(uint16) { return s.disable }))
	s.OnExecute(8, s.execute(func() func(uint16) { return s.update }))
	if has(s.def, 9) {
		s.OnExecute(9, s.execute(func() func(uint16) { return s.bootstrap }))
	}
	return s
}

// notNegative refuses a negative Integer.
func notNegative(ctx context.Context, inst uint16, v model.Node) error {
	if v.Value.Int() < 0 {
		return model.Errorf(model.BadRequest, "resource %d: %d is negative", v.ID, v.Value.Int())
	}
	return nil
}

// CheckBinding reports whether b is a binding of the Server object (Core
// 1.1 Appendix E.2, resource 7): one or more of U (UDP), T (TCP), S (SMS), N (non-IP)
// and Q (queue mode), each at most once. The error is 4.00.
func CheckBinding(b string) error {
	if b == "" {
		return model.Errorf(model.BadRequest, "binding: empty")
	}
	for i, c := range b {
		if !strings.ContainsRune("UTSNQ", c) {
			return model.Errorf(model.BadRequest, "binding %q: %q is not one of U, T, S, N, Q", b, c)
		}
		if strings.ContainsRune(b[:i], c) {
			return model.Errorf(model.BadRequest, "binding %q: %q given twice", b, c)
		}
	}
	return nil
}

// execute returns the hook of an executable resource that calls the
// function get returns with the instance's Short Server ID.
func (s *Server) execute(get func() func(uint16)) ExecuteFunc {
	return func(ctx context.Context, inst uint16, args []byte) error {
		v, _ := s.Get(model.ResourcePath(ServerID, inst, 0))
		s.mu.Lock()
		fn := get()
		s.mu.Unlock()
		if fn != nil {
			fn(ssidOf(v))
		}
		return nil
	}
}

// OnDisable sets the function Disable (1/x/4) calls with the instance's
// Short Server ID: the engine deregisters and stays away for the Disable
// Timeout. The function is called from Execute and must not block.
func (s *Server) OnDisable(fn func(ssid uint16)) {
	s.mu.Lock()
	s.disable = fn
	s.mu.Unlock()
}

// OnUpdateTrigger sets the function Registration Update Trigger (1/x/8)
// calls with the instance's Short Server ID: the engine sends an Update
// to that server. The function must not block.
func (s *Server) OnUpdateTrigger(fn func(ssid uint16)) {
	s.mu.Lock()
	s.update = fn
	s.mu.Unlock()
}

// OnBootstrapTrigger sets the function Bootstrap-Request Trigger (1/x/9)
// calls with the instance's Short Server ID: the engine starts a client
// initiated bootstrap. The function must not block.
func (s *Server) OnBootstrapTrigger(fn func(ssid uint16)) {
	s.mu.Lock()
	s.bootstrap = fn
	s.mu.Unlock()
}

func (a ServerAccount) node(def *model.ObjectDef) model.Node {
	binding := a.Binding
	if binding == "" {
		binding = "U"
	}
	rs := []model.Node{
		model.NewResource(0, model.Int(int64(a.SSID))),
		model.NewResource(1, model.Int(seconds(a.Lifetime))),
		model.NewResource(6, model.Bool(a.NotificationStoring)),
		model.NewResource(7, model.String(binding)),
		model.NewResource(23, model.Bool(a.MuteSend)),
	}
	optInt := func(id uint16, d time.Duration) {
		if d != 0 {
			rs = append(rs, model.NewResource(id, model.Int(seconds(d))))
		}
	}
	optUint := func(id uint16, n uint64) {
		if n != 0 {
			rs = append(rs, model.NewResource(id, model.Uint(n)))
		}
	}
	optInt(2, a.DefaultMinPeriod)
	optInt(3, a.DefaultMaxPeriod)
	optInt(5, a.DisableTimeout)
	if a.BootstrapOnRegistrationFailure != nil {
		rs = append(rs, model.NewResource(16, model.Bool(*a.BootstrapOnRegistrationFailure)))
	}
	optUint(17, a.CommunicationRetryCount)
	if a.CommunicationRetryTimer > 0 {
		optUint(18, uint64(seconds(a.CommunicationRetryTimer)))
	}
	if a.SequenceDelayTimer > 0 {
		optUint(19, uint64(seconds(a.SequenceDelayTimer)))
	}
	optUint(20, a.SequenceRetryCount)
	return model.NewInstance(a.InstanceID, keep(def, rs...)...)
}

// Accounts returns the accounts held, by instance id, as servers and the
// bootstrap server left them. Resources an instance lacks read as zero
// values (BootstrapOnRegistrationFailure as nil).
func (s *Server) Accounts() []ServerAccount {
	insts := s.snapshot()
	out := make([]ServerAccount, len(insts))
	for i, n := range insts {
		v := values(n)
		sec := func(id uint16) time.Duration {
			if x := v(id); x.Type() == model.TypeUnsigned {
				return time.Duration(x.Uint()) * time.Second
			}
			return time.Duration(v(id).Int()) * time.Second
		}
		a := ServerAccount{
			InstanceID:              n.ID,
			SSID:                    ssidOf(v(0)),
			Lifetime:                sec(1),
			DefaultMinPeriod:        sec(2),
			DefaultMaxPeriod:        sec(3),
			DisableTimeout:          sec(5),
			NotificationStoring:     v(6).Bool(),
			Binding:                 v(7).Str(),
			CommunicationRetryCount: v(17).Uint(),
			CommunicationRetryTimer: sec(18),
			SequenceDelayTimer:      sec(19),
			SequenceRetryCount:      v(20).Uint(),
			MuteSend:                v(23).Bool(),
		}
		if b := v(16); b.Type() == model.TypeBoolean {
			a.BootstrapOnRegistrationFailure = new(b.Bool())
		}
		out[i] = a
	}
	return out
}
