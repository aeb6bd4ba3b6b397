package procplugin

import (
	"io"
	"log/slog"
	"os"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-plugin"
)

// stderr is the process's real standard error, which the host reads and
// re-logs line by line through its own slog logger, tagged with the
// plugin's id. go-plugin's Serve replaces os.Stderr with a pipe of its
// own; Logger writes here, before and after Serve.
var stderr = os.Stderr

// Logger returns a logger for a plugin's own messages: JSON lines on the
// process's standard error, which the host re-logs at their level with the
// plugin's id. Anything else written to standard error is re-logged too,
// one line per message, at level info.
func Logger() *slog.Logger {
	return slog.New(slog.NewJSONHandler(stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// parentPoll is how often a plugin checks that its host is still there.
const parentPoll = 200 * time.Millisecond

// Serve serves h as a process plugin until the host stops it, then closes
// h if h is an io.Closer, and returns. It connects Host, the process's
// connection to the host's host calls. It never returns when the host goes
// away without stopping it (killed): the process exits, with status 3.
// A program that a wasm2m host did not start prints a message and exits
// with status 1 (go-plugin's handshake).
func Serve(h Handler) {
	go watchParent(os.Getppid(), func() { os.Exit(3) })
	plugin.Serve(&plugin.ServeConfig{
		HandshakeConfig: Handshake,
		Plugins:         plugin.PluginSet{PluginName: &GRPCPlugin{Impl: h, Host: processHost}},
		GRPCServer:      plugin.DefaultGRPCServer,
		Logger: hclog.New(&hclog.LoggerOptions{
			Name: "go-plugin", Level: hclog.Warn, Output: stderr, JSONFormat: true,
		}),
	})
	if c, ok := h.(io.Closer); ok {
		if err := c.Close(); err != nil {
			Logger().Error("close", "err", err)
		}
	}
	processHost.Close()
}

// watchParent calls gone once the process's parent is no longer ppid: the
// host died and the process was handed to init or a subreaper. go-plugin
// gives the plugin the host's own standard input, whose end says nothing
// about the host, so the parent is what tells.
func watchParent(ppid int, gone func()) {
	for {
		time.Sleep(parentPoll)
		if os.Getppid() != ppid {
			gone()
			return
		}
	}
}
