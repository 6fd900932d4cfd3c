package main

import (
	"context"
	"fmt"
)

// runServe is a placeholder until its feature lands.
func runServe(ctx context.Context, m *Main, args []string) int {
	fmt.Fprintln(m.Stderr, "xlbatch: not implemented yet")
	return exitUsage
}
