package main

import (
	"context"
	"errors"
	"flag"
	"fmt"

	addin "github.com/xlbatch/xlbatch/excel-addin"
	"github.com/xlbatch/xlbatch/udf/server"
)

// runManifest prints the add-in manifest for a server URL, or writes it to
// a file: for sideloading against a server started elsewhere or on another
// port, without starting one.
func runManifest(ctx context.Context, m *Main, args []string) int {
	fs := flag.NewFlagSet("xlbatch manifest", flag.ContinueOnError)
	fs.SetOutput(m.Stderr)
	fs.Usage = func() {
		fmt.Fprintf(m.Stderr, "Usage: xlbatch manifest [--url URL] [-o FILE]\n\nPrints the Excel add-in manifest for a server.\n\nFlags:\n")
		fs.PrintDefaults()
	}
	base := fs.String("url", server.ManifestTemplateURL, "the server's base `URL`, as xlbatch serve prints it")
	out := fs.String("o", "", "write to `FILE` instead of standard output")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(m.Stderr, "xlbatch manifest: unexpected argument %q\n", fs.Arg(0))
		return exitUsage
	}
	b, err := server.Manifest(addin.Files, *base)
	if err != nil {
		fmt.Fprintf(m.Stderr, "xlbatch manifest: %v\n", err)
		return exitUsage
	}
	if *out == "" {
		m.Stdout.Write(b)
		return exitOK
	}
	if err := writeFileAtomic(*out, b); err != nil {
		fmt.Fprintf(m.Stderr, "xlbatch manifest: %v\n", err)
		return exitError
	}
	fmt.Fprintf(m.Stderr, "xlbatch: wrote %s for %s\n", *out, *base)
	return exitOK
}
