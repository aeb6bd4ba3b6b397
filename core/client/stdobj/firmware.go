package stdobj

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"sync"
	"time"

	"github.com/wasm2m/wasm2m/core/model"
)

// FirmwareState is the State resource (5/0/3) of the Firmware Update
// object.
type FirmwareState int64

// The states of the firmware update state machine (Core 1.1 Appendix
// E.6, object 5).
const (
	FirmwareIdle        FirmwareState = 0 // before a download, or after an update
	FirmwareDownloading FirmwareState = 1
	FirmwareDownloaded  FirmwareState = 2
	FirmwareUpdating    FirmwareState = 3
)

func (s FirmwareState) String() string {
	switch s {
	case FirmwareIdle:
		return "Idle"
	case FirmwareDownloading:
		return "Downloading"
	case FirmwareDownloaded:
		return "Downloaded"
	case FirmwareUpdating:
		return "Updating"
	}
	return "state(" + itoa(int64(s)) + ")"
}

// UpdateResult is the Update Result resource (5/0/5).
type UpdateResult int64

// The update results of object 5; 10 and 11 exist from version 1.1.
const (
	ResultInitial             UpdateResult = 0 // reset when a download or update starts
	ResultSuccess             UpdateResult = 1 // firmware updated
	ResultNoStorage           UpdateResult = 2 // not enough flash for the package
	ResultOutOfMemory         UpdateResult = 3 // out of RAM while downloading
	ResultConnectionLost      UpdateResult = 4 // connection lost while downloading
	ResultIntegrityFailure    UpdateResult = 5 // integrity check of the package failed
	ResultUnsupportedType     UpdateResult = 6 // unsupported package type
	ResultInvalidURI          UpdateResult = 7
	ResultUpdateFailed        UpdateResult = 8
	ResultUnsupportedProtocol UpdateResult = 9
	ResultCancelled           UpdateResult = 10
	ResultDeferred            UpdateResult = 11
)

// FirmwareError carries the Update Result a failed download,
// verification or update should leave; wrap one in the error a
// Downloader, Verify or Apply returns. Without one, a failed download
// leaves ResultConnectionLost, a failed verification
// ResultIntegrityFailure and a failed update ResultUpdateFailed.
type FirmwareError struct {
	Result UpdateResult
	Err    error
}

func (e *FirmwareError) Error() string {
	if e.Err == nil {
		return fmt.Sprintf("firmware update result %d", e.Result)
	}
	return fmt.Sprintf("firmware update result %d: %v", e.Result, e.Err)
}

// Unwrap returns the cause.
func (e *FirmwareError) Unwrap() error { return e.Err }

// resultOf returns the Update Result err carries, or def.
func resultOf(err error, def UpdateResult) UpdateResult {
	var fe *FirmwareError
	if errors.As(err, &fe) && fe.Result > ResultSuccess {
		return fe.Result
	}
	return def
}

// FirmwareProtocol is a download protocol of Firmware Update Protocol
// Support (5/0/8).
type FirmwareProtocol int64

// The protocols of resource 8, and the URI schemes they stand for.
const (
	ProtocolCoAP    FirmwareProtocol = 0 // coap
	ProtocolCoAPS   FirmwareProtocol = 1 // coaps
	ProtocolHTTP    FirmwareProtocol = 2 // http
	ProtocolHTTPS   FirmwareProtocol = 3 // https
	ProtocolCoAPTCP FirmwareProtocol = 4 // coap+tcp
	ProtocolCoAPTLS FirmwareProtocol = 5 // coaps+tcp
)

var schemes = map[string]FirmwareProtocol{
	"coap": ProtocolCoAP, "coaps": ProtocolCoAPS, "http": ProtocolHTTP,
	"https": ProtocolHTTPS, "coap+tcp": ProtocolCoAPTCP, "coaps+tcp": ProtocolCoAPTLS,
}

// Firmware Update resources this file refers to by name.
const (
	fwPackage    uint16 = 0
	fwURI        uint16 = 1
	fwUpdate     uint16 = 2
	fwState      uint16 = 3
	fwResult     uint16 = 5
	fwPkgName    uint16 = 6
	fwPkgVersion uint16 = 7
	fwProtocols  uint16 = 8
	fwDelivery   uint16 = 9
	fwCancel     uint16 = 10
	fwLastChange uint16 = 12
)

// FirmwareConfig is how the Firmware Update object gets and installs a
// package.
type FirmwareConfig struct {
	// Downloader fetches the package at uri for a pull (Package URI);
	// nil means the device takes pushed packages only (Delivery Method
	// 1; 2, both, otherwise). It runs in a goroutine the object owns, and
	// ctx is cancelled when the download is cancelled or the object
	// closed.
	Downloader func(ctx context.Context, uri string) ([]byte, error)
	// Protocols are the pull protocols the Downloader speaks (resource
	// 8). When set, a URI of another scheme leaves
	// ResultUnsupportedProtocol without a download.
	Protocols []FirmwareProtocol
	// Verify, when set, checks a complete package, pushed or pulled,
	// and returns its name and version (PkgName, PkgVersion). It runs
	// in the Write of a pushed package and in the download goroutine.
	Verify func(ctx context.Context, image []byte) (name, version string, err error)
	// Apply installs the package when a server executes Update. It runs
	// in a goroutine the object owns; ctx is cancelled when the object is
	// closed. nil makes every update fail.
	Apply func(ctx context.Context, image []byte) error
	// MaxSize is the largest package taken, in bytes; 0 for no limit.
	MaxSize int
	// Result is the Update Result to start with: ResultSuccess after the
	// reboot that installed an update, say.
	Result UpdateResult
	// Definition replaces the built-in Firmware Update 1.1; with 1.0
	// there is no Cancel.
	Definition *model.ObjectDef
}

// Firmware is the Firmware Update object (5): one static instance, 0,
// running the state machine of Core 1.1 Appendix E.6:
//
//	Idle --Write Package--> Downloading --complete--> Downloaded
//	Idle --Write Package URI--> Downloading --Downloader done--> Downloaded
//	Downloading --download or verification failed--> Idle (Update Result 2-7, 9)
//	Downloaded --Execute Update--> Updating --Apply ok--> Idle (Update Result 1)
//	Updating --Apply failed--> Downloaded (8), or Idle with the FirmwareError's result
//	Downloading, Downloaded --Write empty Package or URI--> Idle (0)
//	Downloading, Downloaded --Execute Cancel (1.1)--> Idle (10)
//
// Update executed in another state than Downloaded, and Cancel in Idle or
// Updating, are 4.05; so is writing a package or a URI other than empty
// outside Idle, and writing anything while Updating. Every change of
// State and Update Result is reported through Observe. Close cancels a
// download or update in progress and waits for its goroutine.
type Firmware struct {
	*Object
	cfg FirmwareConfig

	mu      sync.Mutex
	pending []model.Path // changes to report once mu is released
	state   FirmwareState
	result  UpdateResult
	image   []byte
	job     uint64             // counts jobs started; a job whose number is not job's is stale
	cancel  context.CancelFunc // cancels the job in progress
	closed  bool
	jobs    sync.WaitGroup
}

// NewFirmware returns the Firmware Update object for cfg, Idle.
func NewFirmware(cfg FirmwareConfig) *Firmware {
	def := pick(cfg.Definition, FirmwareID, model.V1_1)
	delivery := int64(1)
	if cfg.Downloader != nil {
		delivery = 2
	}
	rs := []model.Node{
		model.NewResource(fwURI, model.String("")),
		model.NewResource(fwState, model.Int(int64(FirmwareIdle))),
		model.NewResource(fwResult, model.Int(int64(cfg.Result))),
		model.NewResource(fwDelivery, model.Int(delivery)),
		model.NewResource(fwPkgName, model.String("")),
		model.NewResource(fwPkgVersion, model.String("")),
		model.NewResource(fwLastChange, model.Time(time.Now())),
	}
	if len(cfg.Protocols) > 0 {
		ps := make([]model.Value, len(cfg.Protocols))
		for i, p := range cfg.Protocols {
			ps[i] = model.Int(int64(p))
		}
		rs = append(rs, model.NewMultipleResourceOf(fwProtocols, ps...))
	}
	f := &Firmware{
		Object: New(def, model.NewInstance(0, keep(def, rs...)...)).Static(),
		cfg:    cfg,
		result: cfg.Result,
	}
	f.OnWrite(fwPackage, f.writePackage)
	f.OnWrite(fwURI, f.writeURI)
	f.OnExecute(fwUpdate, f.executeUpdate)
	if has(def, fwCancel) {
		f.OnExecute(fwCancel, f.executeCancel)
	}
	return f
}

// State returns the state and the Update Result.
func (f *Firmware) State() (FirmwareState, UpdateResult) {
	f.mu.Lock()
	defer f.unlock()
	return f.state, f.result
}

// unlock releases f.mu, then reports the changes made under it, so that
// the function given to Observe may call State.
func (f *Firmware) unlock() {
	paths := f.pending
	f.pending = nil
	f.mu.Unlock()
	f.notify(paths...)
}

// store sets resource id of instance 0 and queues its report if it
// changed. f.mu is held.
func (f *Firmware) store(id uint16, v model.Value) {
	if !has(f.def, id) {
		return
	}
	p := model.ResourcePath(FirmwareID, 0, id)
	if changed, _ := f.set(p, v); changed {
		f.pending = append(f.pending, p)
	}
}

// setState moves the state machine. f.mu is held.
func (f *Firmware) setState(s FirmwareState, r UpdateResult) {
	if s != f.state {
		f.store(fwLastChange, model.Time(time.Now()))
	}
	f.state, f.result = s, r
	f.store(fwState, model.Int(int64(s)))
	f.store(fwResult, model.Int(int64(r)))
}

// setPackage records the package held (nil for none) with its name and
// version. f.mu is held.
func (f *Firmware) setPackage(image []byte, name, version string) {
	f.image = image
	f.store(fwPkgName, model.String(name))
	f.store(fwPkgVersion, model.String(version))
}

// stopJob makes the job in progress stale and cancels it. f.mu is held.
func (f *Firmware) stopJob() {
	f.job++
	if f.cancel != nil {
		f.cancel()
		f.cancel = nil
	}
}

// reset goes back to Idle with result r, dropping the package and any
// download. f.mu is held.
func (f *Firmware) reset(r UpdateResult) {
	f.stopJob()
	f.setPackage(nil, "", "")
	f.setState(FirmwareIdle, r)
}

// startJob runs fn in a goroutine the object owns, with a context that
// stopJob or Close cancels, and the job's number. f.mu is held.
func (f *Firmware) startJob(fn func(ctx context.Context, job uint64)) {
	f.stopJob()
	ctx, cancel := context.WithCancel(context.Background())
	f.cancel = cancel
	job := f.job
	f.jobs.Add(1)
	go func() {
		defer f.jobs.Done()
		defer cancel()
		fn(ctx, job)
	}()
}

func notInState(what string, s FirmwareState) error {
	return model.Errorf(model.MethodNotAllowed, "firmware: %s while %s", what, s)
}

// writePackage is the write hook of Package (5/0/0): a push.
func (f *Firmware) writePackage(ctx context.Context, inst uint16, v model.Node) error {
	f.mu.Lock()
	defer f.unlock()
	img := v.Value.Str()
	if img == "" {
		if f.state == FirmwareUpdating {
			return notInState("reset", f.state)
		}
		f.reset(ResultInitial)
		return nil
	}
	switch {
	case f.closed:
		return ErrClosed
	case f.state != FirmwareIdle:
		return notInState("write a package", f.state)
	case f.cfg.MaxSize > 0 && len(img) > f.cfg.MaxSize:
		f.setState(FirmwareIdle, ResultNoStorage)
		return model.Errorf(model.RequestEntityTooLarge, "firmware: package of %d bytes, the device takes %d", len(img), f.cfg.MaxSize)
	}
	f.setState(FirmwareDownloading, ResultInitial)
	image := []byte(img)
	name, version, err := f.verify(ctx, image)
	if err != nil {
		f.reset(resultOf(err, ResultIntegrityFailure))
		return nil // the package arrived; Update Result says what is wrong with it
	}
	f.setPackage(image, name, version)
	f.setState(FirmwareDownloaded, ResultInitial)
	return nil
}

func (f *Firmware) verify(ctx context.Context, image []byte) (string, string, error) {
	if f.cfg.Verify == nil {
		return "", "", nil
	}
	return f.cfg.Verify(ctx, image)
}

// writeURI is the write hook of Package URI (5/0/1): a pull.
func (f *Firmware) writeURI(ctx context.Context, inst uint16, v model.Node) error {
	f.mu.Lock()
	defer f.unlock()
	uri := v.Value.Str()
	if uri == "" {
		if f.state == FirmwareUpdating {
			return notInState("reset", f.state)
		}
		f.reset(ResultInitial)
		return nil
	}
	switch {
	case len(uri) > 255:
		return model.Errorf(model.BadRequest, "firmware: package uri of %d bytes, at most 255", len(uri))
	case f.closed:
		return ErrClosed
	case f.state != FirmwareIdle:
		return notInState("write a package uri", f.state)
	}
	u, err := url.Parse(uri)
	if err != nil || u.Scheme == "" || (u.Host == "" && u.Opaque == "") {
		f.setState(FirmwareIdle, ResultInvalidURI)
		return nil
	}
	proto, known := schemes[u.Scheme]
	if f.cfg.Downloader == nil || len(f.cfg.Protocols) > 0 && (!known || !slices.Contains(f.cfg.Protocols, proto)) {
		f.setState(FirmwareIdle, ResultUnsupportedProtocol)
		return nil
	}
	f.setState(FirmwareDownloading, ResultInitial)
	f.startJob(func(ctx context.Context, job uint64) { f.download(ctx, job, uri) })
	return nil
}

// download is the pull job.
func (f *Firmware) download(ctx context.Context, job uint64, uri string) {
	image, err := f.cfg.Downloader(ctx, uri)
	result := ResultConnectionLost
	var name, version string
	if err == nil && f.cfg.MaxSize > 0 && len(image) > f.cfg.MaxSize {
		err, result = errors.New("package too large"), ResultNoStorage
	}
	if err == nil {
		name, version, err = f.verify(ctx, image)
		result = ResultIntegrityFailure
	}
	f.mu.Lock()
	defer f.unlock()
	if job != f.job || f.state != FirmwareDownloading {
		return // cancelled meanwhile
	}
	f.cancel = nil
	if err != nil {
		f.reset(resultOf(err, result))
		return
	}
	f.setPackage(image, name, version)
	f.setState(FirmwareDownloaded, ResultInitial)
}

// executeUpdate is Update (5/0/2).
func (f *Firmware) executeUpdate(ctx context.Context, inst uint16, args []byte) error {
	f.mu.Lock()
	defer f.unlock()
	switch {
	case f.state != FirmwareDownloaded:
		return notInState("update", f.state)
	case f.closed:
		return ErrClosed
	}
	f.setState(FirmwareUpdating, ResultInitial)
	image := f.image
	f.startJob(func(ctx context.Context, job uint64) { f.apply(ctx, job, image) })
	return nil
}

// apply is the update job.
func (f *Firmware) apply(ctx context.Context, job uint64, image []byte) {
	err := errors.New("no apply function")
	if f.cfg.Apply != nil {
		err = f.cfg.Apply(ctx, image)
	}
	f.mu.Lock()
	defer f.unlock()
	if job != f.job || f.state != FirmwareUpdating {
		return // closed meanwhile
	}
	f.cancel = nil
	switch r := resultOf(err, ResultUpdateFailed); {
	case err == nil:
		f.setPackage(nil, "", "")
		f.setState(FirmwareIdle, ResultSuccess)
	case r == ResultUpdateFailed:
		f.setState(FirmwareDownloaded, r) // the package stays for another try
	default:
		f.reset(r)
	}
}

// executeCancel is Cancel (5/0/10, version 1.1).
func (f *Firmware) executeCancel(ctx context.Context, inst uint16, args []byte) error {
	f.mu.Lock()
	defer f.unlock()
	if f.state != FirmwareDownloading && f.state != FirmwareDownloaded {
		return notInState("cancel", f.state)
	}
	f.reset(ResultCancelled)
	return nil
}

// Close cancels a download or update in progress and waits for its
// goroutine to end; the object stays in the state it was in. Later
// writes that would start a download or an update fail with ErrClosed.
// It returns nil.
func (f *Firmware) Close() error {
	f.mu.Lock()
	f.closed = true
	f.stopJob()
	f.unlock()
	f.jobs.Wait()
	return nil
}
