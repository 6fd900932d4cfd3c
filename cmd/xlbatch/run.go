package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "0.1.0-dev"

// Exit statuses shared by every command.
const (
	exitOK    = 0
	exitError = 1 // the work ran but some results are errors
	exitUsage = 2 // bad input: flags, arguments, files
)

// Main is the program: its streams and environment are fields so tests can
// run commands in-process.
type Main struct {
	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer
	Getenv func(string) string
}

// NewMain returns a Main on the process's streams and environment.
func NewMain() *Main {
	return &Main{Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr, Getenv: os.Getenv}
}

// command is one subcommand.
type command struct {
	name    string
	summary string
	run     func(ctx context.Context, m *Main, args []string) int
}

func commands() []command {
	return []command{
		{"serve", "serve the Excel add-in and its WebSocket on https://localhost:8765", runServe},
		{"fill", "compute a workbook's function cells and save the results in it", runFill},
		{"call", "call one function and print its result", runCall},
		{"functions", "list the functions (--json prints functions.json)", runFunctions},
		{"manifest", "print the add-in manifest for a server URL", runManifest},
		{"cache", "show or clear the geocoding cache (stats, clear)", runCache},
		{"fake-geoapify", "run a fake Geoapify API for demos and load tests", runFakeGeoapify},
		{"version", "print the version", runVersion},
	}
}

// Run runs the command named by args[0] and returns the exit status.
func (m *Main) Run(ctx context.Context, args []string) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		m.usage(m.Stdout)
		if len(args) == 0 {
			return exitUsage
		}
		return exitOK
	}
	if args[0] == "--version" || args[0] == "-version" {
		return runVersion(ctx, m, nil)
	}
	for _, c := range commands() {
		if c.name == args[0] {
			return c.run(ctx, m, args[1:])
		}
	}
	fmt.Fprintf(m.Stderr, "xlbatch: unknown command %q\n\n", args[0])
	m.usage(m.Stderr)
	return exitUsage
}

func (m *Main) usage(w io.Writer) {
	var b strings.Builder
	b.WriteString("xlbatch calls web APIs from spreadsheets, one cell at a time, in a few batch requests.\n\n")
	b.WriteString("Usage: xlbatch COMMAND [flags] [arguments]\n\nCommands:\n")
	for _, c := range commands() {
		fmt.Fprintf(&b, "  %-14s %s\n", c.name, c.summary)
	}
	b.WriteString("\nRun 'xlbatch COMMAND --help' for a command's flags.\n")
	b.WriteString("With GEOAPIFY_API_KEY set, geocoding uses Geoapify; otherwise an offline gazetteer (GeoNames, geonames.org) answers.\n")
	io.WriteString(w, b.String())
}

func runVersion(ctx context.Context, m *Main, args []string) int {
	fmt.Fprintf(m.Stdout, "xlbatch %s\n", version)
	return exitOK
}
