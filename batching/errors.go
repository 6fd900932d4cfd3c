package batching

import (
	"errors"
	"fmt"
)

// ErrClosed is returned by Load and LoadMany after Close has been called.
var ErrClosed = errors.New("batching: batcher is closed")

// ErrResultCount is the error given to every caller of a batch whose function
// returned a result slice of the wrong length.
var ErrResultCount = errors.New("batching: batch function returned the wrong number of results")

// PanicError is the error given to every caller of a batch whose function
// panicked. The batcher keeps serving other batches.
type PanicError struct {
	Value any    // what the function panicked with
	Stack []byte // the panicking goroutine's stack
}

// Error says that the batch function panicked, and with what.
func (e *PanicError) Error() string {
	return fmt.Sprintf("batching: batch function panicked: %v", e.Value)
}

// Unwrap returns the panic value when it is an error.
func (e *PanicError) Unwrap() error {
	err, _ := e.Value.(error)
	return err
}

// AttemptsError is returned for a key whose retryable error persisted until
// MaxAttempts or RetryDeadline ran out. It wraps the last error.
type AttemptsError struct {
	Attempts int
	Err      error
}

// Error says how many attempts were made and what the last one returned.
func (e *AttemptsError) Error() string {
	return fmt.Sprintf("batching: gave up after %d attempts: %v", e.Attempts, e.Err)
}

// Unwrap returns the last attempt's error.
func (e *AttemptsError) Unwrap() error { return e.Err }
