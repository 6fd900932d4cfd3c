// Command xlbatch serves spreadsheet functions to Excel and fills workbooks
// without it. main only wires signals; Main does the work so tests can run the
// real program in-process.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	m := NewMain()
	os.Exit(m.Run(ctx, os.Args[1:]))
}
