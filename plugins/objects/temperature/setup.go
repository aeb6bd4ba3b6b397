// Command temperature is the objects.temperature plugin: IPSO object 3303
// (Temperature) as a Wasm object plugin, a simulated sensor whose value
// follows the clock. Build it with
//
//	wasm2m plugin build ./plugins/objects/temperature
//
// or by hand with
//
//	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o temperature.wasm ./plugins/objects/temperature
//
// A Wasm module built with -buildmode=c-shared is a reactor: init registers
// the plugin and main never runs. README.md says what the object does and
// how its value moves.
//
// The plugin imports core/model, sdk/abi and sdk/guest only.
package main

import (
	"encoding/json"
	"fmt"
	"math"
	"strings"

	"github.com/wasm2m/wasm2m/sdk/abi"
	"github.com/wasm2m/wasm2m/sdk/guest"
)

// ID is the plugin's id.
const ID = "objects.temperature"

func main() {}

func init() { guest.Register(newPlugin()) }

// newPlugin returns the plugin with a fresh object: init registers one,
// each test makes its own.
func newPlugin() guest.Plugin {
	return guest.Plugin{
		Manifest: guest.Manifest{
			ID:          ID,
			Name:        "Temperature sensor",
			Version:     "1.0.0",
			Description: "IPSO 3303 Temperature: simulated sensors whose value follows the clock along a slow sine wave, with the extremes seen since the last reset.",
			// clock: the value follows the host's clock (without it WASI
			// shows a fixed clock and the value never moves); changed:
			// observations fire when a call sees the value move; kv: the
			// start and reset times and the application types, shared
			// by every instance of the plugin in the host's pool.
			Capabilities: []string{abi.CapClock, abi.CapChanged, abi.CapKV},
			ConfigSchema: configSchema,
		},
		Objects: []guest.Object{&sensor{}},
	}
}

// Config is the plugin's configuration (JSON, described by configSchema).
// Every field is optional.
type Config struct {
	// Sensors is the number of instances, /3303/0 to /3303/<Sensors-1>.
	Sensors int `json:"sensors"`
	// Units is the Sensor Units resource (5701), such as "Cel" (SenML).
	Units string `json:"units"`
	// Base is the middle of the sine wave.
	Base float64 `json:"base"`
	// Amplitude is how far the value swings either side of Base; the
	// Min and Max Range Values (5603, 5604) are Base ∓ Amplitude.
	Amplitude float64 `json:"amplitude"`
	// PeriodSeconds is the period of the wave. Each instance runs an
	// eighth of a period behind the one before it.
	PeriodSeconds float64 `json:"period_seconds"`
	// Resolution is the step the value moves by: readings are rounded
	// to a multiple of it, and a move is a change of the rounded value.
	Resolution float64 `json:"resolution"`
}

// configSchema is the JSON Schema of Config, for the manifest.
const configSchema = `{
  "$schema": "https://json-schema.org/draft/2020-12/schema",
  "title": "objects.temperature configuration",
  "type": "object",
  "additionalProperties": false,
  "properties": {
    "sensors": {"type": "integer", "minimum": 1, "maximum": 16, "default": 1, "description": "instances /3303/0 to /3303/<sensors-1>"},
    "units": {"type": "string", "maxLength": 32, "default": "Cel", "description": "Sensor Units (5701)"},
    "base": {"type": "number", "default": 21, "description": "the middle of the sine wave the value follows"},
    "amplitude": {"type": "number", "minimum": 0, "default": 2, "description": "how far the value swings either side of base"},
    "period_seconds": {"type": "number", "exclusiveMinimum": 0, "default": 3600, "description": "the period of the wave; each instance runs an eighth of a period behind the one before"},
    "resolution": {"type": "number", "exclusiveMinimum": 0, "default": 0.1, "description": "readings are rounded to a multiple of this"}
  }
}`

// DefaultConfig is the configuration of a plugin started without one.
func DefaultConfig() Config {
	return Config{Sensors: 1, Units: "Cel", Base: 21, Amplitude: 2, PeriodSeconds: 3600, Resolution: 0.1}
}

// parseConfig decodes config over the defaults and checks it as the
// schema does.
func parseConfig(config []byte) (Config, error) {
	c := DefaultConfig()
	if len(strings.TrimSpace(string(config))) > 0 {
		dec := json.NewDecoder(strings.NewReader(string(config)))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&c); err != nil {
			return Config{}, fmt.Errorf("%s config: %w", ID, err)
		}
	}
	finite := func(f float64) bool { return !math.IsInf(f, 0) && !math.IsNaN(f) }
	switch {
	case c.Sensors < 1 || c.Sensors > 16:
		return Config{}, fmt.Errorf("%s config: sensors %d, want 1 to 16", ID, c.Sensors)
	case len(c.Units) > 32:
		return Config{}, fmt.Errorf("%s config: units longer than 32 bytes", ID)
	case !finite(c.Base) || !finite(c.Amplitude) || c.Amplitude < 0:
		return Config{}, fmt.Errorf("%s config: base %v and amplitude %v, want finite numbers and amplitude >= 0", ID, c.Base, c.Amplitude)
	case !finite(c.PeriodSeconds) || c.PeriodSeconds <= 0:
		return Config{}, fmt.Errorf("%s config: period_seconds %v, want > 0", ID, c.PeriodSeconds)
	case !finite(c.Resolution) || c.Resolution <= 0:
		return Config{}, fmt.Errorf("%s config: resolution %v, want > 0", ID, c.Resolution)
	}
	return c, nil
}
