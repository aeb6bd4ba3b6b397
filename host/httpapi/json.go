package httpapi

import (
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/wasm2m/wasm2m/core/link"
	"github.com/wasm2m/wasm2m/core/model"
	"github.com/wasm2m/wasm2m/core/store"
)

// The JSON shapes of Leshan's demo server API: nodes, registrations,
// responses. Integers, unsigned integers and floats travel as strings (a
// JavaScript number loses precision above 2^53), opaque as hex, time as
// milliseconds since the epoch, object links as {objectId,
// objectInstanceId}.

// typeNames are Leshan's names of the resource types.
var typeNames = map[model.Type]string{
	model.TypeNone:     "NONE",
	model.TypeString:   "STRING",
	model.TypeInteger:  "INTEGER",
	model.TypeUnsigned: "UNSIGNED_INTEGER",
	model.TypeFloat:    "FLOAT",
	model.TypeBoolean:  "BOOLEAN",
	model.TypeOpaque:   "OPAQUE",
	model.TypeTime:     "TIME",
	model.TypeObjlnk:   "OBJLNK",
	model.TypeCorelnk:  "CORELINK",
}

func parseTypeName(s string) (model.Type, bool) {
	s = strings.ToUpper(strings.TrimSpace(s))
	for t, n := range typeNames {
		if n == s {
			return t, true
		}
	}
	return 0, false
}

// jsonObjectLink is an object link value.
type jsonObjectLink struct {
	ObjectID         int `json:"objectId"`
	ObjectInstanceID int `json:"objectInstanceId"`
}

// jsonNode is a node in Leshan's shape. Only the fields of its kind are
// set.
type jsonNode struct {
	Kind      string         `json:"kind"`
	ID        *int           `json:"id,omitempty"`
	Instances []jsonNode     `json:"instances,omitempty"`
	Resources []jsonNode     `json:"resources,omitempty"`
	Type      string         `json:"type,omitempty"`
	Value     any            `json:"value,omitempty"`
	Values    map[string]any `json:"values,omitempty"`
}

// encodeValue returns v as Leshan writes it.
func encodeValue(v model.Value) any {
	switch v.Type() {
	case model.TypeString, model.TypeCorelnk:
		return v.Str()
	case model.TypeInteger:
		return strconv.FormatInt(v.Int(), 10)
	case model.TypeUnsigned:
		return strconv.FormatUint(v.Uint(), 10)
	case model.TypeFloat:
		return model.FormatText(v)
	case model.TypeBoolean:
		return v.Bool()
	case model.TypeOpaque:
		return hex.EncodeToString(v.Bytes())
	case model.TypeTime:
		return v.Int() * 1000
	case model.TypeObjlnk:
		l := v.Objlnk()
		return jsonObjectLink{int(l.Object), int(l.Instance)}
	}
	return nil
}

// encodeNode returns n in Leshan's shape.
func encodeNode(n *model.Node) jsonNode {
	id := int(n.ID)
	j := jsonNode{ID: &id}
	switch n.Kind {
	case model.KindObject:
		j.Kind = "obj"
		j.Instances = make([]jsonNode, len(n.Children))
		for i := range n.Children {
			j.Instances[i] = encodeNode(&n.Children[i])
		}
	case model.KindInstance:
		j.Kind = "instance"
		j.Resources = make([]jsonNode, len(n.Children))
		for i := range n.Children {
			j.Resources[i] = encodeNode(&n.Children[i])
		}
	case model.KindResource:
		j.Kind = "singleResource"
		j.Type = typeNames[n.Value.Type()]
		j.Value = encodeValue(n.Value)
	case model.KindMultipleResource:
		j.Kind = "multiResource"
		j.Values = make(map[string]any, len(n.Children))
		j.Type = typeNames[model.TypeNone]
		for i := range n.Children {
			c := &n.Children[i]
			j.Values[strconv.Itoa(int(c.ID))] = encodeValue(c.Value)
			j.Type = typeNames[c.Value.Type()]
		}
	case model.KindResourceInstance:
		j.Kind = "resourceInstance"
		j.Type = typeNames[n.Value.Type()]
		j.Value = encodeValue(n.Value)
	}
	return j
}

// encodeEntries returns composite content: an object keyed by path.
func encodeEntries(entries []model.Entry) map[string]jsonNode {
	m := make(map[string]jsonNode, len(entries))
	for i := range entries {
		m[entries[i].Path.String()] = encodeNode(&entries[i].Node)
	}
	return m
}

func nodeError(format string, args ...any) error {
	return fmt.Errorf("%w: %s", errBadNode, fmt.Sprintf(format, args...))
}

// wireNode is a node as a caller sends it: values may be any JSON.
type wireNode struct {
	Kind      string                     `json:"kind"`
	ID        *int                       `json:"id"`
	Instances []json.RawMessage          `json:"instances"`
	Resources []json.RawMessage          `json:"resources"`
	Type      string                     `json:"type"`
	Value     json.RawMessage            `json:"value"`
	Values    map[string]json.RawMessage `json:"values"`
}

// decodeNode reads a node in Leshan's shape. An instance without an id
// gets model.NoID (a Create that lets the device choose).
func decodeNode(b []byte) (model.Node, error) {
	var w wireNode
	if err := json.Unmarshal(b, &w); err != nil {
		return model.Node{}, nodeError("%v", err)
	}
	id := func() (uint16, error) {
		if w.ID == nil {
			return 0, nodeError("missing id")
		}
		if *w.ID < 0 || *w.ID > model.MaxID {
			return 0, nodeError("id %d out of range", *w.ID)
		}
		return uint16(*w.ID), nil
	}
	switch {
	case w.Kind == "obj" || (w.Kind == "" && w.Instances != nil):
		oid, err := id()
		if err != nil {
			return model.Node{}, err
		}
		var insts []model.Node
		for _, raw := range w.Instances {
			c, err := decodeNode(raw)
			if err != nil {
				return model.Node{}, err
			}
			if c.Kind != model.KindInstance || c.ID == model.NoID {
				return model.Node{}, nodeError("an object holds instances with ids")
			}
			insts = append(insts, c)
		}
		return model.NewObject(oid, insts...), nil
	case w.Kind == "instance" || (w.Kind == "" && w.Resources != nil):
		iid := uint16(model.NoID)
		if w.ID != nil {
			v, err := id()
			if err != nil {
				return model.Node{}, err
			}
			iid = v
		}
		var res []model.Node
		for _, raw := range w.Resources {
			c, err := decodeNode(raw)
			if err != nil {
				return model.Node{}, err
			}
			if c.Kind != model.KindResource && c.Kind != model.KindMultipleResource {
				return model.Node{}, nodeError("an instance holds resources")
			}
			res = append(res, c)
		}
		n := model.NewInstance(iid, res...)
		return n, nil
	case w.Kind == "multiResource" || (w.Kind == "" && w.Values != nil):
		rid, err := id()
		if err != nil {
			return model.Node{}, err
		}
		t, ok := parseTypeName(w.Type)
		if !ok || t == model.TypeNone {
			return model.Node{}, nodeError("resource %d: unknown type %q", rid, w.Type)
		}
		keys := make([]string, 0, len(w.Values))
		for k := range w.Values {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		var insts []model.Node
		for _, k := range keys {
			ri, err := model.ParseID(k)
			if err != nil {
				return model.Node{}, nodeError("resource %d: instance id %q", rid, k)
			}
			v, err := decodeValue(w.Values[k], t)
			if err != nil {
				return model.Node{}, nodeError("resource %d/%d: %v", rid, ri, err)
			}
			insts = append(insts, model.NewResourceInstance(ri, v))
		}
		return model.NewMultipleResource(rid, insts...), nil
	case w.Value != nil:
		rid, err := id()
		if err != nil {
			return model.Node{}, err
		}
		t, ok := parseTypeName(w.Type)
		if !ok || t == model.TypeNone {
			return model.Node{}, nodeError("resource %d: unknown type %q", rid, w.Type)
		}
		v, err := decodeValue(w.Value, t)
		if err != nil {
			return model.Node{}, nodeError("resource %d: %v", rid, err)
		}
		if w.Kind == "resourceInstance" {
			return model.NewResourceInstance(rid, v), nil
		}
		return model.NewResource(rid, v), nil
	}
	return model.Node{}, nodeError("not a node: want kind obj, instance, singleResource, multiResource or resourceInstance")
}

// decodeValue reads a value of type t in Leshan's encoding; numbers are
// tolerated where Leshan wants strings.
func decodeValue(raw json.RawMessage, t model.Type) (model.Value, error) {
	var s string
	isString := json.Unmarshal(raw, &s) == nil
	switch t {
	case model.TypeString:
		if !isString {
			return model.Value{}, fmt.Errorf("want a JSON string")
		}
		return model.String(s), nil
	case model.TypeCorelnk:
		if !isString {
			return model.Value{}, fmt.Errorf("want a JSON string")
		}
		return model.Corelnk(s), nil
	case model.TypeBoolean:
		var b bool
		if err := json.Unmarshal(raw, &b); err != nil {
			return model.Value{}, fmt.Errorf("want a JSON boolean")
		}
		return model.Bool(b), nil
	case model.TypeInteger, model.TypeUnsigned, model.TypeFloat:
		if !isString {
			var n json.Number
			if err := json.Unmarshal(raw, &n); err != nil {
				return model.Value{}, fmt.Errorf("want a number as a JSON string")
			}
			s = n.String()
		}
		v, err := model.ParseText(s, t)
		if err != nil {
			return model.Value{}, err
		}
		if t == model.TypeFloat && (math.IsNaN(v.Float()) || math.IsInf(v.Float(), 0)) {
			return model.Value{}, fmt.Errorf("%q is not a finite float", s)
		}
		return v, nil
	case model.TypeOpaque:
		if !isString {
			return model.Value{}, fmt.Errorf("want hex in a JSON string")
		}
		b, err := hex.DecodeString(s)
		if err != nil {
			return model.Value{}, fmt.Errorf("opaque: %v", err)
		}
		return model.Opaque(b), nil
	case model.TypeTime:
		var ms int64
		if err := json.Unmarshal(raw, &ms); err != nil {
			return model.Value{}, fmt.Errorf("want milliseconds since the epoch as a JSON integer")
		}
		return model.UnixTime(ms / 1000), nil
	case model.TypeObjlnk:
		var l jsonObjectLink
		if err := json.Unmarshal(raw, &l); err != nil || l.ObjectID < 0 || l.ObjectID > 65535 || l.ObjectInstanceID < 0 || l.ObjectInstanceID > 65535 {
			return model.Value{}, fmt.Errorf("want {objectId, objectInstanceId}")
		}
		return model.Objlnk(uint16(l.ObjectID), uint16(l.ObjectInstanceID)), nil
	}
	return model.Value{}, fmt.Errorf("type %s cannot be written", t)
}

// jsonLink is a CoRE link in Leshan's shape.
type jsonLink struct {
	URL        string            `json:"url"`
	Attributes map[string]string `json:"attributes"`
}

// registrationLinks returns the object links of r as the device sent them:
// the root link with its resource type and content formats, each object
// with its version, each instance.
func registrationLinks(r *store.Registration) []jsonLink {
	var out []jsonLink
	root := jsonLink{URL: r.RootPath, Attributes: map[string]string{}}
	if root.URL == "" {
		root.URL = "/"
	}
	if len(r.ContentFormats) > 0 {
		root.Attributes["rt"] = `"oma.lwm2m"`
		var cts []string
		for _, c := range r.ContentFormats {
			cts = append(cts, strconv.Itoa(int(c)))
		}
		if len(cts) == 1 {
			root.Attributes["ct"] = cts[0]
		} else {
			root.Attributes["ct"] = `"` + strings.Join(cts, " ") + `"`
		}
		out = append(out, root)
	}
	prefix := strings.TrimSuffix(r.RootPath, "/")
	for _, o := range r.Objects {
		obj := prefix + "/" + strconv.Itoa(int(o.ID))
		if !o.Version.IsZero() || len(o.Instances) == 0 {
			l := jsonLink{URL: obj, Attributes: map[string]string{}}
			if !o.Version.IsZero() {
				l.Attributes["ver"] = o.Version.String()
			}
			out = append(out, l)
		}
		for _, i := range o.Instances {
			out = append(out, jsonLink{URL: obj + "/" + strconv.Itoa(int(i)), Attributes: map[string]string{}})
		}
	}
	return out
}

// discoverLinks returns the entries of a Discover response as links.
func discoverLinks(entries []link.Entry) []jsonLink {
	out := make([]jsonLink, 0, len(entries))
	for i := range entries {
		e := &entries[i]
		l := jsonLink{URL: e.Path.String(), Attributes: map[string]string{}}
		for _, p := range e.Attributes.AppendLinkParams(nil) {
			l.Attributes[p.Key] = paramValue(p)
		}
		for _, p := range e.Other {
			l.Attributes[p.Key] = paramValue(p)
		}
		out = append(out, l)
	}
	return out
}

func paramValue(p link.Param) string {
	if !p.HasValue {
		return ""
	}
	if p.Quoted {
		return strconv.Quote(p.Value)
	}
	return p.Value
}

// jsonRegistration is a registration in Leshan's shape.
type jsonRegistration struct {
	Endpoint           string            `json:"endpoint"`
	RegistrationID     string            `json:"registrationId"`
	RegistrationDate   int64             `json:"registrationDate"`
	LastUpdate         int64             `json:"lastUpdate"`
	Address            string            `json:"address"`
	SMSNumber          string            `json:"smsNumber,omitempty"`
	LwM2MVersion       string            `json:"lwM2mVersion"`
	Lifetime           uint32            `json:"lifetime"`
	BindingMode        string            `json:"bindingMode"`
	RootPath           string            `json:"rootPath"`
	ObjectLinks        []jsonLink        `json:"objectLinks"`
	Secure             bool              `json:"secure"`
	AdditionalAttrs    map[string]string `json:"additionalRegistrationAttributes"`
	QueueMode          bool              `json:"queuemode"`
	AvailableInstances map[string][]int  `json:"availableInstances"`
	Sleeping           *bool             `json:"sleeping,omitempty"`
	// ExpiresAt is an addition: when the registration lapses without an
	// Update, in milliseconds since the epoch.
	ExpiresAt int64 `json:"expiresAt"`
}

func millis(t time.Time) int64 { return t.UnixMilli() }

// encodeRegistration returns r in Leshan's shape; sleeping is reported
// for queue-mode devices only.
func encodeRegistration(r *store.Registration, sleeping bool) jsonRegistration {
	j := jsonRegistration{
		Endpoint:           r.Endpoint,
		RegistrationID:     r.ID,
		RegistrationDate:   millis(r.RegisteredAt),
		LastUpdate:         millis(r.UpdatedAt),
		Address:            r.Address.String(),
		SMSNumber:          r.SMS,
		LwM2MVersion:       r.Version.String(),
		Lifetime:           r.Lifetime,
		BindingMode:        r.Binding,
		RootPath:           r.RootPath,
		ObjectLinks:        registrationLinks(r),
		Secure:             r.Secure,
		AdditionalAttrs:    map[string]string{},
		QueueMode:          r.Queue,
		AvailableInstances: map[string][]int{},
		ExpiresAt:          millis(r.ExpiresAt()),
	}
	if j.RootPath == "" {
		j.RootPath = "/"
	}
	for _, o := range r.Objects {
		if len(o.Instances) == 0 {
			continue
		}
		ids := make([]int, len(o.Instances))
		for i, x := range o.Instances {
			ids[i] = int(x)
		}
		j.AvailableInstances[strconv.Itoa(int(o.ID))] = ids
	}
	if r.Queue {
		j.Sleeping = &sleeping
	}
	return j
}

// codeNames are Leshan's names of the response codes.
var codeNames = map[model.Code]string{
	model.Created:                  "CREATED",
	model.Deleted:                  "DELETED",
	model.Valid:                    "VALID",
	model.Changed:                  "CHANGED",
	model.Content:                  "CONTENT",
	model.Continue:                 "CONTINUE",
	model.BadRequest:               "BAD_REQUEST",
	model.Unauthorized:             "UNAUTHORIZED",
	model.BadOption:                "BAD_OPTION",
	model.Forbidden:                "FORBIDDEN",
	model.NotFound:                 "NOT_FOUND",
	model.MethodNotAllowed:         "METHOD_NOT_ALLOWED",
	model.NotAcceptable:            "NOT_ACCEPTABLE",
	model.RequestEntityIncomplete:  "REQUEST_ENTITY_INCOMPLETE",
	model.Conflict:                 "CONFLICT",
	model.PreconditionFailed:       "PRECONDITION_FAILED",
	model.RequestEntityTooLarge:    "REQUEST_ENTITY_TOO_LARGE",
	model.UnsupportedContentFormat: "UNSUPPORTED_CONTENT_FORMAT",
	model.InternalServerError:      "INTERNAL_SERVER_ERROR",
	model.NotImplemented:           "NOT_IMPLEMENTED",
	model.BadGateway:               "BAD_GATEWAY",
	model.ServiceUnavailable:       "SERVICE_UNAVAILABLE",
	model.GatewayTimeout:           "GATEWAY_TIMEOUT",
}

func codeName(c model.Code) string {
	if n, ok := codeNames[c]; ok {
		return n
	}
	return c.String()
}

// jsonResponse is the answer of a device in Leshan's shape.
type jsonResponse struct {
	Status       string     `json:"status"`
	Valid        bool       `json:"valid"`
	Success      bool       `json:"success"`
	Failure      bool       `json:"failure"`
	Content      any        `json:"content,omitempty"`
	ObjectLinks  []jsonLink `json:"objectLinks,omitempty"`
	Location     string     `json:"location,omitempty"`
	ErrorMessage string     `json:"errormessage,omitempty"`
}

func success(c model.Code) *jsonResponse {
	return &jsonResponse{Status: codeName(c), Valid: true, Success: true}
}

func failure(c model.Code, msg string) *jsonResponse {
	return &jsonResponse{Status: codeName(c), Valid: true, Failure: true, ErrorMessage: msg}
}

// jsonDelayed is the answer to a request held for a sleeping device, and,
// with Response set, the data of its REQUEST_RESPONSE event.
type jsonDelayed struct {
	Endpoint  string        `json:"ep"`
	Path      string        `json:"path,omitempty"`
	RequestID string        `json:"requestId"`
	Response  *jsonResponse `json:"response,omitempty"`
	Delayed   bool          `json:"delayed"`
	// Error is an addition: why the request got no response at all (it
	// timed out, the device de-registered).
	Error *jsonError `json:"error,omitempty"`
}

// jsonError is the body of every HTTP error of the API.
type jsonError struct {
	Status  int    `json:"status"`
	Error   string `json:"error"`
	Message string `json:"message"`
}

// jsonObjectSpec is an object definition in Leshan's shape.
type jsonObjectSpec struct {
	ID           uint16            `json:"id"`
	Name         string            `json:"name"`
	InstanceType string            `json:"instancetype"`
	Mandatory    bool              `json:"mandatory"`
	URN          string            `json:"urn"`
	Version      string            `json:"version"`
	LwM2MVersion string            `json:"lwm2mversion"`
	Description  string            `json:"description"`
	Description2 string            `json:"description2"`
	Resources    []jsonResourceDef `json:"resourcedefs"`
}

type jsonResourceDef struct {
	ID           uint16 `json:"id"`
	Name         string `json:"name"`
	Operations   string `json:"operations"`
	InstanceType string `json:"instancetype"`
	Mandatory    bool   `json:"mandatory"`
	Type         string `json:"type"`
	Range        string `json:"range"`
	Units        string `json:"units"`
	Description  string `json:"description"`
}

func instanceType(multiple bool) string {
	if multiple {
		return "multiple"
	}
	return "single"
}

func encodeObjectDef(d *model.ObjectDef) jsonObjectSpec {
	j := jsonObjectSpec{
		ID: d.ID, Name: d.Name, InstanceType: instanceType(d.Multiple), Mandatory: d.Mandatory,
		URN: d.URN, Version: d.Version.String(), LwM2MVersion: d.LWM2MVersion.String(),
		Description: d.Description, Resources: make([]jsonResourceDef, len(d.Resources)),
	}
	if d.LWM2MVersion.IsZero() {
		j.LwM2MVersion = ""
	}
	for i := range d.Resources {
		r := &d.Resources[i]
		ops := r.Operations.String()
		if ops == "" {
			ops = "NONE"
		}
		j.Resources[i] = jsonResourceDef{
			ID: r.ID, Name: r.Name, Operations: ops, InstanceType: instanceType(r.Multiple),
			Mandatory: r.Mandatory, Type: strings.ToLower(typeNames[r.Type]), Range: r.RangeText,
			Units: r.Units, Description: r.Description,
		}
	}
	return j
}
