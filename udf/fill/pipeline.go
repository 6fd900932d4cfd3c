package fill

import "io"

// The two cores of a small machine are used by running decompression (on
// read) and compression (on write) in a goroutine beside the XML scanner,
// joined by a pipe: while the scanner works on one megabyte, the next is
// being inflated or the last deflated.

const pipeChunk = 1 << 20

// readAhead returns a reader of r's bytes that a goroutine fills ahead of
// the caller. stop ends the goroutine and waits for it; call it always.
func readAhead(r io.Reader) (rd io.Reader, stop func()) {
	pr, pw := io.Pipe()
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, pipeChunk)
		for {
			n, err := r.Read(buf)
			if n > 0 {
				if _, werr := pw.Write(buf[:n]); werr != nil {
					return // the reader stopped
				}
			}
			if err != nil {
				if err == io.EOF {
					err = nil
				}
				pw.CloseWithError(err)
				return
			}
		}
	}()
	return pr, func() {
		pr.Close()
		<-done
	}
}

// writeBehind returns a writer whose bytes a goroutine passes on to w.
// finish flushes and reports the first error of either side.
func writeBehind(w io.Writer) (wr io.Writer, finish func(error) error) {
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		buf := make([]byte, pipeChunk)
		_, err := io.CopyBuffer(onlyWriter{w}, pr, buf)
		pr.CloseWithError(err) // unblocks the writer if w failed
		done <- err
	}()
	return pw, func(werr error) error {
		pw.CloseWithError(werr)
		err := <-done
		if werr != nil {
			return werr
		}
		return err
	}
}

// onlyWriter hides any ReadFrom method so CopyBuffer uses its buffer.
type onlyWriter struct{ io.Writer }
