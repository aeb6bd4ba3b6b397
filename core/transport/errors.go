package transport

import "github.com/wasm2m/wasm2m/core/model"

// Errors of Do and Notify. Each is a *model.Error carrying the CoAP code a
// gateway would answer with, so that errors.Is(err, ErrTimeout) and
// errors.Is(err, model.ErrGatewayTimeout) both hold and model.CodeOf
// gives a code to pass on (an HTTP API maps 5.04 to 504, say).
var (
	// ErrTimeout is returned when a peer does not answer: no ACK after the
	// last retransmission of a CON (RFC 7252 section 4.2, about
	// MAX_TRANSMIT_WAIT), or no response to a NON request within
	// MAX_TRANSMIT_WAIT, or no separate response within EXCHANGE_LIFETIME
	// after an empty ACK. It carries 5.04 Gateway Timeout.
	ErrTimeout error = &model.Error{Code: model.GatewayTimeout, Msg: "transport: no answer from peer"}

	// ErrReset is returned when the peer answers with a Reset message (RFC
	// 7252 section 4.2; for a notification, the observer cancelled, RFC
	// 7641 section 3.6). It carries 5.02 Bad Gateway.
	ErrReset error = &model.Error{Code: model.BadGateway, Msg: "transport: reset by peer"}

	// ErrClosed is returned by calls on an Endpoint that is closed, and by
	// calls pending when it closes. It carries 5.03 Service Unavailable.
	ErrClosed error = &model.Error{Code: model.ServiceUnavailable, Msg: "transport: endpoint closed"}

	// ErrNoSession is returned by Do and Notify on a DTLS server endpoint
	// for a peer it has no session with: the server cannot open DTLS to a
	// device, the device has to handshake again (after its session went
	// idle, say). It carries 5.03 Service Unavailable.
	ErrNoSession error = &model.Error{Code: model.ServiceUnavailable, Msg: "transport: no DTLS session with peer"}

	// ErrHandshake is wrapped by the error of every Do and Notify waiting
	// on a DTLS client endpoint when the handshake with their peer fails
	// (a refused key or certificate, no answer within the handshake
	// timeout): the datagrams queued for it are gone. It carries 5.02 Bad
	// Gateway.
	ErrHandshake error = &model.Error{Code: model.BadGateway, Msg: "transport: DTLS handshake failed"}
)
