package stdobj

import (
	"context"
	"errors"
	"math"
	"slices"
	"testing"
	"time"

	"github.com/wasm2m/wasm2m/core/model"
)

func TestDevice(t *testing.T) {
	clock := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	newDevice := func() *Device {
		return NewDevice(DeviceConfig{
			Manufacturer: "wasm2m", ModelNumber: "sim", SerialNumber: "0001", FirmwareVersion: "1.0.0",
			PowerSources: []PowerSource{{Type: PowerDC, Voltage: 5000}, {Type: PowerInternalBattery, Current: 120}},
			BatteryLevel: new(int64(80)), UTCOffset: "+01:00", Timezone: "Europe/Berlin",
			Now:        func() time.Time { return clock },
			MemoryFree: func() int64 { return 512 },
		})
	}
	reads := []struct {
		path string
		want model.Node
		code model.Code
	}{
		{"/3/0/0", model.NewResource(0, model.String("wasm2m")), 0},
		{"/3/0/3", model.NewResource(3, model.String("1.0.0")), 0},
		{"/3/0/6", model.NewMultipleResourceOf(6, model.Int(0), model.Int(1)), 0},
		{"/3/0/7", model.NewMultipleResource(7, model.NewResourceInstance(0, model.Int(5000))), 0},
		{"/3/0/8", model.NewMultipleResource(8, model.NewResourceInstance(1, model.Int(120))), 0},
		{"/3/0/9", model.NewResource(9, model.Int(80)), 0},
		{"/3/0/10", model.NewResource(10, model.Int(512)), 0},
		{"/3/0/11", model.NewMultipleResourceOf(11, model.Int(0)), 0},
		{"/3/0/13", model.NewResource(13, model.Time(clock)), 0},
		{"/3/0/14", model.NewResource(14, model.String("+01:00")), 0},
		{"/3/0/15", model.NewResource(15, model.String("Europe/Berlin")), 0},
		{"/3/0/16", model.NewResource(16, model.String("U")), 0},
		{"/3/0/17", model.Node{}, model.NotFound},
		{"/3/0/4", model.Node{}, model.MethodNotAllowed},
	}
	d := newDevice()
	for _, tc := range reads {
		t.Run("read "+tc.path, func(t *testing.T) {
			got, err := d.Read(ctx, p(tc.path))
			wantCode(t, err, tc.code)
			if err == nil && !got.Equal(&tc.want) {
				t.Fatalf("read = %v, want %v", got, tc.want)
			}
		})
	}

	t.Run("current time write moves the clock", func(t *testing.T) {
		d := newDevice()
		later := clock.Add(time.Hour)
		if err := d.Write(ctx, p("/3/0/13"), model.NewResource(13, model.Time(later)), true); err != nil {
			t.Fatal(err)
		}
		got, _ := d.Read(ctx, p("/3/0/13"))
		if !got.Value.Time().Equal(later) || !d.Now().Equal(later) {
			t.Fatalf("current time %v, now %v, want %v", got.Value, d.Now(), later)
		}
	})
	t.Run("timezone is writable", func(t *testing.T) {
		d := newDevice()
		if err := d.Write(ctx, p("/3/0/15"), model.NewResource(15, model.String("UTC")), true); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("manufacturer is not", func(t *testing.T) {
		wantCode(t, newDevice().Write(ctx, p("/3/0/0"), model.NewResource(0, model.String("x")), true), model.MethodNotAllowed)
	})

	t.Run("reboot and factory reset", func(t *testing.T) {
		d := newDevice()
		var ran []string
		wantCode(t, d.Execute(ctx, p("/3/0/4"), nil), 0) // no function: nothing happens
		wantCode(t, d.Execute(ctx, p("/3/0/5"), nil), model.NotFound)
		d.OnReboot(func(ctx context.Context) error { ran = append(ran, "reboot"); return nil })
		d.OnFactoryReset(func(ctx context.Context) error { ran = append(ran, "reset"); return errors.New("flash busy") })
		wantCode(t, d.Execute(ctx, p("/3/0/4"), nil), 0)
		wantCode(t, d.Execute(ctx, p("/3/0/5"), nil), model.InternalServerError)
		if !slices.Equal(ran, []string{"reboot", "reset"}) {
			t.Fatalf("ran %v", ran)
		}
	})

	t.Run("error codes", func(t *testing.T) {
		d := newDevice()
		var r recorder
		d.Observe(r.changed)
		if err := d.SetErrorCodes(1, 4); err != nil {
			t.Fatal(err)
		}
		got, _ := d.Read(ctx, p("/3/0/11"))
		if want := model.NewMultipleResourceOf(11, model.Int(1), model.Int(4)); !got.Equal(&want) {
			t.Fatalf("error codes %v", got)
		}
		if err := d.Execute(ctx, p("/3/0/12"), nil); err != nil {
			t.Fatal(err)
		}
		got, _ = d.Read(ctx, p("/3/0/11"))
		if want := model.NewMultipleResourceOf(11, model.Int(0)); !got.Equal(&want) {
			t.Fatalf("error codes after reset %v", got)
		}
		if rep := r.take(); !slices.Equal(rep, []string{"/3/0/11", "/3/0/11"}) {
			t.Fatalf("reported %v", rep)
		}
	})
	t.Run("battery level", func(t *testing.T) {
		d := newDevice()
		var r recorder
		d.Observe(r.changed)
		if err := d.SetBatteryLevel(50); err != nil {
			t.Fatal(err)
		}
		if rep := r.take(); !slices.Equal(rep, []string{"/3/0/9"}) {
			t.Fatalf("reported %v", rep)
		}
	})
	t.Run("static", func(t *testing.T) {
		d := newDevice()
		_, err := d.Create(ctx, model.NewInstance(1))
		wantCode(t, err, model.MethodNotAllowed)
		wantCode(t, d.Delete(ctx, 0), model.MethodNotAllowed)
	})
	t.Run("defaults", func(t *testing.T) {
		d := NewDevice(DeviceConfig{})
		n, err := d.Read(ctx, p("/3/0"))
		if err != nil {
			t.Fatal(err)
		}
		var ids []uint16
		for _, c := range n.Children {
			ids = append(ids, c.ID)
		}
		if !slices.Equal(ids, []uint16{10, 11, 13, 16}) {
			t.Fatalf("resources %v in %v", ids, n)
		}
		if m := n.Child(10).Value.Int(); m < 0 {
			t.Fatalf("memory free %d", m)
		}
		if now := n.Child(13).Value.Time(); time.Since(now) > time.Minute {
			t.Fatalf("current time %v", now)
		}
	})
	t.Run("device 1.0 definition", func(t *testing.T) {
		d := NewDevice(DeviceConfig{Definition: Definition(DeviceID, model.V1_0), Manufacturer: "m"})
		if d.Definition().Version != model.V1_0 {
			t.Fatal("definition not used")
		}
	})
}

func TestConnectivity(t *testing.T) {
	newConn := func() *Connectivity {
		return NewConnectivity(ConnectivityConfig{
			NetworkBearer: BearerEthernet, AvailableBearers: []int64{BearerEthernet, BearerWLAN},
			SignalStrength: -60, IPAddresses: []string{"192.0.2.1"}, APN: []string{"internet"},
		})
	}
	reads := []struct {
		path string
		want model.Node
		code model.Code
	}{
		{"/4/0/0", model.NewResource(0, model.Int(41)), 0},
		{"/4/0/1", model.NewMultipleResourceOf(1, model.Int(41), model.Int(21)), 0},
		{"/4/0/2", model.NewResource(2, model.Int(-60)), 0},
		{"/4/0/4", model.NewMultipleResourceOf(4, model.String("192.0.2.1")), 0},
		{"/4/0/5", model.Node{}, model.NotFound},
		{"/4/0/7", model.NewMultipleResourceOf(7, model.String("internet")), 0},
	}
	c := newConn()
	for _, tc := range reads {
		t.Run("read "+tc.path, func(t *testing.T) {
			got, err := c.Read(ctx, p(tc.path))
			wantCode(t, err, tc.code)
			if err == nil && !got.Equal(&tc.want) {
				t.Fatalf("read = %v, want %v", got, tc.want)
			}
		})
	}
	t.Run("setters report", func(t *testing.T) {
		c := newConn()
		var r recorder
		c.Observe(r.changed)
		if err := errors.Join(c.SetBearer(BearerLTEFDD), c.SetSignalStrength(-70), c.SetIPAddresses("192.0.2.2", "2001:db8::1")); err != nil {
			t.Fatal(err)
		}
		if rep := r.take(); !slices.Equal(rep, []string{"/4/0/0", "/4/0/2", "/4/0/4"}) {
			t.Fatalf("reported %v", rep)
		}
		got, _ := c.Read(ctx, p("/4/0/4/1"))
		if got.Value.Str() != "2001:db8::1" {
			t.Fatalf("address %v", got)
		}
	})
	t.Run("read hooks", func(t *testing.T) {
		c := NewConnectivity(ConnectivityConfig{
			ReadSignalStrength: func(ctx context.Context) (int64, error) { return -99, nil },
			ReadIPAddresses:    func(ctx context.Context) ([]string, error) { return []string{"a", "b"}, nil },
		})
		n, err := c.Read(ctx, p("/4/0"))
		if err != nil {
			t.Fatal(err)
		}
		if n.Child(2).Value != model.Int(-99) || len(n.Child(4).Children) != 2 {
			t.Fatalf("read %v", n)
		}
	})
	t.Run("static", func(t *testing.T) {
		wantCode(t, newConn().Delete(ctx, 0), model.MethodNotAllowed)
	})
}

func TestLocation(t *testing.T) {
	at := time.Unix(1700000000, 0)
	l := NewLocation(Position{Latitude: 52.5, Longitude: 13.4, Altitude: new(34.0), Timestamp: at})
	var r recorder
	l.Observe(r.changed)
	n, err := l.Read(ctx, p("/6/0"))
	want := model.NewInstance(0,
		model.NewResource(0, model.Float(52.5)), model.NewResource(1, model.Float(13.4)),
		model.NewResource(2, model.Float(34)), model.NewResource(5, model.Time(at)))
	if err != nil || !n.Equal(&want) {
		t.Fatalf("read = %v, %v; want %v", n, err, want)
	}
	if err := l.SetPosition(Position{Latitude: 52.5, Longitude: 13.5, Speed: new(1.5), Velocity: []byte{1, 2}, Timestamp: at.Add(time.Second)}); err != nil {
		t.Fatal(err)
	}
	if rep := r.take(); !slices.Equal(rep, []string{"/6/0/1", "/6/0/5", "/6/0/6", "/6/0/4", "/6/0/2"}) {
		t.Fatalf("reported %v", rep)
	}
	n, _ = l.Read(ctx, p("/6/0"))
	want = model.NewInstance(0,
		model.NewResource(0, model.Float(52.5)), model.NewResource(1, model.Float(13.5)),
		model.NewResource(4, model.Opaque([]byte{1, 2})), model.NewResource(5, model.Time(at.Add(time.Second))),
		model.NewResource(6, model.Float(1.5)))
	if !n.Equal(&want) {
		t.Fatalf("read = %v, want %v", n, want)
	}
	wantCode(t, l.Write(ctx, p("/6/0/0"), model.NewResource(0, model.Float(1)), true), model.MethodNotAllowed)
}

func TestTemperature(t *testing.T) {
	newTemp := func() *Temperature {
		return NewTemperature(
			TemperatureSensor{Value: 20, Units: "Cel", MinRange: new(-40.0), MaxRange: new(85.0)},
			TemperatureSensor{Value: 5, ApplicationType: "fridge"},
		)
	}
	value := func(tp *Temperature, path string) float64 {
		n, err := tp.Read(ctx, p(path))
		if err != nil {
			t.Fatal(err)
		}
		return n.Value.Float()
	}
	t.Run("readings move min and max", func(t *testing.T) {
		tp := newTemp()
		var r recorder
		tp.Observe(r.changed)
		for _, v := range []float64{22, 18, 19} {
			if err := tp.SetValue(0, v); err != nil {
				t.Fatal(err)
			}
		}
		if got := [3]float64{value(tp, "/3303/0/5700"), value(tp, "/3303/0/5601"), value(tp, "/3303/0/5602")}; got != [3]float64{19, 18, 22} {
			t.Fatalf("value, min, max = %v", got)
		}
		rep := r.take()
		for _, want := range []string{"/3303/0/5700", "/3303/0/5601", "/3303/0/5602"} {
			if !slices.Contains(rep, want) {
				t.Fatalf("%s not reported in %v", want, rep)
			}
		}
		if err := tp.Execute(ctx, p("/3303/0/5605"), nil); err != nil {
			t.Fatal(err)
		}
		if got := [2]float64{value(tp, "/3303/0/5601"), value(tp, "/3303/0/5602")}; got != [2]float64{19, 19} {
			t.Fatalf("min, max after reset = %v", got)
		}
		if v, ok := tp.Value(0); !ok || v != 19 {
			t.Fatalf("value = %v, %v", v, ok)
		}
	})
	t.Run("readings are reported together and the observer may call back", func(t *testing.T) {
		tp := newTemp()
		var batches [][]model.Path
		tp.Observe(func(paths ...model.Path) {
			_, _ = tp.Value(0)
			_ = tp.Simulate(ctx, 0, time.Hour, nil) // takes the object's lock
			batches = append(batches, paths)
		})
		if err := tp.SetValue(0, 30); err != nil {
			t.Fatal(err)
		}
		if len(batches) != 1 || len(batches[0]) < 2 {
			t.Fatalf("reported %v", batches)
		}
		tp.Close()
	})
	t.Run("resources", func(t *testing.T) {
		tp := newTemp()
		if value(tp, "/3303/0/5603") != -40 || value(tp, "/3303/0/5604") != 85 {
			t.Fatal("range")
		}
		n, _ := tp.Read(ctx, p("/3303/1/5750"))
		if n.Value.Str() != "fridge" {
			t.Fatalf("application type %v", n)
		}
		_, err := tp.Read(ctx, p("/3303/1/5603"))
		wantCode(t, err, model.NotFound)
		wantCode(t, tp.SetValue(7, 1), model.NotFound)
	})
	t.Run("simulation reports until closed", func(t *testing.T) {
		tp := newTemp()
		reported := make(chan model.Path, 100)
		tp.Observe(func(paths ...model.Path) {
			for _, p := range paths {
				select {
				case reported <- p:
				default:
				}
			}
		})
		n := 0
		if err := tp.Simulate(ctx, 1, time.Millisecond, func(now time.Time) float64 { n++; return float64(n) }); err != nil {
			t.Fatal(err)
		}
		select {
		case <-reported:
		case <-time.After(10 * time.Second):
			t.Fatal("simulation reported nothing")
		}
		if err := tp.Close(); err != nil {
			t.Fatal(err)
		}
		after := n // the goroutine has ended: no race on n
		time.Sleep(5 * time.Millisecond)
		if n != after {
			t.Fatal("simulation ran after Close")
		}
		if err := tp.Simulate(ctx, 1, time.Millisecond, nil); !errors.Is(err, ErrClosed) {
			t.Fatalf("simulate after close = %v", err)
		}
		if err := tp.Close(); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("simulation stops with its context", func(t *testing.T) {
		tp := newTemp()
		c, cancel := context.WithCancel(ctx)
		if err := tp.Simulate(c, 0, time.Millisecond, nil); err != nil {
			t.Fatal(err)
		}
		cancel()
		tp.sims.Wait()
		if v, _ := tp.Value(0); math.Abs(v-20) > 5 {
			t.Fatalf("default simulation gave %v", v)
		}
	})
	t.Run("bad interval", func(t *testing.T) {
		wantCode(t, newTemp().Simulate(ctx, 0, 0, nil), model.BadRequest)
	})
}
