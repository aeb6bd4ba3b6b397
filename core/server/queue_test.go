package server

import (
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/wasm2m/wasm2m/core/model"
	"github.com/wasm2m/wasm2m/core/server/servertest"
)

func TestQueueModeHoldsAndDelivers(t *testing.T) {
	s := startServer(t, Config{AwakeTime: 300 * time.Millisecond, MaxQueued: 3})
	sub := s.Subscribe(SubscribeOptions{Types: []EventType{EventSleeping, EventAwake}})
	d := register(t, s, "sleepy", func(c *servertest.Config) { c.Queue = true })
	if r, _ := s.Registration(ctxT(t), "sleepy"); !r.Queue {
		t.Fatal("not in queue mode")
	}
	next(t, sub, EventAwake)
	// Awake right after registering: a read goes straight through.
	if _, err := s.Read(ctxT(t), "sleepy", mustPath("/3/0/0")); err != nil {
		t.Fatalf("read while awake: %v", err)
	}
	next(t, sub, EventSleeping)
	served := d.Requests()

	// Asleep: requests wait, in order, and nothing reaches the device.
	var wg sync.WaitGroup
	results := make([]model.Value, 3)
	errs := make([]error, 3)
	for i, p := range []string{"/3/0/0", "/3/0/1", "/3/0/2"} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			n, err := s.Read(ctxT(t), "sleepy", mustPath(p))
			results[i], errs[i] = n.Value, err
		}()
		time.Sleep(20 * time.Millisecond) // keep the order of arrival
	}
	time.Sleep(100 * time.Millisecond)
	if d.Requests() != served {
		t.Fatalf("a sleeping device got %d requests", d.Requests()-served)
	}
	// The queue is bounded.
	if _, err := s.Read(ctxT(t), "sleepy", mustPath("/3/0/3")); !errors.Is(err, ErrQueueFull) || model.CodeOf(err) != model.ServiceUnavailable {
		t.Errorf("fourth held request: %v, want 5.03 queue full", err)
	}
	// The device wakes with an Update: the held requests go out in order.
	if err := d.Update(ctxT(t), false); err != nil {
		t.Fatal(err)
	}
	next(t, sub, EventAwake)
	wg.Wait()
	want := []model.Value{model.String("Open Mobile Alliance"), model.String("Lightweight M2M Client"), model.String("345000123")}
	for i := range 3 {
		if errs[i] != nil || results[i] != want[i] {
			t.Errorf("held request %d: %v %v", i, results[i], errs[i])
		}
	}
	if got := d.Requests() - served; got != 3 {
		t.Errorf("device served %d held requests, want 3", got)
	}
}

func TestQueueModeCallerDeadline(t *testing.T) {
	s := startServer(t, Config{AwakeTime: 50 * time.Millisecond})
	register(t, s, "deep-sleep", func(c *servertest.Config) { c.Queue = true })
	time.Sleep(150 * time.Millisecond)
	ctx, cancel := contextWithTimeout(200 * time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := s.Read(ctx, "deep-sleep", mustPath("/3/0/0"))
	if model.CodeOf(err) != model.GatewayTimeout {
		t.Errorf("read of a device that stays asleep: %v, want 5.04", err)
	}
	if el := time.Since(start); el < 150*time.Millisecond || el > 2*time.Second {
		t.Errorf("the caller's deadline was not what ended the wait: %v", el)
	}
	// De-registering fails what is still held.
	done := make(chan error, 1)
	go func() {
		_, err := s.Read(ctxT(t), "deep-sleep", mustPath("/3/0/0"))
		done <- err
	}()
	time.Sleep(50 * time.Millisecond)
	r, _ := s.Registration(ctxT(t), "deep-sleep")
	if _, _, err := s.Store().DeleteRegistration(ctxT(t), r.ID); err != nil {
		t.Fatal(err)
	}
	s.untrack(r)
	select {
	case err := <-done:
		if model.CodeOf(err) != model.NotFound {
			t.Errorf("held request of a removed registration: %v", err)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("held request not released")
	}
}
