package main

import (
	"context"
	"fmt"
)

// runCall is a placeholder until its feature lands.
func runCall(ctx context.Context, m *Main, args []string) int {
	fmt.Fprintln(m.Stderr, "xlbatch: not implemented yet")
	return exitUsage
}
