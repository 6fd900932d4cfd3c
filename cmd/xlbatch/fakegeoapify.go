package main

import (
	"context"
	"fmt"
)

// runFakeGeoapify is a placeholder until its feature lands.
func runFakeGeoapify(ctx context.Context, m *Main, args []string) int {
	fmt.Fprintln(m.Stderr, "xlbatch: not implemented yet")
	return exitUsage
}
