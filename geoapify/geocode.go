package geoapify

import (
	"context"
	"fmt"
	"math"
	"strings"
	"sync"
	"unicode/utf8"
)

// maxTextLen is the longest address text the API accepts.
const maxTextLen = 1024

// Search implements Geocoder. Identical queries are sent once. Queries are
// grouped by country (a batch job has one filter); a group smaller than
// Options.SingleThreshold is sent as parallel single-address requests, a
// larger one as batch jobs. A failure of one address (say a 429 on its own
// request) is that address's Outcome.Err; the returned error is set only when
// ctx ended or every group failed as a whole.
func (c *Client) Search(ctx context.Context, queries []Query) ([]Outcome, error) {
	type key struct{ country, text string }
	out := make([]Outcome, len(queries))
	owner := make([]int, len(queries)) // input → unique query, or -1 when answered already
	seen := make(map[key]int, len(queries))
	var uniq []key
	for i, q := range queries {
		owner[i] = -1
		text := strings.TrimSpace(q.Text)
		country := strings.ToLower(strings.TrimSpace(q.Country))
		switch {
		case text == "":
			out[i].Err = ErrNoMatch // nothing to look for; costs no request
			continue
		case utf8.RuneCountInString(text) > maxTextLen:
			out[i].Err = fmt.Errorf("geoapify: address longer than %d characters", maxTextLen)
			continue
		case country != "" && !isCountryCode(country):
			out[i].Err = fmt.Errorf("geoapify: country %q: want an ISO 3166-1 alpha-2 code such as \"us\"", q.Country)
			continue
		}
		k := key{country, text}
		u, ok := seen[k]
		if !ok {
			u = len(uniq)
			seen[k] = u
			uniq = append(uniq, k)
		}
		owner[i] = u
	}

	groups := map[string][]int{} // country → unique queries
	for u, k := range uniq {
		groups[k.country] = append(groups[k.country], u)
	}
	answers := make([]Outcome, len(uniq))
	err := c.answerGroups(ctx, groups, answers,
		func(ctx context.Context, u int) ([]Result, error) {
			return c.Geocode(ctx, SearchRequest{Text: uniq[u].text, Filter: countryFilter(uniq[u].country), Lang: c.opts.Lang, Limit: 1})
		},
		func(ctx context.Context, country string, us []int) ([]Outcome, error) {
			texts := make([]string, len(us))
			for i, u := range us {
				texts[i] = uniq[u].text
			}
			return c.BatchSearch(ctx, texts, BatchOptions{Lang: c.opts.Lang, Filter: countryFilter(country)})
		})
	if err != nil {
		return nil, err
	}
	for i, u := range owner {
		if u >= 0 {
			out[i] = answers[u]
		}
	}
	return out, nil
}

// Reverse implements Geocoder with the same rules as Search: identical points
// are sent once; few points go as single requests, many as batch jobs.
func (c *Client) Reverse(ctx context.Context, points []Point) ([]Outcome, error) {
	out := make([]Outcome, len(points))
	owner := make([]int, len(points))
	seen := make(map[Point]int, len(points))
	var uniq []Point
	for i, p := range points {
		owner[i] = -1
		if !validPoint(p) {
			out[i].Err = fmt.Errorf("geoapify: point (%g, %g): latitude must be within ±90 and longitude within ±180", p.Lat, p.Lon)
			continue
		}
		u, ok := seen[p]
		if !ok {
			u = len(uniq)
			seen[p] = u
			uniq = append(uniq, p)
		}
		owner[i] = u
	}
	all := make([]int, len(uniq))
	for u := range all {
		all[u] = u
	}
	answers := make([]Outcome, len(uniq))
	err := c.answerGroups(ctx, map[string][]int{"": all}, answers,
		func(ctx context.Context, u int) ([]Result, error) {
			return c.ReverseGeocode(ctx, ReverseRequest{Lat: uniq[u].Lat, Lon: uniq[u].Lon, Lang: c.opts.Lang, Limit: 1})
		},
		func(ctx context.Context, _ string, us []int) ([]Outcome, error) {
			ps := make([]Point, len(us))
			for i, u := range us {
				ps[i] = uniq[u]
			}
			return c.BatchReverse(ctx, ps, BatchOptions{Lang: c.opts.Lang})
		})
	if err != nil {
		return nil, err
	}
	for i, u := range owner {
		if u >= 0 {
			out[i] = answers[u]
		}
	}
	return out, nil
}

// answerGroups fills answers for every group concurrently: small groups by
// one request per item (at most Options.Parallel at a time), large groups by
// batch jobs. It returns an error only when ctx ended or when every group was
// sent as batch jobs and every one of them failed.
func (c *Client) answerGroups(ctx context.Context, groups map[string][]int, answers []Outcome,
	one func(ctx context.Context, u int) ([]Result, error),
	many func(ctx context.Context, group string, us []int) ([]Outcome, error),
) error {
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex // guards firstErr and wholeFailures
		firstErr error
		whole    int // groups that failed as a whole
		sem      = make(chan struct{}, c.opts.Parallel)
	)
	for name, us := range groups {
		if len(us) == 0 {
			continue
		}
		if len(us) < c.opts.SingleThreshold {
			for _, u := range us {
				wg.Go(func() {
					select {
					case sem <- struct{}{}:
					case <-ctx.Done():
						return
					}
					defer func() { <-sem }()
					rs, err := one(ctx, u)
					switch {
					case err != nil:
						answers[u].Err = err
					case len(rs) == 0:
						answers[u].Err = ErrNoMatch
					default:
						answers[u].Result = rs[0]
					}
				})
			}
			continue
		}
		wg.Go(func() {
			outs, err := many(ctx, name, us)
			if err != nil {
				mu.Lock()
				whole++
				if firstErr == nil {
					firstErr = err
				}
				mu.Unlock()
				for _, u := range us {
					answers[u].Err = err
				}
				return
			}
			for i, u := range us {
				answers[u] = outs[i]
			}
		})
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return err
	}
	if firstErr != nil && whole == countNonEmpty(groups) {
		return firstErr
	}
	return nil
}

func countNonEmpty(groups map[string][]int) int {
	n := 0
	for _, us := range groups {
		if len(us) > 0 {
			n++
		}
	}
	return n
}

// countryFilter is the filter restricting results to one country, or "".
func countryFilter(country string) string {
	if country == "" {
		return ""
	}
	return "countrycode:" + country
}

func isCountryCode(s string) bool {
	return len(s) == 2 && s[0] >= 'a' && s[0] <= 'z' && s[1] >= 'a' && s[1] <= 'z'
}

// validPoint reports whether p is a position on the globe.
func validPoint(p Point) bool {
	return !math.IsNaN(p.Lat) && !math.IsNaN(p.Lon) && p.Lat >= -90 && p.Lat <= 90 && p.Lon >= -180 && p.Lon <= 180
}
