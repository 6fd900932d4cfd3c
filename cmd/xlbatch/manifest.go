package main

import (
	"context"
	"fmt"
)

// runManifest is a placeholder until its feature lands.
func runManifest(ctx context.Context, m *Main, args []string) int {
	fmt.Fprintln(m.Stderr, "xlbatch: not implemented yet")
	return exitUsage
}
