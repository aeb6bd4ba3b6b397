package lwm2mcbor_test

import (
	"fmt"

	"github.com/wasm2m/wasm2m/core/codec/lwm2mcbor"
	"github.com/wasm2m/wasm2m/core/model"
)

func ExampleEncode() {
	n := model.NewInstance(0,
		model.NewResource(0, model.String("Open Mobile Alliance")),
		model.NewMultipleResourceOf(7, model.Int(5000)),
	)
	b, err := lwm2mcbor.Encode(nil, model.InstancePath(3, 0), &n)
	if err != nil {
		fmt.Println(err)
		return
	}
	// {[3, 0]: {0: "Open Mobile Alliance", [7, 0]: 5000}}
	fmt.Printf("%x\n", b)
	// Output:
	// a1820300a200744f70656e204d6f62696c6520416c6c69616e6365820700191388
}

func ExampleDecode() {
	defs, _ := model.NewRegistry(&model.ObjectDef{ID: 3, Resources: []model.ResourceDef{
		{ID: 0, Type: model.TypeString},
		{ID: 7, Type: model.TypeInteger, Multiple: true},
	}})
	// {3: {0: {0: "Open Mobile Alliance", 7: {0: 5000, 1: 3800}}}}
	data := []byte("\xa1\x03\xa1\x00\xa2\x00\x74Open Mobile Alliance\x07\xa2\x00\x19\x13\x88\x01\x19\x0e\xd8")
	n, err := lwm2mcbor.Decode(data, model.InstancePath(3, 0), defs)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(n)
	// Output:
	// instance 0 {resource 0 = "Open Mobile Alliance", resource 7 [0 = 5000, 1 = 3800]}
}

func ExampleAppendRecords() {
	// A Read-Composite response for /3/0/0 and /1/0/1.
	recs := []model.Record{
		{Path: model.MustPath("/3/0/0"), Value: model.String("Open Mobile Alliance")},
		{Path: model.MustPath("/1/0/1"), Value: model.Int(300)},
	}
	b, err := lwm2mcbor.AppendRecords(nil, recs)
	if err != nil {
		fmt.Println(err)
		return
	}
	back, _ := lwm2mcbor.ParseRecords(b)
	for _, r := range back {
		fmt.Println(r.Path, r.Value)
	}
	// Output:
	// /1/0/1 300
	// /3/0/0 "Open Mobile Alliance"
}
