package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/xlbatch/xlbatch/batching"
)

// ErrNotFound is the answer for an id the endpoint does not know.
var ErrNotFound = errors.New("metadata: no such id")

// Client keeps the one-id-at-a-time signature callers already use, while
// the ids of concurrent calls travel together: at most 50 per request, and
// an id never waits more than maxWait for its request to fill up.
type Client struct {
	base    string
	http    *http.Client
	batcher *batching.Batcher[string, Metadata]
}

// NewClient returns a client of the metadata service at base.
func NewClient(base string, maxWait time.Duration) *Client {
	c := &Client{base: base, http: &http.Client{Timeout: 30 * time.Second}}
	c.batcher = batching.New(c.fetch, batching.Options[string, Metadata]{
		MaxBatch: maxIDsPerRequest, // never more ids than the endpoint takes
		MinBatch: maxIDsPerRequest, // wait for a full request…
		MaxWait:  maxWait,          // …but no longer than this
		// A failed request is worth another try; a missing id is an answer.
		Classify: func(err error) batching.Class {
			if errors.Is(err, ErrNotFound) {
				return batching.Definite
			}
			return batching.Retryable
		},
	})
	return c
}

// GetMetadata returns the metadata of one id: the function every caller
// keeps calling as before.
func (c *Client) GetMetadata(ctx context.Context, id string) (Metadata, error) {
	return c.batcher.Load(ctx, id)
}

// Close waits for the requests under way.
func (c *Client) Close(ctx context.Context) error { return c.batcher.Close(ctx) }

// fetch is the batch function: one request for up to 50 distinct ids.
func (c *Client) fetch(ctx context.Context, ids []string) ([]batching.Result[Metadata], error) {
	u := c.base + "/metadata?ids=" + url.QueryEscape(strings.Join(ids, ","))
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("metadata request: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("metadata request: %s", resp.Status)
	}
	var body struct{ Items []Metadata }
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		return nil, fmt.Errorf("metadata response: %w", err)
	}
	byID := make(map[string]Metadata, len(body.Items))
	for _, m := range body.Items {
		byID[m.ID] = m
	}
	out := make([]batching.Result[Metadata], len(ids))
	for i, id := range ids {
		if m, ok := byID[id]; ok {
			out[i].Value = m
		} else {
			out[i].Err = fmt.Errorf("%w: %q", ErrNotFound, id)
		}
	}
	return out, nil
}
