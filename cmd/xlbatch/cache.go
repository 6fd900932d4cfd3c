package main

import (
	"context"
	"fmt"
)

// runCache is a placeholder until its feature lands.
func runCache(ctx context.Context, m *Main, args []string) int {
	fmt.Fprintln(m.Stderr, "xlbatch: not implemented yet")
	return exitUsage
}
