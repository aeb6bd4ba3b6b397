// Command autoobserve is the logic.autoobserve plugin: a server-side Wasm
// logic plugin that observes configured paths of every device that
// registers them, and writes a configured resource back to the device when
// a notified value crosses a threshold. Build it with
//
//	wasm2m plugin build ./plugins/logic/autoobserve
//
// or by hand with
//
//	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o autoobserve.wasm ./plugins/logic/autoobserve
//
// A Wasm module built with -buildmode=c-shared is a reactor: init registers
// the plugin and main never runs. README.md has the configuration.
//
// The plugin imports core/model, sdk/abi and sdk/guest only.
package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"strings"

	"github.com/wasm2m/wasm2m/core/model"
	"github.com/wasm2m/wasm2m/sdk/abi"
	"github.com/wasm2m/wasm2m/sdk/guest"
)

// ID is the plugin's id.
const ID = "logic.autoobserve"

func main() {}

func init() { guest.Register(newPlugin()) }

// newPlugin returns the plugin with fresh logic: init registers one, each
// test makes its own.
func newPlugin() guest.Plugin {
	return guest.Plugin{
		Manifest: guest.Manifest{
			ID:          ID,
			Name:        "Observe and react",
			Version:     "1.0.0",
			Description: "Observes configured paths of each device that registers, and writes a configured resource back when a notified value crosses a threshold.",
			// lwm2m.request: observe and write; kv: which rules are
			// tripped for which device, shared by every instance of the
			// plugin in the host's pool.
			Capabilities: []string{abi.CapRequest, abi.CapKV},
			ConfigSchema: configSchema,
		},
		Logic: &logic{},
	}
}

// Limits of the configuration.
const (
	maxPaths = 64
	maxRules = 64
)

// Config is the plugin's configuration (JSON, described by configSchema).
type Config struct {
	// Observe lists the paths to observe on each device that registers
	// them (the object, and the instance if the path names one, is in the
	// registration).
	Observe []string `json:"observe"`
	// Attributes are the notification attributes set on each path
	// observed, as a query: "pmin=10&pmax=60". Empty: none.
	Attributes string `json:"attributes"`
	// Rules are checked against every value a device notifies or sends.
	Rules []Rule `json:"rules"`
	// TimeoutMS bounds each request to a device, in milliseconds; 0
	// leaves the host's default.
	TimeoutMS uint32 `json:"timeout_ms"`
}

// Rule trips when the value at Path goes above Above (or below Below:
// exactly one of them is given) and writes Write to the device; it clears
// when the value comes back by Hysteresis past the threshold, and then
// writes Clear, if given.
type Rule struct {
	Path       string   `json:"path"`
	Above      *float64 `json:"above,omitempty"`
	Below      *float64 `json:"below,omitempty"`
	Hysteresis float64  `json:"hysteresis,omitempty"`
	Write      *Action  `json:"write"`
	Clear      *Action  `json:"clear,omitempty"`

	path model.Path
}

// Action is a value written to a resource (or resource instance) of the
// device. Value is a JSON boolean, number or string; Type, if given, is
// the LwM2M data type to send it as ("integer", "float", "boolean",
// "string", "unsigned", "time", "opaque" as base64, "objlnk" as "3:0"),
// which the device's definition of the resource expects. Without Type, a
// boolean is a Boolean, a string a String, an integral number an Integer
// and another number a Float.
type Action struct {
	Path  string          `json:"path"`
	Value json.RawMessage `json:"value"`
	Type  string          `json:"type,omitempty"`

	path  model.Path
	value model.Value
}

// configSchema is the JSON Schema of Config, for the manifest.
const configSchema = `{
  "$schema": "https://json-schema.org/draft/2020-12/schema",
  "title": "logic.autoobserve configuration",
  "type": "object",
  "additionalProperties": false,
  "properties": {
    "observe": {"type": "array", "maxItems": 64, "items": {"$ref": "#/$defs/path"}, "description": "paths to observe on each device that registers them"},
    "attributes": {"type": "string", "maxLength": 256, "description": "notification attributes of each observation, such as pmin=10&pmax=60"},
    "timeout_ms": {"type": "integer", "minimum": 0, "description": "bound of each request to a device; 0: the host's default"},
    "rules": {
      "type": "array", "maxItems": 64,
      "items": {
        "type": "object",
        "additionalProperties": false,
        "required": ["path", "write"],
        "oneOf": [{"required": ["above"]}, {"required": ["below"]}],
        "properties": {
          "path": {"$ref": "#/$defs/resource", "description": "the resource whose notified value the rule checks"},
          "above": {"type": "number", "description": "trips when the value goes above this"},
          "below": {"type": "number", "description": "trips when the value goes below this"},
          "hysteresis": {"type": "number", "minimum": 0, "default": 0, "description": "how far back past the threshold the value must come to clear the rule"},
          "write": {"$ref": "#/$defs/action", "description": "written when the rule trips"},
          "clear": {"$ref": "#/$defs/action", "description": "written when the rule clears"}
        }
      }
    }
  },
  "$defs": {
    "path": {"type": "string", "pattern": "^(/[0-9]{1,5}){1,4}$"},
    "resource": {"type": "string", "pattern": "^(/[0-9]{1,5}){3,4}$"},
    "action": {
      "type": "object",
      "additionalProperties": false,
      "required": ["path", "value"],
      "properties": {
        "path": {"$ref": "#/$defs/resource"},
        "value": {"type": ["boolean", "number", "string"]},
        "type": {"enum": ["string", "integer", "unsigned", "float", "boolean", "opaque", "time", "objlnk", "corelnk"]}
      }
    }
  }
}`

// parseConfig decodes and checks config.
func parseConfig(config []byte) (*Config, error) {
	c := &Config{}
	if len(bytes.TrimSpace(config)) > 0 {
		dec := json.NewDecoder(bytes.NewReader(config))
		dec.DisallowUnknownFields()
		if err := dec.Decode(c); err != nil {
			return nil, fmt.Errorf("%s config: %w", ID, err)
		}
	}
	if err := c.check(); err != nil {
		return nil, fmt.Errorf("%s config: %w", ID, err)
	}
	return c, nil
}

func (c *Config) check() error {
	if len(c.Observe) > maxPaths {
		return fmt.Errorf("%d paths to observe, at most %d", len(c.Observe), maxPaths)
	}
	if len(c.Rules) > maxRules {
		return fmt.Errorf("%d rules, at most %d", len(c.Rules), maxRules)
	}
	if len(c.Attributes) > 256 {
		return fmt.Errorf("attributes longer than 256 bytes")
	}
	for _, s := range c.Observe {
		p, err := model.ParsePath(s)
		if err != nil {
			return fmt.Errorf("observe %q: %w", s, err)
		}
		if p.IsRoot() {
			return fmt.Errorf("observe %q: the root cannot be observed", s)
		}
	}
	for i := range c.Rules {
		if err := c.Rules[i].check(); err != nil {
			return fmt.Errorf("rule %d: %w", i, err)
		}
	}
	return nil
}

func (r *Rule) check() error {
	p, err := resourcePath(r.Path)
	if err != nil {
		return err
	}
	r.path = p
	switch {
	case (r.Above == nil) == (r.Below == nil):
		return fmt.Errorf("path %s: give exactly one of above and below", r.Path)
	case r.Above != nil && !finite(*r.Above), r.Below != nil && !finite(*r.Below):
		return fmt.Errorf("path %s: threshold not a finite number", r.Path)
	case !finite(r.Hysteresis) || r.Hysteresis < 0:
		return fmt.Errorf("path %s: hysteresis %v, want >= 0", r.Path, r.Hysteresis)
	case r.Write == nil:
		return fmt.Errorf("path %s: no write", r.Path)
	}
	if err := r.Write.check(); err != nil {
		return fmt.Errorf("write: %w", err)
	}
	if r.Clear != nil {
		if err := r.Clear.check(); err != nil {
			return fmt.Errorf("clear: %w", err)
		}
	}
	return nil
}

func finite(f float64) bool { return !math.IsNaN(f) && !math.IsInf(f, 0) }

// resourcePath parses a resource or resource instance path.
func resourcePath(s string) (model.Path, error) {
	p, err := model.ParsePath(s)
	if err != nil {
		return p, fmt.Errorf("path %q: %w", s, err)
	}
	if !p.IsResource() && !p.IsResourceInstance() {
		return p, fmt.Errorf("path %q: not a resource or resource instance", s)
	}
	return p, nil
}

func (a *Action) check() error {
	p, err := resourcePath(a.Path)
	if err != nil {
		return err
	}
	a.path = p
	v, err := actionValue(a.Value, a.Type)
	if err != nil {
		return fmt.Errorf("path %s: %w", a.Path, err)
	}
	a.value = v
	return nil
}

// actionValue makes the value of an action from its JSON and type.
func actionValue(raw json.RawMessage, typ string) (model.Value, error) {
	var x any
	if err := json.Unmarshal(raw, &x); err != nil {
		return model.Value{}, fmt.Errorf("value: %w", err)
	}
	var text string
	infer := model.TypeNone
	switch v := x.(type) {
	case bool:
		text, infer = "0", model.TypeBoolean // text/plain's booleans
		if v {
			text = "1"
		}
	case string:
		text, infer = v, model.TypeString
	case float64:
		text = strings.TrimSpace(string(raw))
		infer = model.TypeFloat
		if v == math.Trunc(v) && !strings.ContainsAny(text, ".eE") {
			infer = model.TypeInteger
		}
	default:
		return model.Value{}, fmt.Errorf("value %s: want a boolean, number or string", raw)
	}
	t := infer
	if typ != "" {
		var err error
		if t, err = model.ParseType(typ); err != nil || t == model.TypeNone {
			return model.Value{}, fmt.Errorf("type %q: not an LwM2M data type", typ)
		}
	}
	v, err := model.ParseText(text, t)
	if err != nil {
		return model.Value{}, fmt.Errorf("value %s as %s: %w", raw, typ, err)
	}
	return v, nil
}
