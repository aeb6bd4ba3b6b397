package objects

import "github.com/wasm2m/wasm2m/core/model"

// The built-in tables, one line per resource:
//
//	{id, name, operations, single|multiple, optional|mandatory, type, units, range}
//
// A later version is an earlier one revised: the lines given replace the
// resource with the same id or add one. Names are the specification's
// exactly; they are what a server shows and what the tests compare with
// the published definition files.

var (
	security1_0 = define(obj{0, "LWM2M Security", multiple, mandatory,
		"Keys and addresses a client needs to reach a LwM2M server or bootstrap server."},
		v1_0, v1_0,
		res{0, "LWM2M Server URI", op0, single, mandatory, tString, "", "0..255 bytes"},
		res{1, "Bootstrap-Server", op0, single, mandatory, tBool, "", ""},
		res{2, "Security Mode", op0, single, mandatory, tInt, "", "0..4"},
		res{3, "Public Key or Identity", op0, single, mandatory, tOpaque, "", ""},
		res{4, "Server Public Key", op0, single, mandatory, tOpaque, "", ""},
		res{5, "Secret Key", op0, single, mandatory, tOpaque, "", ""},
		res{6, "SMS Security Mode", op0, single, optional, tInt, "", "0..255"},
		res{7, "SMS Binding Key Parameters", op0, single, optional, tOpaque, "", "6 bytes"},
		res{8, "SMS Binding Secret Key(s)", op0, single, optional, tOpaque, "", "16, 32 or 48 bytes"},
		res{9, "LwM2M Server SMS Number", op0, single, optional, tString, "", ""},
		res{10, "Short Server ID", op0, single, optional, tInt, "", "1..65534"},
		res{11, "Client Hold Off Time", op0, single, optional, tInt, "s", ""},
		res{12, "Bootstrap-Server Account Timeout", op0, single, optional, tInt, "s", ""},
	)
	security1_1 = revise(security1_0, v1_1, v1_1,
		res{13, "Matching Type", op0, single, optional, tUint, "", "0..3"},
		res{14, "SNI", op0, single, optional, tString, "", ""},
		res{15, "Certificate Usage", op0, single, optional, tUint, "", "0..3"},
		res{16, "DTLS/TLS Ciphersuite", op0, multiple, optional, tUint, "", ""},
		res{17, "OSCORE Security Mode", op0, single, optional, tObjlnk, "", ""},
	)
	security1_2 = revise(security1_1, v1_2, v1_1,
		res{18, "Groups To Use by Client", op0, multiple, optional, tUint, "", "0..65535"},
		res{19, "Signature Algorithms Supported by Server", op0, multiple, optional, tUint, "", "0..65535"},
		res{20, "Signature Algorithms To Use by Client", op0, multiple, optional, tUint, "", "0..65535"},
		res{21, "Signature Algorithm Certs Supported by Server", op0, multiple, optional, tUint, "", "0..65535"},
		res{22, "TLS 1.3 Features To Use by Client", op0, single, optional, tUint, "", "0..65535"},
		res{23, "TLS Extensions Supported by Server", op0, single, optional, tUint, "", "0..65535"},
		res{24, "TLS Extensions To Use by Client", op0, single, optional, tUint, "", "0..65535"},
		res{25, "Secondary LwM2M Server URI", op0, multiple, optional, tString, "", "0..255 bytes"},
		res{26, "MQTT Server", op0, single, optional, tObjlnk, "", ""},
		res{27, "LwM2M COSE Security", op0, multiple, optional, tObjlnk, "", ""},
		res{28, "RDS Destination Port", op0, single, optional, tInt, "", "0..15"},
		res{29, "RDS Source Port", op0, single, optional, tInt, "", "0..15"},
		res{30, "RDS Application ID", op0, single, optional, tString, "", ""},
	)
)

var (
	server1_0 = define(obj{1, "LwM2M Server", multiple, mandatory,
		"How a client keeps its registration with one LwM2M server."},
		v1_0, v1_0,
		res{0, "Short Server ID", opR, single, mandatory, tInt, "", "1..65534"},
		res{1, "Lifetime", opRW, single, mandatory, tInt, "s", ""},
		res{2, "Default Minimum Period", opRW, single, optional, tInt, "s", ""},
		res{3, "Default Maximum Period", opRW, single, optional, tInt, "s", ""},
		res{4, "Disable", opE, single, optional, tNone, "", ""},
		res{5, "Disable Timeout", opRW, single, optional, tInt, "s", ""},
		res{6, "Notification Storing When Disabled or Offline", opRW, single, mandatory, tBool, "", ""},
		res{7, "Binding", opRW, single, mandatory, tString, "", ""},
		res{8, "Registration Update Trigger", opE, single, mandatory, tNone, "", ""},
	)
	// The published 1.1 definition gives resources 13 to 20 no operation,
	// so that, like the Security object's, only a bootstrap server writes
	// them; the table follows it.
	server1_1 = revise(server1_0, v1_1, v1_1,
		res{9, "Bootstrap-Request Trigger", opE, single, optional, tNone, "", ""},
		res{10, "APN Link", opRW, single, optional, tObjlnk, "", ""},
		res{11, "TLS-DTLS Alert Code", opR, single, optional, tUint, "", "0..255"},
		res{12, "Last Bootstrapped", opR, single, optional, tTime, "", ""},
		res{13, "Registration Priority Order", op0, single, optional, tUint, "", ""},
		res{14, "Initial Registration Delay Timer", op0, single, optional, tUint, "s", ""},
		res{15, "Registration Failure Block", op0, single, optional, tBool, "", ""},
		res{16, "Bootstrap on Registration Failure", op0, single, optional, tBool, "", ""},
		res{17, "Communication Retry Count", op0, single, optional, tUint, "", ""},
		res{18, "Communication Retry Timer", op0, single, optional, tUint, "s", ""},
		res{19, "Communication Sequence Delay Timer", op0, single, optional, tUint, "s", ""},
		res{20, "Communication Sequence Retry Count", op0, single, optional, tUint, "", ""},
		res{21, "Trigger", opRW, single, optional, tBool, "", ""},
		res{22, "Preferred Transport", opRW, single, optional, tString, "", ""},
		res{23, "Mute Send", opRW, single, optional, tBool, "", ""},
	)
)

var (
	// An ACL value holds five access right bits: read, write, execute,
	// delete, create.
	accessControl1_0 = define(obj{2, "LwM2M Access Control", multiple, optional,
		"Which server may do what to one object instance."},
		v1_0, v1_0,
		res{0, "Object ID", opR, single, mandatory, tInt, "", "1..65534"},
		res{1, "Object Instance ID", opR, single, mandatory, tInt, "", "0..65535"},
		res{2, "ACL", opRW, multiple, optional, tInt, "", "0..31"},
		res{3, "Access Control Owner", opRW, single, mandatory, tInt, "", "0..65535"},
	)
	accessControl1_1 = revise(accessControl1_0, v1_1, v1_0)
)

var (
	device1_0 = define(obj{3, "Device", single, mandatory,
		"Identity, power and clock of the device, with reboot and factory reset."},
		v1_0, v1_0,
		res{0, "Manufacturer", opR, single, optional, tString, "", ""},
		res{1, "Model Number", opR, single, optional, tString, "", ""},
		res{2, "Serial Number", opR, single, optional, tString, "", ""},
		res{3, "Firmware Version", opR, single, optional, tString, "", ""},
		res{4, "Reboot", opE, single, mandatory, tNone, "", ""},
		res{5, "Factory Reset", opE, single, optional, tNone, "", ""},
		res{6, "Available Power Sources", opR, multiple, optional, tInt, "", "0..7"},
		res{7, "Power Source Voltage", opR, multiple, optional, tInt, "mV", ""},
		res{8, "Power Source Current", opR, multiple, optional, tInt, "mA", ""},
		res{9, "Battery Level", opR, single, optional, tInt, "%", "0..100"},
		res{10, "Memory Free", opR, single, optional, tInt, "KB", ""},
		res{11, "Error Code", opR, multiple, mandatory, tInt, "", "0..8"},
		res{12, "Reset Error Code", opE, single, optional, tNone, "", ""},
		res{13, "Current Time", opRW, single, optional, tTime, "", ""},
		res{14, "UTC Offset", opRW, single, optional, tString, "", ""},
		res{15, "Timezone", opRW, single, optional, tString, "", ""},
		res{16, "Supported Binding and Modes", opR, single, mandatory, tString, "", ""},
		res{17, "Device Type", opR, single, optional, tString, "", ""},
		res{18, "Hardware Version", opR, single, optional, tString, "", ""},
		res{19, "Software Version", opR, single, optional, tString, "", ""},
		res{20, "Battery Status", opR, single, optional, tInt, "", "0..6"},
		res{21, "Memory Total", opR, single, optional, tInt, "KB", ""},
		res{22, "ExtDevInfo", opR, multiple, optional, tObjlnk, "", ""},
	)
	device1_1 = revise(device1_0, v1_1, v1_1)
	device1_2 = revise(device1_1, v1_2, v1_1,
		res{9, "Battery Level", opR, single, optional, tInt, "/100", "0..100"},
		res{11, "Error Code", opR, multiple, mandatory, tInt, "", "0..32"},
	)
)

var (
	connMonitoring1_0 = define(obj{4, "Connectivity Monitoring", single, optional,
		"The network bearer in use, its signal and addresses."},
		v1_0, v1_0,
		res{0, "Network Bearer", opR, single, mandatory, tInt, "", "0..50"},
		res{1, "Available Network Bearer", opR, multiple, mandatory, tInt, "", "0..50"},
		res{2, "Radio Signal Strength", opR, single, mandatory, tInt, "dBm", ""},
		res{3, "Link Quality", opR, single, optional, tInt, "", ""},
		res{4, "IP Addresses", opR, multiple, mandatory, tString, "", ""},
		res{5, "Router IP Addresses", opR, multiple, optional, tString, "", ""},
		res{6, "Link Utilization", opR, single, optional, tInt, "%", "0..100"},
		res{7, "APN", opR, multiple, optional, tString, "", ""},
		res{8, "Cell ID", opR, single, optional, tInt, "", ""},
		res{9, "SMNC", opR, single, optional, tInt, "", "0..999"},
		res{10, "SMCC", opR, single, optional, tInt, "", "0..999"},
	)
	connMonitoring1_1 = revise(connMonitoring1_0, v1_1, v1_1,
		res{11, "SignalSNR", opR, single, optional, tInt, "dB", ""},
	)
	connMonitoring1_2 = revise(connMonitoring1_1, v1_2, v1_1,
		res{12, "LAC", opR, single, optional, tInt, "", ""},
	)
	connMonitoring1_3 = revise(connMonitoring1_2, v1_3, v1_1,
		res{6, "Link Utilization", opR, single, optional, tInt, "/100", "0..100"},
		res{13, "Coverage Enhancement Level", opR, single, optional, tInt, "", "0..4"},
	)
)

var (
	firmwareUpdate1_0 = define(obj{5, "Firmware Update", single, optional,
		"Delivery and installation of a firmware package."},
		v1_0, v1_0,
		res{0, "Package", opW, single, mandatory, tOpaque, "", ""},
		res{1, "Package URI", opRW, single, mandatory, tString, "", "0..255 bytes"},
		res{2, "Update", opE, single, mandatory, tNone, "", ""},
		res{3, "State", opR, single, mandatory, tInt, "", "0..3"},
		res{5, "Update Result", opR, single, mandatory, tInt, "", "0..9"},
		res{6, "PkgName", opR, single, optional, tString, "", "0..255 bytes"},
		res{7, "PkgVersion", opR, single, optional, tString, "", "0..255 bytes"},
		res{8, "Firmware Update Protocol Support", opR, multiple, optional, tInt, "", "0..5"},
		res{9, "Firmware Update Delivery Method", opR, single, mandatory, tInt, "", "0..2"},
	)
	firmwareUpdate1_1 = revise(firmwareUpdate1_0, v1_1, v1_1,
		res{5, "Update Result", opR, single, mandatory, tInt, "", "0..11"},
		res{10, "Cancel", opE, single, optional, tNone, "", ""},
		res{11, "Severity", opRW, single, optional, tInt, "", "0..2"},
		res{12, "Last State Change Time", opR, single, optional, tTime, "", ""},
		res{13, "Maximum Defer Period", opRW, single, optional, tUint, "s", ""},
	)
)

var location1_0 = define(obj{6, "Location", single, optional,
	"Where the device is and how fast it moves."},
	v1_0, v1_0,
	res{0, "Latitude", opR, single, mandatory, tFloat, "lat", ""},
	res{1, "Longitude", opR, single, mandatory, tFloat, "lon", ""},
	res{2, "Altitude", opR, single, optional, tFloat, "m", ""},
	res{3, "Radius", opR, single, optional, tFloat, "m", ""},
	res{4, "Velocity", opR, single, optional, tOpaque, "", ""},
	res{5, "Timestamp", opR, single, mandatory, tTime, "", ""},
	res{6, "Speed", opR, single, optional, tFloat, "m/s", ""},
)

var connStatistics1_0 = define(obj{7, "Connectivity Statistics", single, optional,
	"Traffic counters over a collection period."},
	v1_0, v1_0,
	res{0, "SMS Tx Counter", opR, single, optional, tInt, "", ""},
	res{1, "SMS Rx Counter", opR, single, optional, tInt, "", ""},
	res{2, "Tx Data", opR, single, optional, tInt, "", ""},
	res{3, "Rx Data", opR, single, optional, tInt, "", ""},
	res{4, "Max Message Size", opR, single, optional, tInt, "B", ""},
	res{5, "Average Message Size", opR, single, optional, tInt, "B", ""},
	res{6, "Start", opE, single, mandatory, tNone, "", ""},
	res{7, "Stop", opE, single, mandatory, tNone, "", ""},
	res{8, "Collection Period", opRW, single, optional, tInt, "s", ""},
)

var (
	temperature1_0 = define(obj{3303, "Temperature", multiple, optional,
		"A temperature sensor and the extremes it has seen."},
		v1_0, v1_0,
		res{5601, "Min Measured Value", opR, single, optional, tFloat, "", ""},
		res{5602, "Max Measured Value", opR, single, optional, tFloat, "", ""},
		res{5603, "Min Range Value", opR, single, optional, tFloat, "", ""},
		res{5604, "Max Range Value", opR, single, optional, tFloat, "", ""},
		res{5605, "Reset Min and Max Measured Values", opE, single, optional, tNone, "", ""},
		res{5700, "Sensor Value", opR, single, mandatory, tFloat, "", ""},
		res{5701, "Sensor Units", opR, single, optional, tString, "", ""},
	)
	temperature1_1 = revise(temperature1_0, v1_1, v1_0,
		res{5518, "Timestamp", opR, single, optional, tTime, "", ""},
		res{5750, "Application Type", opRW, single, optional, tString, "", ""},
		res{6042, "Measurement Quality Indicator", opR, single, optional, tInt, "", "0..23"},
		res{6049, "Measurement Quality Level", opR, single, optional, tInt, "", "0..100"},
		res{6050, "Fractional Timestamp", opR, single, optional, tFloat, "s", "0..1"},
	)
)

var lightControl1_0 = define(obj{3311, "Light Control", multiple, optional,
	"A light source that can be switched and dimmed."},
	v1_0, v1_0,
	res{5701, "Sensor Units", opR, single, optional, tString, "", ""},
	res{5706, "Colour", opRW, single, optional, tString, "", ""},
	res{5750, "Application Type", opRW, single, optional, tString, "", ""},
	res{5805, "Cumulative active power", opR, single, optional, tFloat, "Wh", ""},
	res{5820, "Power factor", opR, single, optional, tFloat, "", ""},
	res{5850, "On/Off", opRW, single, mandatory, tBool, "", ""},
	res{5851, "Dimmer", opRW, single, optional, tInt, "/100", "0..100"},
	res{5852, "On time", opRW, single, optional, tInt, "s", ""},
)

// core lists the built-in definitions by id then version. Never modify it
// or what it points to; Core hands out copies of the slice only.
var core = []*model.ObjectDef{
	security1_0, security1_1, security1_2,
	server1_0, server1_1,
	accessControl1_0, accessControl1_1,
	device1_0, device1_1, device1_2,
	connMonitoring1_0, connMonitoring1_1, connMonitoring1_2, connMonitoring1_3,
	firmwareUpdate1_0, firmwareUpdate1_1,
	location1_0,
	connStatistics1_0,
	temperature1_0, temperature1_1,
	lightControl1_0,
}
