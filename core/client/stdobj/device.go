package stdobj

import (
	"context"
	"runtime/metrics"
	"sync"
	"sync/atomic"
	"time"

	"github.com/wasm2m/wasm2m/core/model"
)

// PowerSource is one available power source of a device (resources 6, 7
// and 8 of the Device object).
type PowerSource struct {
	Type    PowerType
	Voltage int64 // mV; 0 is not written
	Current int64 // mA; 0 is not written
}

// PowerType is the kind of a power source (Device resource 6).
type PowerType int64

// The power sources of the Device object (Core 1.1 Appendix E.4).
const (
	PowerDC              PowerType = 0
	PowerInternalBattery PowerType = 1
	PowerExternalBattery PowerType = 2
	PowerFuelCell        PowerType = 3
	PowerOverEthernet    PowerType = 4
	PowerUSB             PowerType = 5
	PowerAC              PowerType = 6
	PowerSolar           PowerType = 7
)

// Device resources this file refers to by name.
const (
	deviceRebootResource  uint16 = 4
	deviceFactoryResource uint16 = 5
	deviceBatteryLevel    uint16 = 9
	deviceMemoryFree      uint16 = 10
	deviceErrorCode       uint16 = 11
	deviceResetErrorCode  uint16 = 12
	deviceCurrentTime     uint16 = 13
	deviceSupportedModes  uint16 = 16

	errorCodeNone int64 = 0
)

// DeviceConfig is what the Device object reports about the device. Empty
// strings and nil slices are not written (the resources are absent).
type DeviceConfig struct {
	Manufacturer    string // 0
	ModelNumber     string // 1
	SerialNumber    string // 2
	FirmwareVersion string // 3
	DeviceType      string // 17
	HardwareVersion string // 18
	SoftwareVersion string // 19

	PowerSources []PowerSource // 6, 7, 8
	// BatteryLevel is the battery charge in percent (9), nil for none.
	BatteryLevel *int64
	// SupportedBindings is Supported Binding and Modes (16); "" means
	// "U".
	SupportedBindings string
	UTCOffset         string // 14, such as "+01:00"
	Timezone          string // 15, such as "Europe/Berlin"

	// Now is the device clock behind Current Time (13); time.Now when
	// nil. A server that writes Current Time moves the device's time by
	// an offset from this clock.
	Now func() time.Time
	// MemoryFree returns the free memory in KB (10). When nil, the Go
	// runtime's idle heap (free and released pages) stands in for it:
	// the runtime does not know the device's free memory.
	MemoryFree func() int64

	// Definition replaces the built-in Device 1.1; resources it lacks are
	// not written.
	Definition *model.ObjectDef
}

// Device is the Device object (3): one static instance, 0. Reboot and
// Factory Reset call the functions set with OnReboot and OnFactoryReset;
// Reset Error Code sets Error Code back to the single value 0 (no error).
type Device struct {
	*Object

	now    func() time.Time
	offset atomic.Int64 // nanoseconds a server moved Current Time by

	mu      sync.Mutex
	reboot  func(ctx context.Context) error
	factory func(ctx context.Context) error
}

// NewDevice returns the Device object for cfg. Create and Delete from a
// server are refused (4.05).
func NewDevice(cfg DeviceConfig) *Device {
	def := pick(cfg.Definition, DeviceID, model.V1_1)
	d := &Device{now: cfg.Now}
	if d.now == nil {
		d.now = time.Now
	}
	binding := cfg.SupportedBindings
	if binding == "" {
		binding = "U"
	}
	var rs []model.Node
	str := func(id uint16, s string) {
		if s != "" {
			rs = append(rs, model.NewResource(id, model.String(s)))
		}
	}
	str(0, cfg.Manufacturer)
	str(1, cfg.ModelNumber)
	str(2, cfg.SerialNumber)
	str(3, cfg.FirmwareVersion)
	str(14, cfg.UTCOffset)
	str(15, cfg.Timezone)
	str(17, cfg.DeviceType)
	str(18, cfg.HardwareVersion)
	str(19, cfg.SoftwareVersion)
	rs = append(rs,
		model.NewResource(deviceSupportedModes, model.String(binding)),
		model.NewMultipleResourceOf(deviceErrorCode, model.Int(errorCodeNone)))
	if len(cfg.PowerSources) > 0 {
		types := model.Node{Kind: model.KindMultipleResource, ID: 6}
		volts := model.Node{Kind: model.KindMultipleResource, ID: 7}
		amps := model.Node{Kind: model.KindMultipleResource, ID: 8}
		for i, p := range cfg.PowerSources {
			types.Children = append(types.Children, model.NewResourceInstance(uint16(i), model.Int(int64(p.Type))))
			if p.Voltage != 0 {
				volts.Children = append(volts.Children, model.NewResourceInstance(uint16(i), model.Int(p.Voltage)))
			}
			if p.Current != 0 {
				amps.Children = append(amps.Children, model.NewResourceInstance(uint16(i), model.Int(p.Current)))
			}
		}
		rs = append(rs, types)
		if len(volts.Children) > 0 {
			rs = append(rs, volts)
		}
		if len(amps.Children) > 0 {
			rs = append(rs, amps)
		}
	}
	if cfg.BatteryLevel != nil {
		rs = append(rs, model.NewResource(deviceBatteryLevel, model.Int(*cfg.BatteryLevel)))
	}
	d.Object = New(def, model.NewInstance(0, keep(def, rs...)...)).Static()

	memFree := cfg.MemoryFree
	if memFree == nil {
		memFree = runtimeMemoryFree
	}
	if has(def, deviceMemoryFree) {
		d.OnRead(deviceMemoryFree, func(ctx context.Context, inst uint16) (model.Value, error) {
			return model.Int(memFree()), nil
		})
	}
	if has(def, deviceCurrentTime) {
		d.OnRead(deviceCurrentTime, func(ctx context.Context, inst uint16) (model.Value, error) {
			return model.Time(d.Now()), nil
		})
		d.OnWrite(deviceCurrentTime, func(ctx context.Context, inst uint16, v model.Node) error {
			d.offset.Store(int64(v.Value.Time().Sub(d.now())))
			return nil
		})
	}
	d.OnExecute(deviceRebootResource, func(ctx context.Context, inst uint16, args []byte) error {
		d.mu.Lock()
		fn := d.reboot
		d.mu.Unlock()
		if fn == nil {
			return nil
		}
		return fn(ctx)
	})
	if has(def, deviceResetErrorCode) {
		d.OnExecute(deviceResetErrorCode, func(ctx context.Context, inst uint16, args []byte) error {
			return d.SetErrorCodes()
		})
	}
	return d
}

// Now returns the device's current time: its clock moved by what servers
// wrote to Current Time.
func (d *Device) Now() time.Time {
	return d.now().Add(time.Duration(d.offset.Load()))
}

// OnReboot sets the function Reboot (3/0/4) calls. The server expects the
// 2.04 before the device goes down: fn should schedule the reboot and
// return.
func (d *Device) OnReboot(fn func(ctx context.Context) error) {
	d.mu.Lock()
	d.reboot = fn
	d.mu.Unlock()
}

// OnFactoryReset sets the function Factory Reset (3/0/5) calls and makes
// the resource exist. Like fn of OnReboot, it should schedule the reset
// and return.
func (d *Device) OnFactoryReset(fn func(ctx context.Context) error) {
	d.mu.Lock()
	d.factory = fn
	d.mu.Unlock()
	d.OnExecute(deviceFactoryResource, func(ctx context.Context, inst uint16, args []byte) error {
		d.mu.Lock()
		fn := d.factory
		d.mu.Unlock()
		if fn == nil {
			return model.Errorf(model.NotFound, "factory reset: not supported")
		}
		return fn(ctx)
	})
}

// SetBatteryLevel sets Battery Level (3/0/9) in percent and reports it.
func (d *Device) SetBatteryLevel(percent int64) error {
	return d.Set(model.ResourcePath(DeviceID, 0, deviceBatteryLevel), model.Int(percent))
}

// SetErrorCodes sets Error Code (3/0/11) to codes (Core 1.1 Appendix E.4:
// 1 low battery, 2 external power off, 3 GPS failure, 4 low signal, 5 out
// of memory, 6 SMS failure, 7 IP connectivity failure, 8 peripheral
// malfunction), or to 0 (no error) when codes is empty, and reports it.
func (d *Device) SetErrorCodes(codes ...int64) error {
	if len(codes) == 0 {
		codes = []int64{errorCodeNone}
	}
	vals := make([]model.Value, len(codes))
	for i, c := range codes {
		vals[i] = model.Int(c)
	}
	return d.SetNode(model.ResourcePath(DeviceID, 0, deviceErrorCode), model.NewMultipleResourceOf(deviceErrorCode, vals...))
}

// runtimeMemoryFree returns the Go runtime's idle heap in KB.
func runtimeMemoryFree() int64 {
	s := []metrics.Sample{
		{Name: "/memory/classes/heap/free:bytes"},
		{Name: "/memory/classes/heap/released:bytes"},
	}
	metrics.Read(s)
	var total uint64
	for _, x := range s {
		if x.Value.Kind() == metrics.KindUint64 {
			total += x.Value.Uint64()
		}
	}
	return int64(total / 1024)
}
