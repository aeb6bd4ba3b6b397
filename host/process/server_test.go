package process_test

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/wasm2m/wasm2m/core/client"
	"github.com/wasm2m/wasm2m/core/client/stdobj"
	"github.com/wasm2m/wasm2m/core/server"
	"github.com/wasm2m/wasm2m/host/process"
)

// runServer is the server process of TestServerKilledUnderLoad: a
// core/server on the Redis plugin (args: plugin path, Redis address,
// prefix, separated by spaces). It prints its address and its plugin's
// pid and serves until killed.
func runServer(args string) {
	f := strings.Fields(args)
	ctx := context.Background()
	p, err := process.Start(ctx, process.Config{Path: f[0], Logger: slogDiscard})
	if err == nil {
		_, err = process.StartStorage(ctx, p, []byte(fmt.Sprintf(`{"addr":%q,"prefix":%q}`, f[1], f[2])))
	}
	if err != nil {
		fmt.Println("error", err)
		os.Exit(1)
	}
	srv, err := server.New(server.Config{Addr: "127.0.0.1:0", Store: process.NewStore(p)})
	if err == nil {
		err = srv.Start(ctx)
	}
	if err != nil {
		fmt.Println("error", err)
		os.Exit(1)
	}
	fmt.Printf("%s %d\n", srv.Addr(), p.PID())
	select {}
}

// TestServerKilledUnderLoad kills a server process on the Redis plugin
// with SIGKILL while devices register: every registration the server
// acknowledged is in Redis, and the server's plugin process does not
// outlive it.
func TestServerKilledUnderLoad(t *testing.T) {
	addr := redisAddr(t)
	prefix := redisPrefix(t, addr)
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	child := exec.Command(exe, "-test.run=^$")
	child.Env = append(os.Environ(), "WASM2M_PROCESS_TEST_SERVER="+strings.Join([]string{redisPlugin(t), addr, prefix}, " "))
	out, err := child.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	defer child.Process.Kill()
	line, err := bufio.NewReader(out).ReadString('\n')
	f := strings.Fields(line)
	if err != nil || len(f) != 2 || f[0] == "error" {
		t.Fatalf("server said %q, %v", line, err)
	}
	srvAddr := f[0]
	pluginPID, _ := strconv.Atoi(f[1])

	const devices = 40
	var (
		mu    sync.Mutex
		acked []string
		wg    sync.WaitGroup
	)
	killed := make(chan struct{})
	wg.Add(devices)
	go func() { // devices arrive in a steady stream, while the main goroutine kills the server
		for i := range devices {
			go func() {
				defer wg.Done()
				ep := fmt.Sprintf("urn:dev:load-%d", i)
				objs := []client.Object{
					stdobj.NewSecurity(stdobj.SecurityAccount{ServerURI: "coap://" + srvAddr, Mode: stdobj.SecurityNoSec, SSID: 1}),
					stdobj.NewServer(stdobj.ServerAccount{SSID: 1, Lifetime: 5 * time.Minute}),
					stdobj.NewDevice(stdobj.DeviceConfig{Manufacturer: "Acme", ModelNumber: "T-1", SerialNumber: ep}),
				}
				e, err := client.New(client.Config{Endpoint: ep, Objects: objs, Addr: "127.0.0.1:0", CloseTimeout: 50 * time.Millisecond})
				if err != nil {
					t.Error(err)
					return
				}
				// Closed after the kill: a Close before would de-register.
				defer func() { <-killed; e.Close() }()
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				defer cancel()
				if e.Start(ctx) != nil || e.WaitRegistered(ctx) != nil {
					return
				}
				select {
				case <-killed: // acknowledged, but perhaps after the kill: not counted
				default:
					mu.Lock()
					acked = append(acked, ep)
					mu.Unlock()
				}
			}()
			time.Sleep(10 * time.Millisecond)
		}
	}()
	for {
		mu.Lock()
		n := len(acked)
		mu.Unlock()
		if n >= devices/4 {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	if err := child.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	close(killed)
	counted := append([]string(nil), acked...)
	mu.Unlock()
	child.Wait()
	wg.Wait()
	// A new server's store: every acknowledged registration is there.
	st, _ := openRedis(t, addr, prefix, process.Config{})
	n, _ := st.CountRegistrations(context.Background())
	for _, ep := range counted {
		if _, err := st.RegistrationByEndpoint(context.Background(), ep); err != nil {
			t.Fatalf("acknowledged %s: %v", ep, err)
		}
	}
	t.Logf("%d registrations acknowledged before the kill, %d in Redis", len(counted), n)
	deadline := time.Now().Add(5 * time.Second)
	for alive(pluginPID) {
		if time.Now().After(deadline) {
			syscall.Kill(pluginPID, syscall.SIGKILL)
			t.Fatalf("the killed server's plugin process %d outlived it", pluginPID)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
