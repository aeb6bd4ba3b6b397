package server

import (
	"fmt"
	"strings"
	"testing"

	"github.com/wasm2m/wasm2m/core/link"
	"github.com/wasm2m/wasm2m/core/server/servertest"
)

// Devices that send the same object list share one parsed copy; another
// list is parsed on its own.
func TestLayoutCacheSharesParsedLists(t *testing.T) {
	s := startServer(t, Config{})
	sub := s.Subscribe(SubscribeOptions{Types: []EventType{EventRegistered}})
	register(t, s, "a", nil)
	ra := next(t, sub, EventRegistered).Registration
	register(t, s, "b", nil)
	rb := next(t, sub, EventRegistered).Registration
	if len(ra.Objects) == 0 || &ra.Objects[0] != &rb.Objects[0] {
		t.Fatal("two devices with the same object list got separate parses")
	}
	register(t, s, "c", func(c *servertest.Config) { c.Objects = deviceObjects()[:2] })
	rc := next(t, sub, EventRegistered).Registration
	if len(rc.Objects) != 2 || &rc.Objects[0] == &ra.Objects[0] {
		t.Fatalf("another object list: %+v", rc.Objects)
	}
	if len(ra.Objects) != 3 {
		t.Fatalf("the shared list changed: %+v", ra.Objects)
	}
}

func TestLayoutCacheBounds(t *testing.T) {
	var c layoutCache
	for i := range maxLayouts + 10 {
		c.put(fmt.Appendf(nil, "</%d/0>", i), link.Registration{Root: "/"})
	}
	if n := len(c.m); n > maxLayouts {
		t.Fatalf("%d cached layouts, more than %d", n, maxLayouts)
	}
	if _, ok := c.get(fmt.Appendf(nil, "</%d/0>", maxLayouts+9)); !ok {
		t.Fatal("the latest layout is not cached")
	}
	big := []byte("</1/0>," + strings.Repeat("</3303/0>,", maxLayoutPayload/10))
	c.put(big, link.Registration{})
	if _, ok := c.get(big); ok {
		t.Fatalf("a %d-byte payload was cached", len(big))
	}
}
