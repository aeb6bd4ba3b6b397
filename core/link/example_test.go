package link_test

import (
	"errors"
	"fmt"
	"strings"

	"github.com/wasm2m/wasm2m/core/link"
	"github.com/wasm2m/wasm2m/core/model"
)

// A server reads the payload of a Register request.
func ExampleParseRegistration() {
	payload := `</>;rt="oma.lwm2m";ct="110 112 11543",</1/0>,</3/0>,</3303>;ver=1.1,</3303/0>,</3303/1>`
	reg, err := link.ParseRegistration([]byte(payload))
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("root:", reg.Root, "formats:", reg.ContentFormats)
	for _, o := range reg.Objects {
		fmt.Println("object", o.ID, "version", o.Version, "instances", o.Instances)
	}
	// Output:
	// root: / formats: [110 112 11543]
	// object 1 version 0.0 instances [0]
	// object 3 version 0.0 instances [0]
	// object 3303 version 1.1 instances [0 1]
}

// A client builds the payload it registers with, under an alternate path.
func ExampleAppendRegistration() {
	reg := link.Registration{
		Root: "/lwm2m",
		Objects: []link.Object{
			{ID: 1, Instances: []uint16{0}},
			{ID: 3, Instances: []uint16{0}},
			{ID: 5},
			{ID: 3303, Version: model.V1_1, Instances: []uint16{0, 1}},
		},
	}
	fmt.Println(string(link.AppendRegistration(nil, reg)))
	// Output:
	// </lwm2m>;rt="oma.lwm2m",</lwm2m/1/0>,</lwm2m/3/0>,</lwm2m/5>,</lwm2m/3303>;ver=1.1,</lwm2m/3303/0>,</lwm2m/3303/1>
}

// A client applies two Write-Attributes requests to the attributes of
// resource /3/0/7 and resolves those in force with the object's and the
// instance's.
func ExampleParseQuery() {
	var resource link.Attributes
	for _, query := range []string{"pmin=10&pmax=60&gt=50", "pmax&lt=20&st=5"} {
		wa, err := link.ParseQuery(strings.Split(query, "&"))
		if err != nil {
			fmt.Println(err)
			return
		}
		if err := wa.CheckLevel(model.LevelResource); err != nil {
			fmt.Println(err)
			return
		}
		resource = resource.Merge(wa)
	}
	object := link.Attributes{PMax: link.Set[uint32](300)}
	instance := link.Attributes{PMin: link.Set[uint32](1)}
	fmt.Println("resource: ", resource)
	fmt.Println("effective:", link.Effective(object, instance, resource))

	_, err := link.ParseQuery([]string{"lt=10", "gt=14", "st=2"})
	fmt.Println(errors.Is(err, model.ErrBadRequest), err)
	// Output:
	// resource:  pmin=10;gt=50;lt=20;st=5
	// effective: pmin=10;pmax=300;gt=50;lt=20;st=5
	// true 4.00 Bad Request: link: bad attribute: lt 10 + 2*st 2 is not less than gt 14
}

// A server reads a Discover response; Dim is that of a multiple resource.
func ExampleParseDiscover() {
	payload := `</3/0/7>;dim=2;pmin=10;pmax=60;gt=50;lt=42.2, </3/0/7/0>, </3/0/7/1>;lt=45`
	entries, err := link.ParseDiscover([]byte(payload))
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, e := range entries {
		dim, _ := e.Dim.Get()
		fmt.Printf("%s dim=%d [%s]\n", e.Path, dim, e.Attributes)
	}
	fmt.Println(string(link.AppendDiscover(nil, entries)))
	// Output:
	// /3/0/7 dim=2 [dim=2;pmin=10;pmax=60;gt=50;lt=42.2]
	// /3/0/7/0 dim=0 []
	// /3/0/7/1 dim=0 [lt=45]
	// </3/0/7>;dim=2;pmin=10;pmax=60;gt=50;lt=42.2,</3/0/7/0>,</3/0/7/1>;lt=45
}

// Parse and Append handle any CoRE link format, quoting where needed.
func ExampleParse() {
	links, err := link.Parse([]byte(`</sensors/temp>;rt="temperature-c";if=sensor;title="Temp, \"indoor\"",</x>;obs`))
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, l := range links {
		for _, p := range l.Params {
			fmt.Printf("%s %s=%q quoted=%v\n", l.Target, p.Key, p.Value, p.Quoted)
		}
	}
	links[1].Params = append(links[1].Params, link.Param{Key: "title", Value: "a b", HasValue: true})
	fmt.Println(string(link.Append(nil, links)))
	// Output:
	// /sensors/temp rt="temperature-c" quoted=true
	// /sensors/temp if="sensor" quoted=false
	// /sensors/temp title="Temp, \"indoor\"" quoted=true
	// /x obs="" quoted=false
	// </sensors/temp>;rt="temperature-c";if=sensor;title="Temp, \"indoor\"",</x>;obs;title="a b"
}
