// Package cli implements the wasm2m command: its subcommands, flags and
// output. cmd/wasm2m is a thin wrapper around Main so that every command
// is testable in-process.
//
// cli may import core, host and plugins packages; nothing imports it but
// cmd/wasm2m.
package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"runtime"
	"runtime/debug"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/wasm2m/wasm2m/core/codec"
	"github.com/wasm2m/wasm2m/core/model"
	"github.com/wasm2m/wasm2m/core/objects"
)

// Version is the release this binary was built from; the build sets it
// with -ldflags "-X github.com/wasm2m/wasm2m/host/cli.Version=v0.1.0".
var Version = "dev"

type command struct {
	name  string
	usage string
	run   func(ctx context.Context, args []string, stdout, stderr io.Writer) error
}

func commands() []command {
	return []command{
		{"version", "print the version, the content formats and the built-in object definitions", runVersion},
		{"objects", "list object definitions: the built-ins plus any DDF files given with -ddf", runObjects},
		{"server", "run the LwM2M server (UDP :5683, embedded store in ./wasm2m-data)", runServer},
		{"bootstrap", "run the LwM2M bootstrap server (UDP :5783, DTLS :5784, configurations from -config, embedded store in ./wasm2m-bootstrap-data)", runBootstrap},
		{"client", "run a simulated device (or -devices N of them) with the built-in objects", runClient},
		{"load", "simulate many devices against a server and report rates, latencies and ratios to baselines", runLoad},
		{"plugin", "build a Go plugin for Wasm (plugin build <dir>) or inspect a .wasm plugin (plugin inspect <file>)", runPlugin},
	}
}

// errUsage reports a command line mistake; Main prints usage and exits 2.
var errUsage = errors.New("usage")

// Main runs the wasm2m command with args (without the program name) and
// returns the process exit status: 0 on success, 1 on failure, 2 on a
// usage error. With no arguments it runs "version".
func Main(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	name := "version"
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		name, args = args[0], args[1:]
	}
	if name == "help" || name == "-h" || name == "--help" {
		usage(stdout)
		return 0
	}
	for _, c := range commands() {
		if c.name != name {
			continue
		}
		err := c.run(ctx, args, stdout, stderr)
		switch {
		case err == nil:
			return 0
		case errors.Is(err, flag.ErrHelp):
			return 0
		case errors.Is(err, errUsage):
			fmt.Fprintf(stderr, "wasm2m %s: %v\n", name, err)
			return 2
		}
		fmt.Fprintf(stderr, "wasm2m %s: %v\n", name, err)
		return 1
	}
	fmt.Fprintf(stderr, "wasm2m: unknown command %q\n", name)
	usage(stderr)
	return 2
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: wasm2m <command> [flags]")
	fmt.Fprintln(w)
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-10s %s\n", c.name, c.usage)
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, `Run "wasm2m <command> -h" for a command's flags.`)
}

func newFlags(name string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("wasm2m "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	return fs
}

func parse(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%w: unexpected argument %q", errUsage, fs.Arg(0))
	}
	return nil
}

// versionString returns the version with the Go toolchain and, when the
// build recorded it, the VCS revision.
func versionString() string {
	s := "wasm2m " + Version + " (" + runtime.Version() + " " + runtime.GOOS + "/" + runtime.GOARCH
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, kv := range bi.Settings {
			if kv.Key == "vcs.revision" && len(kv.Value) >= 12 {
				s += " " + kv.Value[:12]
			}
		}
	}
	return s + ")"
}

func runVersion(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("version", stderr)
	if err := parse(fs, args); err != nil {
		return err
	}
	reg, err := objects.NewRegistry()
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, versionString())
	fmt.Fprintln(stdout)
	fmt.Fprintln(stdout, "content formats:")
	for _, f := range codec.Formats() {
		fmt.Fprintf(stdout, "  %5d  %-12s %s\n", uint16(f), f.Name(), f.MediaType())
	}
	fmt.Fprintln(stdout)
	fmt.Fprintf(stdout, "built-in object definitions (%d):\n", reg.Len())
	return printObjects(stdout, reg.All(), false)
}

func runObjects(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("objects", stderr)
	ddf := fs.String("ddf", "", "a folder of OMA DDF XML object definition files (or one file) to load")
	verbose := fs.Bool("v", false, "list every resource of every object")
	if err := parse(fs, args); err != nil {
		return err
	}
	reg, loaded, err := loadDefinitions(*ddf)
	if err != nil {
		return err
	}
	if *ddf == "" {
		fmt.Fprintf(stdout, "%d built-in object definitions\n", reg.Len())
	} else {
		fmt.Fprintf(stdout, "%d object definitions: %d built in, %d loaded from %s (a loaded definition replaces the built-in of the same id and version)\n",
			reg.Len(), len(objects.Core()), loaded, *ddf)
	}
	return printObjects(stdout, reg.All(), *verbose)
}

func cmp(s, alt string) string {
	if s == "" {
		return alt
	}
	return s
}

func printObjects(w io.Writer, defs []*model.ObjectDef, verbose bool) error {
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "  id\tversion\tinstances\tresources\tname")
	for _, d := range defs {
		inst := "single"
		if d.Multiple {
			inst = "multiple"
		}
		fmt.Fprintf(tw, "  %d\t%s\t%s\t%d\t%s\n", d.ID, d.Version, inst, len(d.Resources), d.Name)
		if !verbose {
			continue
		}
		for _, r := range d.Resources {
			flags := []string{}
			if r.Multiple {
				flags = append(flags, "multiple")
			}
			if r.Mandatory {
				flags = append(flags, "mandatory")
			}
			slices.Sort(flags)
			fmt.Fprintf(tw, "  \t\t%d\t%s %s\t%s %s\n", r.ID, cmp(r.Operations.String(), "-"), r.Type, r.Name, strings.Join(flags, ","))
		}
	}
	return tw.Flush()
}
