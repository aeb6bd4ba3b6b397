// Command light is the objects.light plugin: IPSO object 3311 (Light
// Control) as a Wasm object plugin, an actuator whose lights the server
// switches, dims, colours, creates and deletes. Build it with
//
//	wasm2m plugin build ./plugins/objects/light
//
// or by hand with
//
//	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o light.wasm ./plugins/objects/light
//
// A Wasm module built with -buildmode=c-shared is a reactor: init registers
// the plugin and main never runs. README.md says what the object does.
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
const ID = "objects.light"

func main() {}

func init() { guest.Register(newPlugin()) }

// newPlugin returns the plugin with a fresh object: init registers one,
// each test makes its own.
func newPlugin() guest.Plugin {
	return guest.Plugin{
		Manifest: guest.Manifest{
			ID:          ID,
			Name:        "Light control",
			Version:     "1.0.0",
			Description: "IPSO 3311 Light Control: lights to switch, dim and colour, with their on time and energy, created and deleted by the server.",
			// kv: each light's state, shared by every instance of the
			// plugin in the host's pool and kept across restarts; clock:
			// the on time and the energy grow with it. No "changed": a
			// write changes only what it writes, which the client
			// reports itself.
			Capabilities: []string{abi.CapKV, abi.CapClock},
			ConfigSchema: configSchema,
		},
		Objects: []guest.Object{&light{}},
	}
}

// Config is the plugin's configuration (JSON, described by configSchema).
// Every field is optional.
type Config struct {
	// Lights is the number of lights the plugin creates on its first
	// start, /3311/0 to /3311/<Lights-1>, off.
	Lights int `json:"lights"`
	// MaxLights bounds the lights the server may create.
	MaxLights int `json:"max_lights"`
	// Watts is a light's power at full dimmer: the energy (5805) grows by
	// Watts × Dimmer/100 while it is on.
	Watts float64 `json:"watts"`
	// PowerFactor is the Power factor resource (5820).
	PowerFactor float64 `json:"power_factor"`
	// Colour is the Colour (5706) of the lights created on the first
	// start and of lights created without one.
	Colour string `json:"colour"`
}

// configSchema is the JSON Schema of Config, for the manifest.
const configSchema = `{
  "$schema": "https://json-schema.org/draft/2020-12/schema",
  "title": "objects.light configuration",
  "type": "object",
  "additionalProperties": false,
  "properties": {
    "lights": {"type": "integer", "minimum": 0, "maximum": 64, "default": 1, "description": "lights created on the plugin's first start, /3311/0 to /3311/<lights-1>"},
    "max_lights": {"type": "integer", "minimum": 1, "maximum": 64, "default": 16, "description": "the most lights the server may create"},
    "watts": {"type": "number", "minimum": 0, "default": 9, "description": "a light's power at full dimmer"},
    "power_factor": {"type": "number", "minimum": 0, "maximum": 1, "default": 0.95, "description": "Power factor (5820)"},
    "colour": {"type": "string", "maxLength": 64, "default": "white", "description": "Colour (5706) of new lights"}
  }
}`

// DefaultConfig is the configuration of a plugin started without one.
func DefaultConfig() Config {
	return Config{Lights: 1, MaxLights: 16, Watts: 9, PowerFactor: 0.95, Colour: "white"}
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
	switch {
	case c.MaxLights < 1 || c.MaxLights > 64:
		return Config{}, fmt.Errorf("%s config: max_lights %d, want 1 to 64", ID, c.MaxLights)
	case c.Lights < 0 || c.Lights > c.MaxLights:
		return Config{}, fmt.Errorf("%s config: lights %d, want 0 to max_lights (%d)", ID, c.Lights, c.MaxLights)
	case math.IsNaN(c.Watts) || math.IsInf(c.Watts, 0) || c.Watts < 0:
		return Config{}, fmt.Errorf("%s config: watts %v, want a number >= 0", ID, c.Watts)
	case !(c.PowerFactor >= 0 && c.PowerFactor <= 1):
		return Config{}, fmt.Errorf("%s config: power_factor %v, want 0 to 1", ID, c.PowerFactor)
	case len(c.Colour) > 64:
		return Config{}, fmt.Errorf("%s config: colour longer than 64 bytes", ID)
	}
	return c, nil
}
