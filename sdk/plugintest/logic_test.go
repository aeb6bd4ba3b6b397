package plugintest_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/wasm2m/wasm2m/core/model"
	"github.com/wasm2m/wasm2m/sdk/abi"
	"github.com/wasm2m/wasm2m/sdk/guest"
	"github.com/wasm2m/wasm2m/sdk/plugintest"
)

// threshold is an example logic plugin: when a device with a temperature
// sensor registers, it observes the sensor value; when a notification
// says the value is above the configured limit, it switches the device's
// light off.
type threshold struct {
	limit float64
	seen  []guest.Event
}

func (l *threshold) Configure(ctx context.Context, config []byte) error {
	var c struct {
		Limit float64 `json:"limit"`
	}
	if err := json.Unmarshal(config, &c); err != nil {
		return fmt.Errorf("threshold config: %w", err)
	}
	l.limit = c.Limit
	return nil
}

var sensorValue = model.MustPath("/3303/0/5700")

func (l *threshold) OnEvent(ctx context.Context, e guest.Event) error {
	l.seen = append(l.seen, e)
	dev := guest.Device{Endpoint: e.Endpoint, Timeout: 2 * time.Second}
	switch e.Type {
	case guest.EventRegistered:
		if e.Object(3303) == nil {
			return nil
		}
		_, _, err := dev.Observe(ctx, sensorValue, "pmin=10")
		return err
	case guest.EventNotification:
		for _, en := range e.Entries {
			if en.Path == sensorValue && en.Node.Value.Float() > l.limit {
				guest.Log(ctx, guest.LevelWarn, "too hot, light off", "endpoint", e.Endpoint, "value", en.Node.Value.Float())
				return dev.Write(ctx, model.MustPath("/3311/0/5850"), model.NewResource(5850, model.Bool(false)), true)
			}
		}
	}
	return nil
}

func thresholdPlugin(l *threshold) *guest.Plugin {
	return &guest.Plugin{
		Manifest: guest.Manifest{ID: "logic.threshold", Version: "0.1.0", Capabilities: []string{abi.CapRequest},
			ConfigSchema: `{"type":"object","properties":{"limit":{"type":"number"}},"required":["limit"]}`},
		Logic: l,
	}
}

func TestLogic(t *testing.T) {
	l := &threshold{}
	p := plugintest.New(t, thresholdPlugin(l), plugintest.Config(`{"limit":30}`))
	p.Host.Respond(func(ctx context.Context, req plugintest.Request) (plugintest.Response, error) {
		if req.Endpoint != "dev-1" {
			return plugintest.Response{}, model.Errorf(model.NotFound, "no device %s", req.Endpoint)
		}
		switch req.Operation {
		case abi.OperationObserve:
			n := model.NewResource(5700, model.Float(21.5))
			return plugintest.Response{Node: &n, Token: []byte{1, 2}}, nil
		case abi.OperationWriteReplace:
			return plugintest.Response{}, nil
		}
		return plugintest.Response{}, model.Errorf(model.MethodNotAllowed, "unexpected %d", req.Operation)
	})
	reg := guest.Event{
		Type: guest.EventRegistered, Time: time.Unix(1700000000, 5), Endpoint: "dev-1", RegistrationID: "r1",
		Lifetime: time.Hour, Binding: "U", LWM2MVersion: model.V1_1, Address: "192.0.2.1:5683",
		Objects: []guest.RegisteredObject{{ID: 1, Version: model.V1_1, Instances: []uint16{0}}, {ID: 3303, Instances: []uint16{0}}},
	}
	if err := p.Event(ctx, reg); err != nil {
		t.Fatal(err)
	}
	reqs := p.Host.Requests()
	if len(reqs) != 1 || reqs[0].Operation != abi.OperationObserve || reqs[0].Path != sensorValue ||
		reqs[0].Attributes != "pmin=10" || reqs[0].Timeout != 2*time.Second {
		t.Fatalf("requests %+v, want one observe of %s", reqs, sensorValue)
	}
	note := guest.Event{
		Type: guest.EventNotification, Endpoint: "dev-1", Token: []byte{1, 2}, Paths: []model.Path{sensorValue},
		Entries: []model.Entry{{Path: sensorValue, Node: model.NewResource(5700, model.Float(31))}},
		Records: []model.Record{{Path: sensorValue, Value: model.Float(31), Time: time.Unix(1700000100, 0)}},
	}
	if err := p.Event(ctx, note); err != nil {
		t.Fatal(err)
	}
	reqs = p.Host.Requests()
	if len(reqs) != 2 || reqs[1].Operation != abi.OperationWriteReplace || reqs[1].Node == nil || reqs[1].Node.Value != model.Bool(false) {
		t.Fatalf("requests %+v, want a write of false", reqs)
	}
	if !p.Host.Logged("too hot, light off endpoint=dev-1 value=31") {
		t.Errorf("logs %v", p.Host.Logs())
	}
	// The events arrived as they were sent.
	if len(l.seen) != 2 || !reflect.DeepEqual(l.seen[0], reg) || !reflect.DeepEqual(l.seen[1], note) {
		t.Errorf("events seen:\n%+v\nsent:\n%+v\n%+v", l.seen, reg, note)
	}
	// A device error keeps its code through the host request.
	err := p.Event(ctx, guest.Event{Type: guest.EventRegistered, Endpoint: "dev-2", Objects: []guest.RegisteredObject{{ID: 3303}}})
	if !errors.Is(err, model.ErrNotFound) {
		t.Errorf("event for an unknown device: %v, want 4.04", err)
	}
	// The conformance kit runs on logic plugins too (manifest, malformed
	// requests, unknown methods).
	plugintest.Conformance(t, p.Dispatcher)
}

func TestLogicWithoutCapability(t *testing.T) {
	l := &threshold{}
	pl := thresholdPlugin(l)
	pl.Manifest.Capabilities = nil
	p := plugintest.New(t, pl, plugintest.Config(`{"limit":30}`))
	err := p.Event(ctx, guest.Event{Type: guest.EventRegistered, Endpoint: "dev-1", Objects: []guest.RegisteredObject{{ID: 3303}}})
	if !errors.Is(err, model.ErrForbidden) {
		t.Errorf("request without lwm2m.request: %v, want 4.03", err)
	}
}
