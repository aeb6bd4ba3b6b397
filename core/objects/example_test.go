package objects_test

import (
	"errors"
	"fmt"
	"strings"

	"github.com/wasm2m/wasm2m/core/model"
	"github.com/wasm2m/wasm2m/core/objects"
)

func ExampleParseDDF() {
	const doc = `<?xml version="1.0" encoding="UTF-8"?>
<LWM2M>
  <Object ObjectType="MODefinition">
    <Name>Doorbell</Name>
    <ObjectID>32800</ObjectID>
    <ObjectVersion>1.1</ObjectVersion>
    <MultipleInstances>Multiple</MultipleInstances>
    <Mandatory>Optional</Mandatory>
    <Resources>
      <Item ID="1">
        <Name>Ring</Name>
        <Operations>E</Operations>
        <MultipleInstances>Single</MultipleInstances>
        <Mandatory>Mandatory</Mandatory>
        <Type></Type>
      </Item>
      <Item ID="0">
        <Name>Volume</Name>
        <Operations>RW</Operations>
        <MultipleInstances>Single</MultipleInstances>
        <Mandatory>Optional</Mandatory>
        <Type>Integer</Type>
        <RangeEnumeration>0..10</RangeEnumeration>
      </Item>
    </Resources>
  </Object>
</LWM2M>`
	defs, err := objects.ParseDDF(strings.NewReader(doc), "doorbell.xml")
	if err != nil {
		fmt.Println(err)
		return
	}
	d := defs[0]
	fmt.Println(d.ID, d.Name, d.Version)
	for _, r := range d.Resources {
		fmt.Printf("%d %s %s %s range=%v\n", r.ID, r.Name, r.Operations, r.Type, r.HasRange)
	}
	// Output:
	// 32800 Doorbell 1.1
	// 0 Volume RW Integer range=true
	// 1 Ring E none range=false
}

func ExampleParseDDF_error() {
	const doc = `<LWM2M>
  <Object ObjectType="MODefinition">
    <Name>Doorbell</Name>
    <ObjectID>32800</ObjectID>
    <MultipleInstances>Several</MultipleInstances>
    <Mandatory>Optional</Mandatory>
  </Object>
</LWM2M>`
	_, err := objects.ParseDDF(strings.NewReader(doc), "doorbell.xml")
	fmt.Println(err)
	var pe *objects.ParseError
	if errors.As(err, &pe) {
		fmt.Println("line", pe.Line)
	}
	// Output:
	// doorbell.xml:5:5: object 32800: <MultipleInstances> is "Several", want Multiple or Single
	// line 5
}

func ExampleNewRegistry() {
	reg, err := objects.NewRegistry()
	if err != nil {
		fmt.Println(err)
		return
	}
	// A device that registered </3>;ver=1.1 uses Device 1.1.
	device := reg.View(map[uint16]model.Version{3: model.V1_1}).Object(3)
	r := device.Resource(11)
	fmt.Println(device.Name, device.Version)
	fmt.Println(r.Name, r.Type, "multiple:", r.Multiple)
	fmt.Println("newest:", reg.Object(3).Version)
	// Output:
	// Device 1.1
	// Error Code Integer multiple: true
	// newest: 1.2
}
