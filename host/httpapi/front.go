package httpapi

import (
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
)

// front is the door every API of the package shares: it routes a request
// through a route table, checks its bearer token, counts it and turns a
// panic of its handler into a 500.
type front struct {
	log   *slog.Logger
	auth  auth
	count *prometheus.CounterVec // route, method, status
}

// serve routes r through table to a handler of a.
func serve[T any](f *front, a T, table []route[T], w http.ResponseWriter, r *http.Request) {
	rec := &statusRecorder{ResponseWriter: w}
	rt, p, allowed, badPath := match(table, r.Method, r.URL.EscapedPath())
	name := "unmatched"
	if rt != nil {
		name = rt.name
	}
	defer func() {
		if v := recover(); v != nil {
			if v == http.ErrAbortHandler {
				panic(v)
			}
			f.log.Error("http handler panicked", "route", name, "panic", fmt.Sprint(v))
			if !rec.wrote {
				writeError(rec, http.StatusInternalServerError, "internal", "internal error")
			}
		}
		f.count.WithLabelValues(name, r.Method, fmt.Sprint(rec.status())).Inc()
	}()
	if rt == nil || !rt.public {
		if !f.auth.authorized(r) {
			rec.Header().Set("WWW-Authenticate", `Bearer realm="wasm2m"`)
			writeError(rec, http.StatusUnauthorized, "unauthorized", "a bearer token is required (Authorization: Bearer <token>)")
			return
		}
	}
	switch {
	case rt != nil:
		rt.handle(a, rec, r, p)
	case badPath != nil:
		writeError(rec, http.StatusBadRequest, "bad_path", errText(badPath))
	case len(allowed) > 0:
		rec.Header().Set("Allow", strings.Join(allowed, ", "))
		writeError(rec, http.StatusMethodNotAllowed, "method_not_allowed", r.Method+" is not allowed here; allowed: "+strings.Join(allowed, ", "))
	default:
		writeError(rec, http.StatusNotFound, "not_found", "no such route: "+r.URL.Path+" (see /api/openapi.json)")
	}
}

// newHTTPCounter returns the counter of HTTP requests by route, method
// and status.
func newHTTPCounter() *prometheus.CounterVec {
	return prometheus.NewCounterVec(prometheus.CounterOpts{Name: "wasm2m_http_requests_total",
		Help: "HTTP requests to the API by route, method and status."}, []string{"route", "method", "status"})
}

// auth checks bearer tokens, kept as their SHA-256 so that a comparison
// takes the same time whatever the token.
type auth struct {
	disabled bool
	tokens   [][32]byte
}

// newAuth returns the auth of tokens: ErrNoToken when there is none and
// disabled is not set, an error for an empty token.
func newAuth(tokens []string, disabled bool) (auth, error) {
	if !disabled && len(tokens) == 0 {
		return auth{}, ErrNoToken
	}
	au := auth{disabled: disabled}
	for _, t := range tokens {
		if t == "" {
			return auth{}, errors.New("httpapi: empty token")
		}
		au.tokens = append(au.tokens, sha256.Sum256([]byte(t)))
	}
	return au, nil
}

func (au auth) authorized(r *http.Request) bool {
	if au.disabled {
		return true
	}
	h := r.Header.Get("Authorization")
	scheme, tok, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return false
	}
	sum := sha256.Sum256([]byte(strings.TrimSpace(tok)))
	found := 0
	for i := range au.tokens {
		found |= subtle.ConstantTimeCompare(sum[:], au.tokens[i][:])
	}
	return found == 1
}
