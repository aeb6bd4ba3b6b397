package stdobj

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/wasm2m/wasm2m/core/model"
)

type download struct {
	image []byte
	err   error
}

// fw is a Firmware object whose Downloader and Apply wait for the test.
type fw struct {
	*Firmware
	t        *testing.T
	started  chan string   // URIs the downloader is called with
	finish   chan download // what the downloader returns
	applying chan []byte   // images Apply is called with
	applied  chan error    // what Apply returns
	dlCtx    chan error    // ctx.Err() of a download that ended by its context
	report   *recorder
}

func newFW(t *testing.T, cfg FirmwareConfig) *fw {
	h := &fw{t: t, started: make(chan string, 1), finish: make(chan download), applying: make(chan []byte, 1),
		applied: make(chan error), dlCtx: make(chan error, 1), report: &recorder{}}
	if cfg.Downloader == nil {
		cfg.Downloader = func(ctx context.Context, uri string) ([]byte, error) {
			h.started <- uri
			select {
			case d := <-h.finish:
				return d.image, d.err
			case <-ctx.Done():
				h.dlCtx <- ctx.Err()
				return nil, ctx.Err()
			}
		}
	}
	if cfg.Apply == nil {
		cfg.Apply = func(ctx context.Context, image []byte) error {
			h.applying <- image
			select {
			case err := <-h.applied:
				return err
			case <-ctx.Done():
				return ctx.Err()
			}
		}
	}
	h.Firmware = NewFirmware(cfg)
	h.Observe(h.report.changed)
	t.Cleanup(func() { h.Close() })
	return h
}

// wait waits for the state machine to reach s with result r.
func (h *fw) wait(s FirmwareState, r UpdateResult) {
	h.t.Helper()
	waitFW(h.t, h.Firmware, s, r)
}

// waitFW waits for f to reach state s with result r, and checks that the
// resources say the same.
func waitFW(t *testing.T, f *Firmware, s FirmwareState, r UpdateResult) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		gs, gr := f.State()
		if gs == s && gr == r {
			st, _ := f.Read(ctx, p("/5/0/3"))
			rs, _ := f.Read(ctx, p("/5/0/5"))
			if st.Value != model.Int(int64(s)) || rs.Value != model.Int(int64(r)) {
				t.Fatalf("state %v/%v but resources %v/%v", s, r, st.Value, rs.Value)
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("state %v result %d, want %v result %d", gs, gr, s, r)
		}
		time.Sleep(time.Millisecond)
	}
}

func (h *fw) push(image string) error {
	return h.Write(ctx, p("/5/0/0"), model.NewResource(0, model.OpaqueString(image)), true)
}

func (h *fw) pull(uri string) error {
	return h.Write(ctx, p("/5/0/1"), model.NewResource(1, model.String(uri)), true)
}

func (h *fw) update() error { return h.Execute(ctx, p("/5/0/2"), nil) }
func (h *fw) cancel() error { return h.Execute(ctx, p("/5/0/10"), nil) }

// downloaded brings h to Downloaded by a push of image.
func (h *fw) downloaded(image string) {
	h.t.Helper()
	if err := h.push(image); err != nil {
		h.t.Fatal(err)
	}
	h.wait(FirmwareDownloaded, ResultInitial)
}

// downloading brings h to Downloading by a pull that waits.
func (h *fw) downloading(uri string) {
	h.t.Helper()
	if err := h.pull(uri); err != nil {
		h.t.Fatal(err)
	}
	if got := <-h.started; got != uri {
		h.t.Fatalf("downloader got %q", got)
	}
	h.wait(FirmwareDownloading, ResultInitial)
}

// updating brings h to Updating with image.
func (h *fw) updating(image string) {
	h.t.Helper()
	h.downloaded(image)
	if err := h.update(); err != nil {
		h.t.Fatal(err)
	}
	if got := <-h.applying; string(got) != image {
		h.t.Fatalf("apply got %q", got)
	}
	h.wait(FirmwareUpdating, ResultInitial)
}

func TestFirmwareTransitions(t *testing.T) {
	tests := []struct {
		name   string
		cfg    FirmwareConfig
		run    func(h *fw)
		state  FirmwareState
		result UpdateResult
	}{
		{"push", FirmwareConfig{}, func(h *fw) { h.downloaded("img") }, FirmwareDownloaded, ResultInitial},
		{"pull", FirmwareConfig{}, func(h *fw) {
			h.downloading("coap://fw.example/img")
			h.finish <- download{image: []byte("img")}
		}, FirmwareDownloaded, ResultInitial},
		{"update succeeds", FirmwareConfig{}, func(h *fw) {
			h.updating("img")
			h.applied <- nil
		}, FirmwareIdle, ResultSuccess},
		{"update fails and keeps the package", FirmwareConfig{}, func(h *fw) {
			h.updating("img")
			h.applied <- errors.New("flash write")
			h.wait(FirmwareDownloaded, ResultUpdateFailed)
			if err := h.update(); err != nil { // another try
				h.t.Fatal(err)
			}
			<-h.applying
			h.applied <- nil
		}, FirmwareIdle, ResultSuccess},
		{"update fails with a result of its own", FirmwareConfig{}, func(h *fw) {
			h.updating("img")
			h.applied <- &FirmwareError{Result: ResultIntegrityFailure, Err: errors.New("bad signature")}
			h.wait(FirmwareIdle, ResultIntegrityFailure)
			wantCode(h.t, h.update(), model.MethodNotAllowed)
		}, FirmwareIdle, ResultIntegrityFailure},
		{"empty package resets Downloaded", FirmwareConfig{}, func(h *fw) {
			h.downloaded("img")
			wantCode(h.t, h.push(""), 0)
			wantCode(h.t, h.update(), model.MethodNotAllowed)
		}, FirmwareIdle, ResultInitial},
		{"empty uri resets Downloaded", FirmwareConfig{}, func(h *fw) {
			h.downloaded("img")
			wantCode(h.t, h.pull(""), 0)
		}, FirmwareIdle, ResultInitial},
		{"cancel Downloaded", FirmwareConfig{}, func(h *fw) {
			h.downloaded("img")
			wantCode(h.t, h.cancel(), 0)
		}, FirmwareIdle, ResultCancelled},
		{"empty uri stops a download", FirmwareConfig{}, func(h *fw) {
			h.downloading("coap://fw.example/img")
			wantCode(h.t, h.pull(""), 0)
			if err := <-h.dlCtx; !errors.Is(err, context.Canceled) {
				h.t.Fatalf("download context %v", err)
			}
		}, FirmwareIdle, ResultInitial},
		{"empty package stops a download", FirmwareConfig{}, func(h *fw) {
			h.downloading("coap://fw.example/img")
			wantCode(h.t, h.push(""), 0)
			<-h.dlCtx
		}, FirmwareIdle, ResultInitial},
		{"cancel a download", FirmwareConfig{}, func(h *fw) {
			h.downloading("coap://fw.example/img")
			wantCode(h.t, h.cancel(), 0)
			<-h.dlCtx
		}, FirmwareIdle, ResultCancelled},
		{"download fails", FirmwareConfig{}, func(h *fw) {
			h.downloading("coap://fw.example/img")
			h.finish <- download{err: errors.New("timeout")}
		}, FirmwareIdle, ResultConnectionLost},
		{"download fails with a result of its own", FirmwareConfig{}, func(h *fw) {
			h.downloading("coap://fw.example/img")
			h.finish <- download{err: &FirmwareError{Result: ResultOutOfMemory}}
		}, FirmwareIdle, ResultOutOfMemory},
		{"download too large", FirmwareConfig{MaxSize: 3}, func(h *fw) {
			h.downloading("coap://fw.example/img")
			h.finish <- download{image: []byte("four")}
		}, FirmwareIdle, ResultNoStorage},
		{"push too large", FirmwareConfig{MaxSize: 3}, func(h *fw) {
			wantCode(h.t, h.push("four"), model.RequestEntityTooLarge)
		}, FirmwareIdle, ResultNoStorage},
		{"push fails verification", FirmwareConfig{Verify: func(ctx context.Context, image []byte) (string, string, error) {
			return "", "", errors.New("bad crc")
		}}, func(h *fw) { wantCode(h.t, h.push("img"), 0) }, FirmwareIdle, ResultIntegrityFailure},
		{"pull fails verification with a result of its own", FirmwareConfig{Verify: func(ctx context.Context, image []byte) (string, string, error) {
			return "", "", &FirmwareError{Result: ResultUnsupportedType}
		}}, func(h *fw) {
			h.downloading("coap://fw.example/img")
			h.finish <- download{image: []byte("img")}
		}, FirmwareIdle, ResultUnsupportedType},
		{"invalid uri", FirmwareConfig{}, func(h *fw) { wantCode(h.t, h.pull("no scheme"), 0) }, FirmwareIdle, ResultInvalidURI},
		{"uri without a host", FirmwareConfig{}, func(h *fw) { wantCode(h.t, h.pull("coap://"), 0) }, FirmwareIdle, ResultInvalidURI},
		{"unsupported protocol", FirmwareConfig{Protocols: []FirmwareProtocol{ProtocolCoAP}}, func(h *fw) {
			wantCode(h.t, h.pull("https://fw.example/img"), 0)
		}, FirmwareIdle, ResultUnsupportedProtocol},
		{"unknown scheme with protocols", FirmwareConfig{Protocols: []FirmwareProtocol{ProtocolCoAP}}, func(h *fw) {
			wantCode(h.t, h.pull("ftp://fw.example/img"), 0)
		}, FirmwareIdle, ResultUnsupportedProtocol},
		{"supported protocol", FirmwareConfig{Protocols: []FirmwareProtocol{ProtocolCoAP, ProtocolHTTPS}}, func(h *fw) {
			h.downloading("https://fw.example/img")
			h.finish <- download{image: []byte("img")}
		}, FirmwareDownloaded, ResultInitial},
		{"a new download resets the result", FirmwareConfig{}, func(h *fw) {
			wantCode(h.t, h.pull("bad"), 0)
			h.wait(FirmwareIdle, ResultInvalidURI)
			h.downloading("coap://fw.example/img")
		}, FirmwareDownloading, ResultInitial},
		{"starting result", FirmwareConfig{Result: ResultSuccess}, func(h *fw) {}, FirmwareIdle, ResultSuccess},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := newFW(t, tc.cfg)
			tc.run(h)
			h.wait(tc.state, tc.result)
		})
	}
}

func TestFirmwareRefusals(t *testing.T) {
	tests := []struct {
		name  string
		setup func(h *fw)
		do    func(h *fw) error
		code  model.Code
		state FirmwareState
	}{
		{"update while Idle", func(h *fw) {}, (*fw).update, model.MethodNotAllowed, FirmwareIdle},
		{"cancel while Idle", func(h *fw) {}, (*fw).cancel, model.MethodNotAllowed, FirmwareIdle},
		{"update while Downloading", func(h *fw) { h.downloading("coap://a/b") }, (*fw).update, model.MethodNotAllowed, FirmwareDownloading},
		{"push while Downloading", func(h *fw) { h.downloading("coap://a/b") }, func(h *fw) error { return h.push("x") }, model.MethodNotAllowed, FirmwareDownloading},
		{"pull while Downloading", func(h *fw) { h.downloading("coap://a/b") }, func(h *fw) error { return h.pull("coap://a/c") }, model.MethodNotAllowed, FirmwareDownloading},
		{"push while Downloaded", func(h *fw) { h.downloaded("img") }, func(h *fw) error { return h.push("x") }, model.MethodNotAllowed, FirmwareDownloaded},
		{"pull while Downloaded", func(h *fw) { h.downloaded("img") }, func(h *fw) error { return h.pull("coap://a/c") }, model.MethodNotAllowed, FirmwareDownloaded},
		{"update while Updating", func(h *fw) { h.updating("img") }, (*fw).update, model.MethodNotAllowed, FirmwareUpdating},
		{"cancel while Updating", func(h *fw) { h.updating("img") }, (*fw).cancel, model.MethodNotAllowed, FirmwareUpdating},
		{"empty package while Updating", func(h *fw) { h.updating("img") }, func(h *fw) error { return h.push("") }, model.MethodNotAllowed, FirmwareUpdating},
		{"empty uri while Updating", func(h *fw) { h.updating("img") }, func(h *fw) error { return h.pull("") }, model.MethodNotAllowed, FirmwareUpdating},
		{"uri too long", func(h *fw) {}, func(h *fw) error { return h.pull("coap://a/" + strings.Repeat("x", 250)) }, model.BadRequest, FirmwareIdle},
		{"read the package", func(h *fw) { h.downloaded("img") }, func(h *fw) error { _, err := h.Read(ctx, p("/5/0/0")); return err }, model.MethodNotAllowed, FirmwareDownloaded},
		{"write the state", func(h *fw) {}, func(h *fw) error {
			return h.Write(ctx, p("/5/0/3"), model.NewResource(3, model.Int(2)), true)
		}, model.MethodNotAllowed, FirmwareIdle},
		{"create", func(h *fw) {}, func(h *fw) error { _, err := h.Create(ctx, model.NewInstance(1)); return err }, model.MethodNotAllowed, FirmwareIdle},
		{"delete", func(h *fw) {}, func(h *fw) error { return h.Delete(ctx, 0) }, model.MethodNotAllowed, FirmwareIdle},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := newFW(t, FirmwareConfig{})
			tc.setup(h)
			wantCode(t, tc.do(h), tc.code)
			if s, _ := h.State(); s != tc.state {
				t.Fatalf("state %v after a refusal, want %v", s, tc.state)
			}
		})
	}
}

func TestFirmwareResources(t *testing.T) {
	t.Run("package is not kept and reaches apply", func(t *testing.T) {
		h := newFW(t, FirmwareConfig{})
		h.updating("image bytes") // updating checks what Apply gets
		if _, ok := h.Get(p("/5/0/0")); ok {
			t.Fatal("package kept in the object")
		}
	})
	t.Run("name and version from verify", func(t *testing.T) {
		h := newFW(t, FirmwareConfig{Verify: func(ctx context.Context, image []byte) (string, string, error) {
			return "fw-" + string(image), "2.0", nil
		}})
		h.downloaded("x")
		n, _ := h.Read(ctx, p("/5/0/6"))
		v, _ := h.Read(ctx, p("/5/0/7"))
		if n.Value.Str() != "fw-x" || v.Value.Str() != "2.0" {
			t.Fatalf("name %v version %v", n, v)
		}
		wantCode(t, h.push(""), 0)
		n, _ = h.Read(ctx, p("/5/0/6"))
		if n.Value.Str() != "" {
			t.Fatalf("name %v after reset", n)
		}
	})
	t.Run("delivery method and protocols", func(t *testing.T) {
		push := NewFirmware(FirmwareConfig{})
		defer push.Close()
		both := newFW(t, FirmwareConfig{Protocols: []FirmwareProtocol{ProtocolCoAP, ProtocolCoAPS}})
		d1, _ := push.Read(ctx, p("/5/0/9"))
		d2, _ := both.Read(ctx, p("/5/0/9"))
		pr, _ := both.Read(ctx, p("/5/0/8"))
		want := model.NewMultipleResourceOf(8, model.Int(0), model.Int(1))
		if d1.Value != model.Int(1) || d2.Value != model.Int(2) || !pr.Equal(&want) {
			t.Fatalf("delivery %v %v protocols %v", d1, d2, pr)
		}
		if _, err := push.Read(ctx, p("/5/0/8")); model.CodeOf(err) != model.NotFound {
			t.Fatalf("protocols without any: %v", err)
		}
	})
	t.Run("push only refuses a pull by its result", func(t *testing.T) {
		f := NewFirmware(FirmwareConfig{})
		defer f.Close()
		if err := f.Write(ctx, p("/5/0/1"), model.NewResource(1, model.String("coap://a/b")), true); err != nil {
			t.Fatal(err)
		}
		if s, r := f.State(); s != FirmwareIdle || r != ResultUnsupportedProtocol {
			t.Fatalf("state %v result %d", s, r)
		}
	})
	t.Run("uri is readable", func(t *testing.T) {
		h := newFW(t, FirmwareConfig{})
		h.downloading("coap://a/b")
		n, _ := h.Read(ctx, p("/5/0/1"))
		if n.Value.Str() != "coap://a/b" {
			t.Fatalf("uri %v", n)
		}
	})
	t.Run("changes are reported", func(t *testing.T) {
		h := newFW(t, FirmwareConfig{})
		h.updating("img")
		h.applied <- nil
		h.wait(FirmwareIdle, ResultSuccess)
		rep := h.report.take()
		var states []string
		for _, s := range rep {
			if s == "/5/0/3" || s == "/5/0/5" {
				states = append(states, s)
			}
		}
		// Downloading, Downloaded, Updating, Idle: each reports the state;
		// the result changes to 1 at the end.
		if n := strings.Count(strings.Join(states, " "), "/5/0/3"); n != 4 || !slices.Contains(states, "/5/0/5") {
			t.Fatalf("reported %v", rep)
		}
		if n, err := h.Read(ctx, p("/5/0/12")); err != nil || time.Since(n.Value.Time()) > time.Minute {
			t.Fatalf("last state change time %v, %v", n, err)
		}
	})
	t.Run("no apply function fails the update", func(t *testing.T) {
		f := NewFirmware(FirmwareConfig{})
		defer f.Close()
		if err := f.Write(ctx, p("/5/0/0"), model.NewResource(0, model.OpaqueString("img")), true); err != nil {
			t.Fatal(err)
		}
		if err := f.Execute(ctx, p("/5/0/2"), nil); err != nil {
			t.Fatal(err)
		}
		waitFW(t, f, FirmwareDownloaded, ResultUpdateFailed)
	})
	t.Run("the observer may call back", func(t *testing.T) {
		h := newFW(t, FirmwareConfig{})
		seen := make(chan FirmwareState, 16)
		h.Observe(func(paths ...model.Path) {
			s, _ := h.State() // f.mu must not be held while reporting
			_, _ = h.Read(ctx, p("/5/0"))
			seen <- s
		})
		h.downloaded("img")
		if len(seen) == 0 {
			t.Fatal("nothing reported")
		}
	})
	t.Run("version 1.0 has no cancel", func(t *testing.T) {
		h := newFW(t, FirmwareConfig{Definition: Definition(FirmwareID, model.V1_0)})
		h.downloaded("img")
		wantCode(t, h.cancel(), model.NotFound)
	})
	t.Run("state names", func(t *testing.T) {
		got := []string{FirmwareIdle.String(), FirmwareDownloading.String(), FirmwareDownloaded.String(), FirmwareUpdating.String(), FirmwareState(7).String()}
		if !slices.Equal(got, []string{"Idle", "Downloading", "Downloaded", "Updating", "state(7)"}) {
			t.Fatal(got)
		}
	})
	t.Run("firmware error", func(t *testing.T) {
		cause := errors.New("cause")
		e := &FirmwareError{Result: ResultInvalidURI, Err: cause}
		if !errors.Is(e, cause) || e.Error() != "firmware update result 7: cause" || (&FirmwareError{Result: 2}).Error() != "firmware update result 2" {
			t.Fatal(e)
		}
	})
}

func TestFirmwareClose(t *testing.T) {
	t.Run("during a download", func(t *testing.T) {
		h := newFW(t, FirmwareConfig{})
		h.downloading("coap://a/b")
		if err := h.Close(); err != nil {
			t.Fatal(err)
		}
		if err := <-h.dlCtx; !errors.Is(err, context.Canceled) {
			t.Fatalf("download context %v", err)
		}
		wantCode(t, h.pull(""), 0) // a reset needs no goroutine
		err := h.pull("coap://a/b")
		if !errors.Is(err, ErrClosed) || !errors.Is(err, model.ErrServiceUnavailable) {
			t.Fatalf("pull after close = %v", err)
		}
		wantCode(t, h.push("img"), model.ServiceUnavailable)
	})
	t.Run("during an update", func(t *testing.T) {
		h := newFW(t, FirmwareConfig{})
		h.updating("img")
		if err := h.Close(); err != nil {
			t.Fatal(err)
		}
		if s, _ := h.State(); s != FirmwareUpdating {
			t.Fatalf("state %v after close", s)
		}
		if err := h.Close(); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("update after close", func(t *testing.T) {
		h := newFW(t, FirmwareConfig{})
		h.downloaded("img")
		h.Close()
		wantCode(t, h.update(), model.ServiceUnavailable)
	})
}
