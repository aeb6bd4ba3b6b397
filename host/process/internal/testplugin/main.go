// Command testplugin is the process plugin of host/process's tests: a
// storage plugin on core/store's memory store, with test methods (echo,
// sleep, exit, fail, log, pid) numbered from 900.
package main

import (
	"context"
	"encoding/binary"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/wasm2m/wasm2m/core/model"
	"github.com/wasm2m/wasm2m/core/store"
	"github.com/wasm2m/wasm2m/host/process"
	"github.com/wasm2m/wasm2m/sdk/abi"
	"github.com/wasm2m/wasm2m/sdk/procplugin"
)

// Test methods.
const (
	MethodEcho  abi.Method = 900 // the request back
	MethodSleep abi.Method = 901 // sleep for the request's decimal milliseconds
	MethodExit  abi.Method = 902 // exit with status 2
	MethodFail  abi.Method = 903 // fail with the request's decimal status
	MethodLog   abi.Method = 904 // log the request, through Logger and as a raw stderr line
	MethodPID   abi.Method = 905 // the process id, 8 bytes big-endian
	MethodStop  abi.Method = 906 // stop answering: SIGSTOP itself
	MethodMTLS  abi.Method = 907 // "mtls" when the host sent a client certificate (go-plugin's AutoMTLS)
)

func main() {
	minor := uint32(abi.Minor)
	if v := os.Getenv("TESTPLUGIN_ABI_MINOR"); v != "" {
		n, _ := strconv.Atoi(v)
		minor = uint32(n)
	}
	man := &abi.Manifest{ID: "storage.test", Kind: string(abi.KindStorage), ABIMinor: minor, Name: "test storage"}
	storage := procplugin.StorageHandler(man, process.StorageOf(store.NewMemory()))
	log := procplugin.Logger()
	procplugin.Serve(procplugin.HandlerFunc(func(ctx context.Context, m abi.Method, req []byte) ([]byte, error) {
		switch m {
		case MethodEcho:
			return req, nil
		case MethodSleep:
			ms, _ := strconv.Atoi(string(req))
			select {
			case <-time.After(time.Duration(ms) * time.Millisecond):
			case <-ctx.Done():
				return nil, ctx.Err()
			}
			return nil, nil
		case MethodExit:
			os.Exit(2)
		case MethodFail:
			n, _ := strconv.Atoi(string(req))
			return nil, &model.Error{Code: model.Code(n), Msg: "failed on purpose"}
		case MethodLog:
			log.Warn(string(req), "n", 7)
			fmt.Fprintln(os.Stderr, "raw: "+string(req))
			return nil, nil
		case MethodPID:
			return binary.BigEndian.AppendUint64(nil, uint64(os.Getpid())), nil
		case MethodMTLS:
			if strings.Contains(os.Getenv("PLUGIN_CLIENT_CERT"), "BEGIN CERTIFICATE") {
				return []byte("mtls"), nil
			}
			return []byte("plain"), nil
		case MethodStop:
			p, _ := os.FindProcess(os.Getpid())
			go func() { time.Sleep(10 * time.Millisecond); p.Signal(stopSignal) }()
			return nil, nil
		}
		return storage.Call(ctx, m, req)
	}))
}
