package main

import (
	"context"
	"fmt"
)

// runFill is a placeholder until its feature lands.
func runFill(ctx context.Context, m *Main, args []string) int {
	fmt.Fprintln(m.Stderr, "xlbatch: not implemented yet")
	return exitUsage
}
