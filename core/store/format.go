package store

import (
	"encoding/binary"
	"hash/crc32"
	"math"
	"math/bits"
	"net/netip"
	"time"

	"github.com/wasm2m/wasm2m/core/link"
	"github.com/wasm2m/wasm2m/core/model"
)

// The file format, version 1. All integers are little-endian; "uvarint"
// and "varint" are encoding/binary's variable-length integers; a "string"
// is a uvarint length and that many bytes.
//
// The file starts with a 16-byte header:
//
//	magic    [8]byte  "W2MSTORE"
//	version  uint16   1
//	flags    uint16   0
//	crc      uint32   CRC-32C (Castagnoli) of the 12 bytes before it
//
// A reader checks the magic, then the version, and refuses a version it
// does not know before looking at anything else, so that a later version
// may change everything after the version field.
//
// Records follow, back to back, to the end of the file:
//
//	length   uint32   length of the payload
//	crc      uint32   CRC-32C of the length bytes, the kind byte and the payload
//	kind     byte     low 7 bits: the record kind; bit 7: first record of a write
//	payload  [length]byte
//
// Kinds and their payloads:
//
//	1 put registration     registration (below)
//	2 delete registration  the registration ID, raw bytes
//	3 put observation      observation (below)
//	4 delete observation   the token, raw bytes
//	5 put kv               string namespace, string key, the value to the end
//	6 delete kv            string namespace, string key
//
// Each record is one call of the Store method of the same name, and replay
// applies it with the same rules: putting a registration removes the one
// that held its endpoint before, with its observations; deleting one
// removes its observations.
//
// Bit 7 of the kind marks the first record of each write(2). The writer
// writes a batch only after the fsync of the one before it returned, so a
// valid batch start after a damaged record proves that the damaged record
// was acknowledged: see replay in file.go.
//
// A registration payload:
//
//	uvarint  len(ID)
//	uvarint  len(Endpoint)
//	bytes    ID, then Endpoint
//	uvarint  Lifetime
//	byte     Version.Major, byte Version.Minor
//	byte     flags: 1 Queue, 2 Secure, 4 Identity equals Endpoint (and is not stored)
//	string   Binding
//	string   SMS
//	address  byte 0 (none), 4 (then 4 bytes) or 6 (then 16 bytes and a
//	         string zone); then uint16 port
//	string   RootPath
//	objects  uvarint count; per object uvarint ID, byte major, byte minor,
//	         uvarint instance count, a uvarint per instance
//	uvarint  count of ContentFormats, a uvarint per format
//	time     RegisteredAt: varint Unix seconds, uvarint nanoseconds
//	time     UpdatedAt
//	string   Identity, unless flag 4
//
// An observation payload:
//
//	string   Token
//	string   RegistrationID
//	string   Endpoint
//	byte     flags: 1 Composite
//	uvarint  Format
//	uvarint  count of Paths; per path a byte length 0..4 and a uvarint per id
//	time     CreatedAt
//
// A payload must be consumed exactly: trailing bytes are corruption.

const (
	magic         = "W2MSTORE"
	formatVersion = 1
	headerSize    = 16
	recordHeader  = 9       // length, crc, kind
	maxPayload    = 1 << 20 // the largest record payload written or read
)

// Record kinds.
const (
	kindPutRegistration    = 1
	kindDeleteRegistration = 2
	kindPutObservation     = 3
	kindDeleteObservation  = 4
	kindMask               = 0x7f
	batchStart             = 0x80 // flag: the first record of a write
)

const (
	regQueue          = 1
	regSecure         = 2
	regIdentityIsEP   = 4
	regFlagsKnown     = regQueue | regSecure | regIdentityIsEP
	obsComposite      = 1
	obsFlagsKnown     = obsComposite
	addrNone          = 0
	addr4             = 4
	addr6             = 6
	zeroTimeUnix      = -62135596800 // time.Time{}.Unix()
	maxUnixSeconds    = 1<<62 - 1    // far beyond any real date, well inside time.Time's range
	minUnixSeconds    = -(1 << 62)
	nanosecondsPerSec = 1e9
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// appendHeader appends the file header of the current version.
func appendHeader(dst []byte) []byte {
	start := len(dst)
	dst = append(dst, magic...)
	dst = binary.LittleEndian.AppendUint16(dst, formatVersion)
	dst = binary.LittleEndian.AppendUint16(dst, 0)
	return binary.LittleEndian.AppendUint32(dst, crc32.Checksum(dst[start:], castagnoli))
}

// beginRecord reserves a record header at the end of dst and returns dst
// and the record's offset in it, for endRecord.
func beginRecord(dst []byte) ([]byte, int) {
	return append(dst, 0, 0, 0, 0, 0, 0, 0, 0, 0), len(dst)
}

// endRecord fills in the header of the record that starts at dst[at] and
// runs to the end of dst.
func endRecord(dst []byte, at int, kind byte) {
	binary.LittleEndian.PutUint32(dst[at:], uint32(len(dst)-at-recordHeader))
	dst[at+8] = kind
	binary.LittleEndian.PutUint32(dst[at+4:], recordCRC(dst[at:]))
}

// recordCRC returns the checksum of the record rec, which starts with its
// header and holds its whole payload.
func recordCRC(rec []byte) uint32 {
	c := crc32.Update(0, castagnoli, rec[:4])
	return crc32.Update(c, castagnoli, rec[8:])
}

// appendRegistrationRecord appends a put-registration record for r, with
// flags (0 or batchStart) in its kind byte.
func appendRegistrationRecord(dst []byte, r *Registration, flags byte) []byte {
	dst, at := beginRecord(dst)
	dst = appendRegistration(dst, r)
	endRecord(dst, at, kindPutRegistration|flags)
	return dst
}

// appendObservationRecord appends a put-observation record for o, with
// flags in its kind byte.
func appendObservationRecord(dst []byte, o *Observation, flags byte) []byte {
	dst, at := beginRecord(dst)
	dst = appendObservation(dst, o)
	endRecord(dst, at, kindPutObservation|flags)
	return dst
}

// appendKeyRecord appends a delete record of kind for key.
func appendKeyRecord(dst []byte, kind byte, key string) []byte {
	dst, at := beginRecord(dst)
	dst = append(dst, key...)
	endRecord(dst, at, kind)
	return dst
}

func appendString(dst []byte, s string) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(s)))
	return append(dst, s...)
}

func appendTime(dst []byte, t time.Time) []byte {
	dst = binary.AppendVarint(dst, t.Unix())
	return binary.AppendUvarint(dst, uint64(t.Nanosecond()))
}

// appendObjects appends the objects part of a registration payload. The
// same bytes are the key under which a store shares identical object
// layouts between registrations.
func appendObjects(dst []byte, objs []link.Object) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(objs)))
	for _, o := range objs {
		dst = binary.AppendUvarint(dst, uint64(o.ID))
		dst = append(dst, o.Version.Major, o.Version.Minor)
		dst = binary.AppendUvarint(dst, uint64(len(o.Instances)))
		for _, i := range o.Instances {
			dst = binary.AppendUvarint(dst, uint64(i))
		}
	}
	return dst
}

// appendFormats appends the content formats part of a registration
// payload, which is also their sharing key.
func appendFormats(dst []byte, cts []uint16) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(cts)))
	for _, c := range cts {
		dst = binary.AppendUvarint(dst, uint64(c))
	}
	return dst
}

func appendRegistration(dst []byte, r *Registration) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(r.ID)))
	dst = binary.AppendUvarint(dst, uint64(len(r.Endpoint)))
	dst = append(dst, r.ID...)
	dst = append(dst, r.Endpoint...)
	dst = binary.AppendUvarint(dst, uint64(r.Lifetime))
	dst = append(dst, r.Version.Major, r.Version.Minor)
	var flags byte
	if r.Queue {
		flags |= regQueue
	}
	if r.Secure {
		flags |= regSecure
	}
	if r.Identity == r.Endpoint {
		flags |= regIdentityIsEP
	}
	dst = append(dst, flags)
	dst = appendString(dst, r.Binding)
	dst = appendString(dst, r.SMS)
	dst = appendAddrPort(dst, r.Address)
	dst = appendString(dst, r.RootPath)
	dst = appendObjects(dst, r.Objects)
	dst = appendFormats(dst, r.ContentFormats)
	dst = appendTime(dst, r.RegisteredAt)
	dst = appendTime(dst, r.UpdatedAt)
	if flags&regIdentityIsEP == 0 {
		dst = appendString(dst, r.Identity)
	}
	return dst
}

func appendAddrPort(dst []byte, ap netip.AddrPort) []byte {
	a := ap.Addr()
	switch {
	case a.Is4():
		b := a.As4()
		dst = append(dst, addr4)
		dst = append(dst, b[:]...)
	case a.Is6():
		b := a.As16()
		dst = append(dst, addr6)
		dst = append(dst, b[:]...)
		dst = appendString(dst, a.Zone())
	default:
		dst = append(dst, addrNone)
	}
	return binary.LittleEndian.AppendUint16(dst, ap.Port())
}

func appendObservation(dst []byte, o *Observation) []byte {
	dst = appendString(dst, o.Token)
	dst = appendString(dst, o.RegistrationID)
	dst = appendString(dst, o.Endpoint)
	var flags byte
	if o.Composite {
		flags |= obsComposite
	}
	dst = append(dst, flags)
	dst = binary.AppendUvarint(dst, uint64(o.Format))
	dst = binary.AppendUvarint(dst, uint64(len(o.Paths)))
	for _, p := range o.Paths {
		dst = append(dst, byte(p.Len()))
		for i := range p.Len() {
			dst = binary.AppendUvarint(dst, uint64(p.ID(i)))
		}
	}
	return appendTime(dst, o.CreatedAt)
}

// decoder reads a payload. The first failure sticks: every later read
// returns zero values, and ok reports false.
type decoder struct {
	b   []byte
	bad bool
}

func (d *decoder) fail() { d.bad, d.b = true, nil }

// ok reports whether every read succeeded and the payload was consumed.
func (d *decoder) ok() bool { return !d.bad && len(d.b) == 0 }

func (d *decoder) byte() byte {
	if len(d.b) == 0 {
		d.fail()
		return 0
	}
	c := d.b[0]
	d.b = d.b[1:]
	return c
}

func (d *decoder) uvarint(max uint64) uint64 {
	v, n := binary.Uvarint(d.b)
	if n <= 0 || v > max {
		d.fail()
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) varint() int64 {
	v, n := binary.Varint(d.b)
	if n <= 0 {
		d.fail()
		return 0
	}
	d.b = d.b[n:]
	return v
}

// bytes returns the next n bytes, which alias the payload.
func (d *decoder) bytes(n uint64) []byte {
	if n > uint64(len(d.b)) {
		d.fail()
		return nil
	}
	s := d.b[:n]
	d.b = d.b[n:]
	return s
}

// count reads a count of elements that take at least size bytes each and
// refuses one that the rest of the payload cannot hold, so that no bogus
// count makes a large allocation.
func (d *decoder) count(size int) int {
	n := d.uvarint(uint64(len(d.b) / size))
	return int(n)
}

func (d *decoder) string() string {
	return string(d.bytes(d.uvarint(math.MaxUint32)))
}

func (d *decoder) time() time.Time {
	sec := d.varint()
	nsec := d.uvarint(nanosecondsPerSec - 1)
	if sec < minUnixSeconds || sec > maxUnixSeconds {
		d.fail()
		return time.Time{}
	}
	return time.Unix(sec, int64(nsec)).UTC()
}

func (d *decoder) addrPort() netip.AddrPort {
	var a netip.Addr
	switch d.byte() {
	case addrNone:
	case addr4:
		b := d.bytes(4)
		if b != nil {
			a = netip.AddrFrom4([4]byte(b))
		}
	case addr6:
		b := d.bytes(16)
		zone := d.bytes(d.uvarint(math.MaxUint32))
		if b != nil {
			a = netip.AddrFrom16([16]byte(b)).WithZone(string(zone))
		}
	default:
		d.fail()
	}
	port := d.bytes(2)
	if port == nil {
		return netip.AddrPort{}
	}
	return netip.AddrPortFrom(a, binary.LittleEndian.Uint16(port))
}

// objectsKey reads the objects part of a registration payload and returns
// its bytes, without building the objects: a store that already holds the
// same layout shares it (see decodeObjects).
func (d *decoder) objectsKey() []byte {
	start := d.b
	n := d.count(4)
	for range n {
		d.uvarint(math.MaxUint16)
		d.bytes(2)
		m := d.count(1)
		for range m {
			d.uvarint(math.MaxUint16)
		}
	}
	if d.bad {
		return nil
	}
	return start[:len(start)-len(d.b)]
}

// formatsKey reads the content formats part of a registration payload and
// returns its bytes.
func (d *decoder) formatsKey() []byte {
	start := d.b
	n := d.count(1)
	for range n {
		d.uvarint(math.MaxUint16)
	}
	if d.bad {
		return nil
	}
	return start[:len(start)-len(d.b)]
}

// decodeObjects builds the objects whose encoding objectsKey returned,
// with one allocation for the objects and one for all their instances.
// Objects without instances get nil Instances.
func decodeObjects(key []byte) []link.Object {
	d := decoder{b: key}
	n := d.count(4)
	if n == 0 {
		return nil
	}
	objs := make([]link.Object, n)
	var insts []uint16
	if total := countInstances(d); total > 0 {
		insts = make([]uint16, 0, total)
	}
	for i := range objs {
		o := &objs[i]
		o.ID = uint16(d.uvarint(math.MaxUint16))
		o.Version = model.Version{Major: d.byte(), Minor: d.byte()}
		m := d.count(1)
		if m == 0 {
			continue
		}
		start := len(insts)
		for range m {
			insts = append(insts, uint16(d.uvarint(math.MaxUint16)))
		}
		o.Instances = insts[start:len(insts):len(insts)]
	}
	return objs
}

// countInstances returns the number of instances of the objects that d,
// positioned after the object count, holds, without moving d.
func countInstances(d decoder) int {
	total := 0
	for !d.bad && len(d.b) > 0 {
		d.uvarint(math.MaxUint16)
		d.bytes(2)
		m := d.count(1)
		total += m
		for range m {
			d.uvarint(math.MaxUint16)
		}
	}
	return total
}

// decodeFormats builds the content formats whose encoding formatsKey
// returned.
func decodeFormats(key []byte) []uint16 {
	d := decoder{b: key}
	n := d.count(1)
	if n == 0 {
		return nil
	}
	cts := make([]uint16, n)
	for i := range cts {
		cts[i] = uint16(d.uvarint(math.MaxUint16))
	}
	return cts
}

// decodedRegistration is a registration payload read without building its
// Objects and ContentFormats, whose encodings are left as sharing keys.
type decodedRegistration struct {
	reg     *Registration
	objects []byte // aliases the payload
	formats []byte // aliases the payload
}

// decodeRegistration reads a registration payload. It returns false for a
// payload that is not one. ID and Endpoint share one allocation, and so do
// Identity and Endpoint when they are equal.
func decodeRegistration(p []byte) (decodedRegistration, bool) {
	d := decoder{b: p}
	idLen := d.uvarint(maxPayload)
	epLen := d.uvarint(maxPayload)
	both := string(d.bytes(idLen + epLen))
	if d.bad {
		return decodedRegistration{}, false
	}
	r := &Registration{ID: both[:idLen], Endpoint: both[idLen:]}
	r.Lifetime = uint32(d.uvarint(math.MaxUint32))
	r.Version = model.Version{Major: d.byte(), Minor: d.byte()}
	flags := d.byte()
	if flags&^regFlagsKnown != 0 {
		d.fail()
	}
	r.Queue = flags&regQueue != 0
	r.Secure = flags&regSecure != 0
	r.Binding = d.string()
	r.SMS = d.string()
	r.Address = d.addrPort()
	r.RootPath = d.string()
	objs := d.objectsKey()
	cts := d.formatsKey()
	r.RegisteredAt = d.time()
	r.UpdatedAt = d.time()
	if flags&regIdentityIsEP != 0 {
		r.Identity = r.Endpoint
	} else {
		r.Identity = d.string()
	}
	if !d.ok() {
		return decodedRegistration{}, false
	}
	return decodedRegistration{reg: r, objects: objs, formats: cts}, true
}

// decodeObservation reads an observation payload. It returns false for a
// payload that is not one.
func decodeObservation(p []byte) (*Observation, bool) {
	d := decoder{b: p}
	o := &Observation{}
	o.Token = d.string()
	o.RegistrationID = d.string()
	o.Endpoint = d.string()
	flags := d.byte()
	if flags&^obsFlagsKnown != 0 {
		d.fail()
	}
	o.Composite = flags&obsComposite != 0
	o.Format = uint16(d.uvarint(math.MaxUint16))
	if n := d.count(1); n > 0 {
		o.Paths = make([]model.Path, n)
		for i := range o.Paths {
			var ids [4]uint16
			l := d.byte()
			if l > 4 {
				d.fail()
				break
			}
			for j := range l {
				ids[j] = uint16(d.uvarint(math.MaxUint16))
			}
			o.Paths[i] = pathOf(ids, l)
		}
	}
	o.CreatedAt = d.time()
	if !d.ok() {
		return nil, false
	}
	return o, true
}

// pathOf builds the path of the first n ids. It does not check the ids
// against model.MaxID: the store keeps whatever path it was given.
func pathOf(ids [4]uint16, n byte) model.Path {
	switch n {
	case 1:
		return model.ObjectPath(ids[0])
	case 2:
		return model.InstancePath(ids[0], ids[1])
	case 3:
		return model.ResourcePath(ids[0], ids[1], ids[2])
	case 4:
		return model.ResourceInstancePath(ids[0], ids[1], ids[2], ids[3])
	}
	return model.RootPath()
}

// The sizes of encodings, without encoding. A snapshot of the live data
// holds one put record per registration and observation: File adds and
// subtracts these sizes to know how large a snapshot would be.

func uvarintLen(x uint64) int { return (bits.Len64(x|1) + 6) / 7 }

func varintLen(x int64) int { return uvarintLen(uint64(x<<1) ^ uint64(x>>63)) }

func stringLen(s string) int { return uvarintLen(uint64(len(s))) + len(s) }

func timeLen(t time.Time) int {
	return varintLen(t.Unix()) + uvarintLen(uint64(t.Nanosecond()))
}

func objectsLen(objs []link.Object) int {
	n := uvarintLen(uint64(len(objs)))
	for _, o := range objs {
		n += uvarintLen(uint64(o.ID)) + 2 + uvarintLen(uint64(len(o.Instances)))
		for _, i := range o.Instances {
			n += uvarintLen(uint64(i))
		}
	}
	return n
}

func formatsLen(cts []uint16) int {
	n := uvarintLen(uint64(len(cts)))
	for _, c := range cts {
		n += uvarintLen(uint64(c))
	}
	return n
}

func addrPortLen(ap netip.AddrPort) int {
	a := ap.Addr()
	switch {
	case a.Is4():
		return 1 + 4 + 2
	case a.Is6():
		return 1 + 16 + stringLen(a.Zone()) + 2
	}
	return 1 + 2
}

// registrationRecordLen returns len(appendRegistrationRecord(nil, r, 0)).
func registrationRecordLen(r *Registration) int {
	if r == nil {
		return 0
	}
	n := recordHeader +
		uvarintLen(uint64(len(r.ID))) + uvarintLen(uint64(len(r.Endpoint))) + len(r.ID) + len(r.Endpoint) +
		uvarintLen(uint64(r.Lifetime)) + 2 + 1 +
		stringLen(r.Binding) + stringLen(r.SMS) + addrPortLen(r.Address) + stringLen(r.RootPath) +
		objectsLen(r.Objects) + formatsLen(r.ContentFormats) +
		timeLen(r.RegisteredAt) + timeLen(r.UpdatedAt)
	if r.Identity != r.Endpoint {
		n += stringLen(r.Identity)
	}
	return n
}

// observationRecordLen returns len(appendObservationRecord(nil, o, 0)).
func observationRecordLen(o *Observation) int {
	if o == nil {
		return 0
	}
	n := recordHeader + stringLen(o.Token) + stringLen(o.RegistrationID) + stringLen(o.Endpoint) + 1 +
		uvarintLen(uint64(o.Format)) + uvarintLen(uint64(len(o.Paths))) + timeLen(o.CreatedAt)
	for _, p := range o.Paths {
		n++
		for i := range p.Len() {
			n += uvarintLen(uint64(p.ID(i)))
		}
	}
	return n
}
