package omajson_test

import (
	"fmt"

	"github.com/wasm2m/wasm2m/core/codec/omajson"
	"github.com/wasm2m/wasm2m/core/model"
)

func ExampleEncode() {
	n := model.NewInstance(0,
		model.NewResource(0, model.String("Open Mobile Alliance")),
		model.NewMultipleResourceOf(6, model.Int(1), model.Int(5)),
		model.NewResource(13, model.UnixTime(1367491215)),
		model.NewResource(20, model.Float(3)),
	)
	b, err := omajson.Encode(nil, model.InstancePath(3, 0), &n)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(string(b))
	// Output:
	// {"bn":"/3/0/","e":[{"n":"0","sv":"Open Mobile Alliance"},{"n":"6/0","v":1},{"n":"6/1","v":5},{"n":"13","v":1367491215},{"n":"20","v":3.0}]}
}

func ExampleDecode() {
	defs, _ := model.NewRegistry(&model.ObjectDef{ID: 3, Resources: []model.ResourceDef{
		{ID: 0, Type: model.TypeString},
		{ID: 13, Type: model.TypeTime},
	}})
	data := []byte(`{"bn":"/3/0/","e":[{"n":"0","sv":"Open Mobile Alliance"},{"n":"13","v":1367491215}]}`)
	n, err := omajson.Decode(data, model.InstancePath(3, 0), defs)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(n)
	// Output:
	// instance 0 {resource 0 = "Open Mobile Alliance", resource 13 = 1367491215 (2013-05-02T10:40:15Z)}
}

func ExampleParseRecordsAt() {
	// A notification with historical values (LwM2M 1.0 section 6.4.4):
	// names are relative to the observed path, times to bt.
	data := []byte(`{"e":[{"n":"1/2","v":22.4,"t":-5},{"n":"1/2","v":22.9,"t":-30}],"bt":1367491215}`)
	recs, err := omajson.ParseRecordsAt(data, model.ObjectPath(3303), nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, r := range recs {
		fmt.Println(r.Path, r.Value, r.Time.Format("15:04:05"))
	}
	// Output:
	// /3303/1/2 22.4 10:40:10
	// /3303/1/2 22.9 10:39:45
}

func ExampleAppendRecords() {
	recs := []model.Record{
		{Path: model.MustPath("/3/0/0"), Value: model.String("Open Mobile Alliance")},
		{Path: model.MustPath("/4/0/2"), Value: model.Int(-62)},
	}
	b, err := omajson.AppendRecords(nil, model.RootPath(), recs)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(string(b))
	// Output:
	// {"bn":"/","e":[{"n":"3/0/0","sv":"Open Mobile Alliance"},{"n":"4/0/2","v":-62}]}
}
