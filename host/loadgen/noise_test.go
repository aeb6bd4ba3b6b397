package loadgen

import (
	"context"
	"testing"
	"time"
)

// TestNoiseAnswered checks that the noisy peer reads every answer, also
// after the read deadline of its own Register has passed.
func TestNoiseAnswered(t *testing.T) {
	srv := startServer(t)
	s, err := Run(context.Background(), Config{
		Target: srv.Addr(), Devices: 5, InFlight: 1, Duration: time.Second, Rate: 10,
		ACKTimeout: 20 * time.Millisecond, Noise: Noise{Rate: 100},
	})
	if err != nil {
		t.Fatal(err)
	}
	if n := s.Noise; n.Answered < n.Sent-5 {
		t.Errorf("the noisy peer sent %d, read %d answers %s", n.Sent, n.Answered, n.CodeString())
	}
}
