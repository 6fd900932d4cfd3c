package geoapify

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"
)

// BatchOptions are the query parameters shared by every address of a batch job.
type BatchOptions struct {
	Lang   string
	Type   string
	Filter string // search only, e.g. "countrycode:de"
	Bias   string // search only
}

// batchItem is one element of a finished job's top-level array: a flattened
// result plus the echoed "query", which the client does not need (results
// map to inputs by position). An item holding only "query" is a miss.
type batchItem struct {
	Result
}

// matched reports whether the item carries a result. Geoapify's schema
// requires only "query", so a miss has no position, name or type at all.
func (it *batchItem) matched() bool {
	return it.Lat != 0 || it.Lon != 0 || it.Formatted != "" || it.ResultType != "" || it.PlaceID != ""
}

// pendingJob is the 202 body of a submit or a poll.
type pendingJob struct {
	ID     string `json:"id"`
	Status string `json:"status"`
}

// BatchSearch geocodes texts with /v1/batch/geocode/search, in jobs of at
// most Options.MaxJobSize addresses run concurrently. It returns one Outcome
// per text, in order: a Result, ErrNoMatch, or the error that failed that
// text's job. The error is non-nil only when every job failed or ctx ended,
// or when a text is empty or longer than 1024 characters (the API would
// refuse the whole job for it); then nothing is sent.
func (c *Client) BatchSearch(ctx context.Context, texts []string, o BatchOptions) ([]Outcome, error) {
	for i, t := range texts {
		if strings.TrimSpace(t) == "" || utf8.RuneCountInString(t) > maxTextLen {
			return nil, fmt.Errorf("geoapify: batch search: address %d is empty or longer than %d characters", i, maxTextLen)
		}
	}
	q := url.Values{}
	setOptional(q, "lang", o.Lang)
	setOptional(q, "type", o.Type)
	setOptional(q, "filter", o.Filter)
	setOptional(q, "bias", o.Bias)
	return c.batch(ctx, "/v1/batch/geocode/search", q, len(texts), func(lo, hi int) ([]byte, error) {
		return json.Marshal(texts[lo:hi])
	})
}

// BatchReverse reverse-geocodes points with /v1/batch/geocode/reverse; the
// outcomes follow the rules of BatchSearch. A point off the globe fails the
// call before anything is sent.
func (c *Client) BatchReverse(ctx context.Context, points []Point, o BatchOptions) ([]Outcome, error) {
	for i, p := range points {
		if !validPoint(p) {
			return nil, fmt.Errorf("geoapify: batch reverse: point %d (%g, %g): latitude must be within ±90 and longitude within ±180", i, p.Lat, p.Lon)
		}
	}
	q := url.Values{}
	setOptional(q, "lang", o.Lang)
	setOptional(q, "type", o.Type)
	return c.batch(ctx, "/v1/batch/geocode/reverse", q, len(points), func(lo, hi int) ([]byte, error) {
		var b bytes.Buffer
		b.WriteByte('[')
		for i, p := range points[lo:hi] {
			if i > 0 {
				b.WriteByte(',')
			}
			// The endpoint takes [lon, lat] pairs.
			b.WriteByte('[')
			b.WriteString(strconv.FormatFloat(p.Lon, 'f', -1, 64))
			b.WriteByte(',')
			b.WriteString(strconv.FormatFloat(p.Lat, 'f', -1, 64))
			b.WriteByte(']')
		}
		b.WriteByte(']')
		return b.Bytes(), nil
	})
}

// batch splits n inputs into jobs, runs them concurrently and maps their
// results back by position.
func (c *Client) batch(ctx context.Context, path string, q url.Values, n int, encode func(lo, hi int) ([]byte, error)) ([]Outcome, error) {
	out := make([]Outcome, n)
	if n == 0 {
		return out, nil
	}
	q.Set("format", "json")
	if c.opts.Priority != 0 {
		q.Set("priority", strconv.FormatFloat(c.opts.Priority, 'f', -1, 64))
	}
	size := c.opts.MaxJobSize
	jobs := (n + size - 1) / size
	errs := make([]error, jobs)
	var wg sync.WaitGroup
	for j := range jobs {
		lo, hi := j*size, min((j+1)*size, n)
		body, err := encode(lo, hi)
		if err != nil {
			errs[j] = fmt.Errorf("geoapify: encode batch: %w", err)
			continue
		}
		wg.Go(func() {
			items, err := c.runJob(ctx, path, q, body, hi-lo)
			if err != nil {
				errs[j] = err
				return
			}
			for i := range items {
				o := &out[lo+i]
				if items[i].matched() {
					o.Result = items[i].Result
				} else {
					o.Err = ErrNoMatch
				}
			}
		})
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	failed := 0
	for j, err := range errs {
		if err == nil {
			continue
		}
		failed++
		lo, hi := j*size, min((j+1)*size, n)
		for i := lo; i < hi; i++ {
			out[i] = Outcome{Err: err}
		}
	}
	if failed == jobs {
		return nil, errs[0]
	}
	return out, nil
}

// runJob submits one job and polls it to the end, resubmitting it once if it
// expires before its results are read.
func (c *Client) runJob(ctx context.Context, path string, q url.Values, body []byte, n int) ([]batchItem, error) {
	for attempt := 0; ; attempt++ {
		items, id, err := c.submit(ctx, path, q, body, n)
		if err != nil || items != nil {
			return items, err
		}
		items, err = c.poll(ctx, path, q, id, n)
		if errors.Is(err, ErrJobExpired) && attempt == 0 && ctx.Err() == nil {
			c.stats.resubmits.Add(1)
			c.log.Warn().Str("job", id).Int("size", n).Msg("geoapify batch job expired before its results were read; resubmitting once")
			continue
		}
		return items, err
	}
}

// submit posts a job. It returns the results when the server finished the
// job at once (200), or the id of the pending job (202).
func (c *Client) submit(ctx context.Context, path string, q url.Values, body []byte, n int) ([]batchItem, string, error) {
	const op = "submit batch job"
	resp, err := c.do(ctx, op, http.MethodPost, path, cloneValues(q), body)
	if err != nil {
		return nil, "", err
	}
	switch resp.status {
	case http.StatusOK:
		c.stats.jobs.Add(1)
		items, err := decodeItems(op, resp, n)
		return items, "", err
	case http.StatusAccepted:
		var p pendingJob
		if err := json.Unmarshal(resp.body, &p); err != nil || p.ID == "" {
			if err == nil {
				err = errors.New(`no job "id"`)
			}
			return nil, "", &MalformedError{Op: op, Status: resp.status, Err: err}
		}
		c.stats.jobs.Add(1)
		c.log.Debug().Str("job", p.ID).Int("size", n).Msg("geoapify batch job submitted")
		return nil, p.ID, nil
	default:
		return nil, "", c.apiError(op, resp)
	}
}

// poll waits for job id with a growing interval until it is done, the job
// times out, or ctx ends. Transient failures are retried in place, up to
// MaxPollFailures in a row: the job is already paid for, so polling again
// is cheaper than submitting again.
func (c *Client) poll(ctx context.Context, path string, q url.Values, id string, n int) ([]batchItem, error) {
	op := "poll batch job " + id
	ctx, cancel := context.WithTimeoutCause(ctx, c.opts.JobTimeout, ErrJobTimeout)
	defer cancel()
	start := time.Now()
	delay := c.opts.PollInterval
	failures := 0
	var lastErr error
	for polls := 1; ; polls++ {
		if err := sleep(ctx, delay); err != nil {
			return nil, c.jobContextError(ctx, op, lastErr)
		}
		pq := cloneValues(q)
		pq.Set("id", id)
		c.stats.polls.Add(1)
		resp, err := c.do(ctx, op, http.MethodGet, path, pq, nil)
		if err == nil {
			switch resp.status {
			case http.StatusOK:
				var items []batchItem
				items, err = decodeItems(op, resp, n)
				if err == nil {
					c.log.Debug().Str("job", id).Int("size", n).Int("polls", polls).
						Dur("took", time.Since(start)).Msg("geoapify batch job done")
					return items, nil
				}
			case http.StatusAccepted:
				failures, lastErr = 0, nil
				delay = min(delay*3/2, c.opts.PollMaxInterval)
				continue
			case http.StatusNotFound:
				return nil, fmt.Errorf("geoapify: %s: %w", op, ErrJobExpired)
			default:
				err = c.apiError(op, resp)
			}
		}
		if ctx.Err() != nil {
			return nil, c.jobContextError(ctx, op, err)
		}
		if !Retryable(err) {
			return nil, err
		}
		failures++
		lastErr = err
		if failures > c.opts.MaxPollFailures {
			return nil, err
		}
		var ae *APIError
		if errors.As(err, &ae) && ae.RetryAfter() > delay {
			delay = ae.RetryAfter()
		}
		c.log.Debug().Str("job", id).Int("failures", failures).Err(err).Msg("geoapify poll failed; polling again")
	}
}

// jobContextError tells the job timeout (the client's own limit, recorded
// as the context's cause) from the caller's context ending.
func (c *Client) jobContextError(ctx context.Context, op string, last error) error {
	if !errors.Is(context.Cause(ctx), ErrJobTimeout) {
		return ctx.Err()
	}
	if last != nil {
		return fmt.Errorf("geoapify: %s: %w (last failure: %v)", op, ErrJobTimeout, last)
	}
	return fmt.Errorf("geoapify: %s: %w", op, ErrJobTimeout)
}

// decodeItems reads a finished job's top-level array and checks that it has
// one item per input, so results can be mapped by position.
func decodeItems(op string, resp response, n int) ([]batchItem, error) {
	// Unmarshal appends into the slice it is given: room for n items spares
	// the copies of a growing slice.
	items := make([]batchItem, 0, n)
	if err := json.Unmarshal(resp.body, &items); err != nil {
		return nil, &MalformedError{Op: op, Status: resp.status, Err: err}
	}
	if len(items) != n {
		return nil, &MalformedError{Op: op, Status: resp.status,
			Err: fmt.Errorf("%d results for %d addresses", len(items), n)}
	}
	return items, nil
}

func cloneValues(q url.Values) url.Values {
	c := make(url.Values, len(q)+2)
	for k, v := range q {
		c[k] = v
	}
	return c
}
