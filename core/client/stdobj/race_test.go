package stdobj

import (
	"context"
	"sync"
	"testing"

	"github.com/wasm2m/wasm2m/core/client"
	"github.com/wasm2m/wasm2m/core/model"
)

// TestConcurrent runs reads, writes, executes, creates, deletes and the
// owner's changes from many goroutines at once; run it with -race. The
// object must end consistent: every instance valid for its definition.
func TestConcurrent(t *testing.T) {
	o := newTest()
	var reports sync.Map
	o.Observe(func(paths ...model.Path) {
		for _, p := range paths {
			reports.Store(p, true)
		}
	})
	var executed sync.Mutex
	runs := 0
	o.OnExecute(4, func(ctx context.Context, inst uint16, args []byte) error {
		executed.Lock()
		runs++
		executed.Unlock()
		return nil
	})
	o.OnRead(2, func(ctx context.Context, inst uint16) (model.Value, error) {
		v, _ := o.Get(model.ResourcePath(testDef.ID, inst, 0))
		return model.Float(float64(v.Int())), nil
	})
	o.OnWrite(5, func(ctx context.Context, inst uint16, v model.Node) error {
		_, _ = o.Node(model.InstancePath(testDef.ID, inst)) // hooks may read the object
		return nil
	})

	const workers, rounds = 8, 200
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := range rounds {
				id := uint16(1 + (w*rounds+i)%5)
				ip := model.InstancePath(testDef.ID, id)
				switch i % 8 {
				case 0:
					_, _ = o.Create(ctx, model.NewInstance(id, model.NewResource(1, model.String("c"))))
				case 1:
					_ = o.Delete(ctx, id)
				case 2:
					_ = o.Write(ctx, ip.MustChild(5).MustChild(uint16(w)), model.NewResourceInstance(uint16(w), model.Int(int64(i))), false)
				case 3:
					_ = o.Write(ctx, ip, model.NewInstance(id, model.NewResource(1, model.String("r")), model.NewMultipleResourceOf(5, model.Int(1))), i%16 == 3)
				case 4:
					_ = o.Set(ip.MustChild(0), model.Int(int64(i)))
					_ = o.Set(model.ResourceInstancePath(testDef.ID, 0, 8, uint16(w)), model.String("s"))
				case 5:
					_, _ = o.Read(ctx, ip)
					_, _ = o.Read(boot, model.InstancePath(testDef.ID, 0))
					_, _ = o.Instances(ctx)
				case 6:
					_ = o.Execute(ctx, ip.MustChild(4), nil)
				case 7:
					_ = o.Remove(model.ResourceInstancePath(testDef.ID, 0, 8, uint16(w)))
					_, _ = o.Get(ip.MustChild(1))
				}
			}
		})
	}
	wg.Wait()
	for _, n := range o.snapshot() {
		if err := n.Validate(); err != nil {
			t.Fatal(err)
		}
		for _, c := range n.Children {
			rd := testDef.Resource(c.ID)
			if rd == nil {
				t.Fatalf("instance %d holds undefined resource %d", n.ID, c.ID)
			}
			if err := checkValues(rd, &c); err != nil && c.ID != 2 {
				t.Fatalf("instance %d: %v", n.ID, err)
			}
		}
	}
	if _, ok := reports.Load(model.ResourcePath(testDef.ID, 0, 8)); ok {
		t.Fatal("a resource-instance Set reported its resource path")
	}
}

// TestConcurrentBuiltins drives the built-in objects with state from many
// goroutines: firmware pushes, updates and resets, temperature readings
// and resets, access control checks while entries change.
func TestConcurrentBuiltins(t *testing.T) {
	f := NewFirmware(FirmwareConfig{
		Apply:      func(ctx context.Context, image []byte) error { return nil },
		Downloader: func(ctx context.Context, uri string) ([]byte, error) { return []byte(uri), nil },
	})
	defer f.Close()
	tp := NewTemperature(TemperatureSensor{Value: 20}, TemperatureSensor{Value: 5})
	defer tp.Close()
	a := NewAccessControl(aclEntries...)
	d := NewDevice(DeviceConfig{})

	var wg sync.WaitGroup
	for w := range 6 {
		wg.Go(func() {
			for i := range 100 {
				switch (w + i) % 6 {
				case 0:
					_ = f.Write(ctx, p("/5/0/0"), model.NewResource(0, model.OpaqueString("img")), true)
					_ = f.Execute(ctx, p("/5/0/2"), nil)
				case 1:
					_ = f.Write(ctx, p("/5/0/1"), model.NewResource(1, model.String("coap://a/b")), true)
					_, _ = f.Read(ctx, p("/5/0"))
				case 2:
					_ = f.Write(ctx, p("/5/0/1"), model.NewResource(1, model.String("")), true)
					_ = f.Execute(ctx, p("/5/0/10"), nil)
				case 3:
					_ = tp.SetValue(uint16(i%2), float64(i))
					_ = tp.Execute(ctx, p("/3303/0/5605"), nil)
					_, _ = tp.Read(ctx, p("/3303/0"))
				case 4:
					_ = client.Allowed(a.Entries(), 102, client.RightRead, p("/3303/0"), 2)
					if id, err := a.Add(client.ACL{ObjectID: 9, ObjectInstanceID: uint16(w), Owner: 101}); err == nil {
						_ = a.RemoveInstance(id)
					}
				case 5:
					_ = d.SetErrorCodes(int64(i % 8))
					_ = d.Execute(ctx, p("/3/0/12"), nil)
					_, _ = d.Read(ctx, p("/3/0"))
				}
			}
		})
	}
	wg.Wait()
	if s, _ := f.State(); s < FirmwareIdle || s > FirmwareUpdating {
		t.Fatalf("firmware state %v", s)
	}
	lo, _ := tp.Get(p("/3303/0/5601"))
	hi, _ := tp.Get(p("/3303/0/5602"))
	v, _ := tp.Value(0)
	if lo.Float() > v || hi.Float() < v {
		t.Fatalf("min %v max %v value %v", lo, hi, v)
	}
}
