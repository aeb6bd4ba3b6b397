package notify_test

import (
	"fmt"
	"time"

	"github.com/wasm2m/wasm2m/core/client/internal/notify"
	"github.com/wasm2m/wasm2m/core/link"
	"github.com/wasm2m/wasm2m/core/model"
)

// An engine observes a temperature with pmin=10 and gt=25 written on the
// resource and a Default Maximum Period of 60 on the server. It drives the
// State with a fake clock; a real engine uses time.Now and one timer.
func Example() {
	p := notify.PolicyFor(0, 60,
		link.Attributes{}, // /3303
		link.Attributes{}, // /3303/0
		link.Attributes{PMin: link.Set[uint32](10), GT: link.Set(25.0)}, // /3303/0/5700
	)
	start := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	secs := func(t time.Time) float64 { return t.Sub(start).Seconds() }
	temp := func(c float64) model.Node { return model.NewResource(5700, model.Float(c)) }

	cur := temp(22)
	s := notify.NewState(p, cur, start) // the Observe response carried 22
	next := s.Next(start)
	fmt.Printf("t=%-3g observed 22, Tick at t=%g\n", secs(start), secs(next))

	// The object reports changes at 3, 5 and 20 seconds; the run ends at 75.
	changes := []struct {
		at time.Time
		v  float64
	}{{start.Add(3 * time.Second), 24}, {start.Add(5 * time.Second), 26}, {start.Add(20 * time.Second), 27}}
	end := start.Add(75 * time.Second)
	for i := 0; ; i++ {
		until := end
		if i < len(changes) {
			until = changes[i].at
		}
		// The timer fires before the next change.
		for !next.IsZero() && next.Before(until) {
			now := next
			notify, evaluate, n := s.Tick(now)
			switch {
			case notify:
				n = s.Sent(cur, now)
				fmt.Printf("t=%-3g pmax: sent %s, Tick at t=%g\n", secs(now), cur.Value, secs(n))
			case evaluate:
				if notify, n = s.Changed(cur, now); notify {
					n = s.Sent(cur, now)
					fmt.Printf("t=%-3g read %s: sent, Tick at t=%g\n", secs(now), cur.Value, secs(n))
				}
			}
			next = n
		}
		if i == len(changes) {
			break
		}
		now := changes[i].at
		cur = temp(changes[i].v)
		notify, n := s.Changed(cur, now)
		if notify {
			n = s.Sent(cur, now)
		}
		fmt.Printf("t=%-3g changed to %s: sent %v, Tick at t=%g\n", secs(now), cur.Value, notify, secs(n))
		next = n
	}
	// Output:
	// t=0   observed 22, Tick at t=60
	// t=3   changed to 24: sent false, Tick at t=60
	// t=5   changed to 26: sent false, Tick at t=10
	// t=10  read 26: sent, Tick at t=70
	// t=20  changed to 27: sent false, Tick at t=70
	// t=70  pmax: sent 27, Tick at t=130
}
