package client

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/wasm2m/wasm2m/core/model"
)

// account is one server account as the Security (0) and Server (1)
// objects describe it (Core 1.1 Appendix E.1 and E.2): where the server
// is, and, for a device management server, how to keep a registration
// with it. The engine reads accounts when it starts, after Bootstrap-Finish
// and after a server writes, creates or deletes in those objects.
type account struct {
	secID     uint16 // the Security instance
	bootstrap bool   // /0/x/1: the bootstrap server's account
	uri       string // /0/x/0
	addr      netip.AddrPort
	ssid      uint16        // /0/x/10 and /1/x/0
	holdOff   time.Duration // /0/x/11: Client Hold Off Time (bootstrap)
	err       error         // why the account cannot be used, if it cannot

	// The DTLS credentials of a coaps account (Core 1.1 Appendix E.1):
	// for PSK the identity and the key, for certificates the client's
	// certificate, its private key and the server's certificate.
	secure     bool   // coaps
	mode       int64  // /0/x/2
	identity   []byte // /0/x/3: PSK identity or client certificate (DER)
	serverCert []byte // /0/x/4: the server's certificate (DER)
	secret     []byte // /0/x/5: PSK or client private key (DER)

	srvID           uint16 // the Server instance
	lifetime        uint32 // /1/x/1; 0 when absent
	binding         string // /1/x/7
	queue           bool   // Q in the binding
	pmin, pmax      uint32 // /1/x/2, /1/x/3: default notification periods
	hasPmax         bool
	disableTimeout  time.Duration // /1/x/5
	retry           RetryPolicy   // /1/x/17 to /1/x/20
	bootstrapOnFail bool          // /1/x/16, default true
	initialDelay    time.Duration // /1/x/14
	priority        int64         // /1/x/13: Registration Priority Order; -1 when absent
	failureBlock    bool          // /1/x/15: Registration Failure Block
	muteSend        bool          // /1/x/23
}

// sameServer reports whether a and b reach the same server with the same
// identity, so that a registration with one is a registration with the
// other.
func (a *account) sameServer(b *account) bool {
	return a.ssid == b.ssid && a.uri == b.uri && a.addr == b.addr && a.bootstrap == b.bootstrap &&
		a.secure == b.secure && a.mode == b.mode && bytes.Equal(a.identity, b.identity) &&
		bytes.Equal(a.serverCert, b.serverCert) && bytes.Equal(a.secret, b.secret)
}

// regParamsEqual reports whether a and b register with the same query
// parameters.
func (a *account) regParamsEqual(b *account) bool {
	return a.lifetime == b.lifetime && a.binding == b.binding && a.queue == b.queue
}

// effectiveLifetime is the lifetime the registration lives with: the
// server's default when the client sends none (Core 1.1 Table 6.2.1-1).
func (a *account) effectiveLifetime() time.Duration {
	if a.lifetime == 0 {
		return 86400 * time.Second
	}
	return time.Duration(a.lifetime) * time.Second
}

// readAccounts reads every account from the Security and Server objects.
// The reads carry the bootstrap marker: the engine itself may see what
// only the bootstrap server may (Security keys, Server resources 13 to 20
// that have no operation for a device management server).
func (e *Engine) readAccounts(ctx context.Context) (dm []account, bs *account, err error) {
	bctx := WithBootstrap(ctx)
	secIDs, err := e.instances(bctx, objSecurity)
	if err != nil {
		return nil, nil, fmt.Errorf("read security accounts: %w", err)
	}
	srvIDs, err := e.instances(bctx, objServer)
	if err != nil {
		return nil, nil, fmt.Errorf("read server accounts: %w", err)
	}
	servers := map[uint16]model.Node{}
	for _, id := range srvIDs {
		n, err := e.readNode(bctx, model.InstancePath(objServer, id))
		if err != nil {
			e.log.Warn("cannot read server account", "path", model.InstancePath(objServer, id).String(), "err", err)
			continue
		}
		v, ok := resourceOf(&n, 0)
		ssid, ok2 := intOf(v)
		if !ok || !ok2 || ssid < 1 || ssid > model.MaxID {
			e.log.Warn("server account without a valid short server id", "path", model.InstancePath(objServer, id).String())
			continue
		}
		if _, dup := servers[uint16(ssid)]; !dup {
			servers[uint16(ssid)] = n
		}
	}
	for _, id := range secIDs {
		n, err := e.readNode(bctx, model.InstancePath(objSecurity, id))
		if err != nil {
			e.log.Warn("cannot read security account", "path", model.InstancePath(objSecurity, id).String(), "err", err)
			continue
		}
		a := account{secID: id, disableTimeout: defaultDisableTimeout, bootstrapOnFail: true, priority: -1}
		if v, ok := resourceOf(&n, 0); ok {
			a.uri = v.Str()
		}
		if v, ok := resourceOf(&n, 1); ok {
			a.bootstrap = v.Bool()
		}
		if v, ok := resourceOf(&n, 10); ok {
			if ssid, ok := intOf(v); ok && ssid >= 1 && ssid <= model.MaxID {
				a.ssid = uint16(ssid)
			}
		}
		if v, ok := resourceOf(&n, 11); ok {
			if s, ok := intOf(v); ok && s > 0 {
				a.holdOff = time.Duration(s) * time.Second
			}
		}
		a.addr, a.secure, a.err = resolveURI(ctx, a.uri)
		if a.err == nil {
			a.err = a.readSecurity(&n)
		}
		if a.bootstrap {
			if bs == nil {
				b := a
				bs = &b
			}
			continue
		}
		if a.ssid == 0 {
			if a.err == nil {
				a.err = fmt.Errorf("security account /0/%d has no short server id (/0/%d/10)", id, id)
			}
			dm = append(dm, a)
			continue
		}
		srv, ok := servers[a.ssid]
		if !ok {
			if a.err == nil {
				a.err = fmt.Errorf("no server account (/1) with short server id %d", a.ssid)
			}
			dm = append(dm, a)
			continue
		}
		a.srvID = srv.ID
		applyServer(&a, &srv)
		dm = append(dm, a)
	}
	slices.SortFunc(dm, func(x, y account) int { return int(x.ssid) - int(y.ssid) })
	// One account per short server id: the first Security instance wins.
	dm = slices.CompactFunc(dm, func(x, y account) bool { return x.ssid != 0 && x.ssid == y.ssid })
	return dm, bs, nil
}

// applyServer reads the registration parameters of a Server instance.
func applyServer(a *account, n *model.Node) {
	num := func(id uint16) (int64, bool) {
		v, ok := resourceOf(n, id)
		if !ok {
			return 0, false
		}
		return intOf(v)
	}
	if lt, ok := num(1); ok && lt > 0 {
		a.lifetime = uint32(min(lt, 1<<31))
	}
	if v, ok := num(2); ok && v > 0 {
		a.pmin = uint32(min(v, 1<<31))
	}
	if v, ok := num(3); ok && v > 0 {
		a.pmax, a.hasPmax = uint32(min(v, 1<<31)), true
	}
	if v, ok := num(5); ok && v >= 0 {
		a.disableTimeout = time.Duration(min(v, 1<<31)) * time.Second
	}
	a.binding = "U"
	if v, ok := resourceOf(n, 7); ok && v.Str() != "" {
		a.binding = v.Str()
	}
	a.queue = strings.Contains(a.binding, "Q")
	if !strings.Contains(a.binding, "U") && a.err == nil {
		a.err = fmt.Errorf("binding %q has no UDP (U); the client speaks UDP only", a.binding)
	}
	if v, ok := num(13); ok && v >= 0 {
		a.priority = v
	}
	if v, ok := resourceOf(n, 15); ok && v.Type() == model.TypeBoolean {
		a.failureBlock = v.Bool()
	}
	if v, ok := num(14); ok && v > 0 {
		a.initialDelay = time.Duration(min(v, 1<<31)) * time.Second
	}
	if v, ok := resourceOf(n, 16); ok && v.Type() == model.TypeBoolean {
		a.bootstrapOnFail = v.Bool()
	}
	var p RetryPolicy
	if v, ok := num(17); ok && v > 0 {
		p.Count = int(min(v, 1<<20))
	}
	if v, ok := num(18); ok && v > 0 {
		p.Timer = time.Duration(min(v, 1<<31)) * time.Second
	}
	if v, ok := num(19); ok && v > 0 {
		p.SequenceDelay = time.Duration(min(v, 1<<31)) * time.Second
	}
	if v, ok := num(20); ok && v > 0 {
		p.Sequences = int(min(v, 1<<20))
	}
	a.retry = p.withDefaults()
	if v, ok := resourceOf(n, 23); ok {
		// Core 1.2 Appendix E.2 reads Mute Send as "true mutes"; the 1.1
		// text also mutes when the resource is absent, which would
		// silence Send on every Server object written before 1.1. We
		// follow 1.2.
		a.muteSend = v.Bool()
	}
}

// resolveURI parses a server URI (coap://host[:port], or coaps:// for
// DTLS, port 5684 by default) and resolves its host. Every other scheme is
// refused.
func resolveURI(ctx context.Context, uri string) (addr netip.AddrPort, secure bool, err error) {
	if uri == "" {
		return netip.AddrPort{}, false, fmt.Errorf("no server uri")
	}
	u, err := url.Parse(uri)
	if err != nil {
		return netip.AddrPort{}, false, fmt.Errorf("server uri %q: %w", uri, err)
	}
	port := uint16(5683)
	switch strings.ToLower(u.Scheme) {
	case "coap":
	case "coaps":
		secure, port = true, 5684
	default:
		return netip.AddrPort{}, false, fmt.Errorf("server uri %q: %w %q (want coap or coaps)", uri, ErrUnsupportedScheme, u.Scheme)
	}
	host := u.Hostname()
	if host == "" {
		return netip.AddrPort{}, false, fmt.Errorf("server uri %q has no host", uri)
	}
	if ps := u.Port(); ps != "" {
		n, err := strconv.ParseUint(ps, 10, 16)
		if err != nil || n == 0 {
			return netip.AddrPort{}, false, fmt.Errorf("server uri %q: bad port %q", uri, ps)
		}
		port = uint16(n)
	}
	if ip, err := netip.ParseAddr(host); err == nil {
		return netip.AddrPortFrom(ip.Unmap(), port), secure, nil
	}
	ips, err := net.DefaultResolver.LookupNetIP(ctx, "ip", host)
	if err != nil || len(ips) == 0 {
		return netip.AddrPort{}, false, fmt.Errorf("server uri %q: resolve %s: %v", uri, host, err)
	}
	// Prefer IPv4: the default socket is dual-stack, and loopback names
	// resolve to both.
	best := ips[0]
	for _, ip := range ips {
		if ip.Unmap().Is4() {
			best = ip
			break
		}
	}
	return netip.AddrPortFrom(best.Unmap(), port), secure, nil
}
