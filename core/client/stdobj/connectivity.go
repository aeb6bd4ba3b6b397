package stdobj

import (
	"context"

	"github.com/wasm2m/wasm2m/core/model"
)

// Network bearers of the Connectivity Monitoring object (resources 0 and
// 1; Core 1.1 Appendix E.5): 0 to 20 cellular, 21 to 40 wireless, 41 to
// 50 wireline. A few common ones:
const (
	BearerGSM      int64 = 0
	BearerWCDMA    int64 = 2
	BearerLTETDD   int64 = 5
	BearerLTEFDD   int64 = 6
	BearerNBIoT    int64 = 7
	BearerWLAN     int64 = 21
	BearerEthernet int64 = 41
)

// Connectivity Monitoring resources this file refers to by name.
const (
	connBearer         uint16 = 0
	connAvailable      uint16 = 1
	connSignalStrength uint16 = 2
	connIPAddresses    uint16 = 4
	connRouters        uint16 = 5
	connAPN            uint16 = 7
)

// ConnectivityConfig is what the Connectivity Monitoring object reports.
// The mandatory resources (0, 1, 2 and 4) are always present; empty
// optional lists are not written.
type ConnectivityConfig struct {
	NetworkBearer     int64    // 0: the bearer in use
	AvailableBearers  []int64  // 1: the bearers the device has
	SignalStrength    int64    // 2: dBm
	IPAddresses       []string // 4
	RouterIPAddresses []string // 5
	APN               []string // 7

	// ReadSignalStrength and ReadIPAddresses, when set, compute
	// resources 2 and 4 at each read instead of the values above.
	ReadSignalStrength func(ctx context.Context) (int64, error)
	ReadIPAddresses    func(ctx context.Context) ([]string, error)

	// Definition replaces the built-in Connectivity Monitoring 1.1;
	// resources it lacks are not written.
	Definition *model.ObjectDef
}

// Connectivity is the Connectivity Monitoring object (4): one static
// instance, 0. The owner reports changes with SetBearer,
// SetSignalStrength and SetIPAddresses (or Set for any other resource).
type Connectivity struct {
	*Object
}

// NewConnectivity returns the Connectivity Monitoring object for cfg.
// Create and Delete from a server are refused (4.05).
func NewConnectivity(cfg ConnectivityConfig) *Connectivity {
	def := pick(cfg.Definition, ConnectivityID, model.V1_1)
	ints := func(vs []int64) []model.Value {
		out := make([]model.Value, len(vs))
		for i, v := range vs {
			out[i] = model.Int(v)
		}
		return out
	}
	rs := []model.Node{
		model.NewResource(connBearer, model.Int(cfg.NetworkBearer)),
		model.NewMultipleResourceOf(connAvailable, ints(cfg.AvailableBearers)...),
		model.NewResource(connSignalStrength, model.Int(cfg.SignalStrength)),
		model.NewMultipleResourceOf(connIPAddresses, strs(cfg.IPAddresses)...),
	}
	if len(cfg.RouterIPAddresses) > 0 {
		rs = append(rs, model.NewMultipleResourceOf(connRouters, strs(cfg.RouterIPAddresses)...))
	}
	if len(cfg.APN) > 0 {
		rs = append(rs, model.NewMultipleResourceOf(connAPN, strs(cfg.APN)...))
	}
	c := &Connectivity{Object: New(def, model.NewInstance(0, keep(def, rs...)...)).Static()}
	if fn := cfg.ReadSignalStrength; fn != nil {
		c.OnRead(connSignalStrength, func(ctx context.Context, inst uint16) (model.Value, error) {
			v, err := fn(ctx)
			return model.Int(v), err
		})
	}
	if fn := cfg.ReadIPAddresses; fn != nil {
		c.OnReadNode(connIPAddresses, func(ctx context.Context, inst uint16) (model.Node, error) {
			addrs, err := fn(ctx)
			return model.NewMultipleResourceOf(connIPAddresses, strs(addrs)...), err
		})
	}
	return c
}

func strs(ss []string) []model.Value {
	out := make([]model.Value, len(ss))
	for i, s := range ss {
		out[i] = model.String(s)
	}
	return out
}

// SetBearer sets Network Bearer (4/0/0) and reports it.
func (c *Connectivity) SetBearer(bearer int64) error {
	return c.Set(model.ResourcePath(ConnectivityID, 0, connBearer), model.Int(bearer))
}

// SetSignalStrength sets Radio Signal Strength (4/0/2), in dBm, and
// reports it.
func (c *Connectivity) SetSignalStrength(dBm int64) error {
	return c.Set(model.ResourcePath(ConnectivityID, 0, connSignalStrength), model.Int(dBm))
}

// SetIPAddresses sets IP Addresses (4/0/4) and reports it.
func (c *Connectivity) SetIPAddresses(addrs ...string) error {
	return c.SetNode(model.ResourcePath(ConnectivityID, 0, connIPAddresses), model.NewMultipleResourceOf(connIPAddresses, strs(addrs)...))
}
