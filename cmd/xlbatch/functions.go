package main

import (
	"context"
	"fmt"
)

// runFunctions is a placeholder until its feature lands.
func runFunctions(ctx context.Context, m *Main, args []string) int {
	fmt.Fprintln(m.Stderr, "xlbatch: not implemented yet")
	return exitUsage
}
