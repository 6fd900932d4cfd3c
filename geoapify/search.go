package geoapify

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strconv"
)

// SearchRequest is one forward-geocoding request to /v1/geocode/search.
// Give either Text or structured fields, not both (the API refuses the mix).
type SearchRequest struct {
	Text string // free-text address

	// Structured address fields.
	Name, HouseNumber, Street, Postcode, City, State, Country string

	Lang   string // ISO 639-1 result language
	Type   string // country, state, city, postcode, street, amenity or locality
	Filter string // e.g. "countrycode:de,fr", "circle:lon,lat,metres"; join several with "|"
	Bias   string // e.g. "proximity:lon,lat"
	Limit  int    // results wanted, 1–100; 0 leaves the API's default (5)
}

// ReverseRequest is one reverse-geocoding request to /v1/geocode/reverse.
type ReverseRequest struct {
	Lat, Lon float64
	Lang     string
	Type     string
	Limit    int
}

// searchResponse is the format=json body of the single-address endpoints.
type searchResponse struct {
	Results []Result `json:"results"`
}

// errMixedQuery is returned for a SearchRequest with both text and structured fields.
var errMixedQuery = errors.New("geoapify: search: give either text or structured address fields, not both")

// errEmptyQuery is returned for a SearchRequest with neither.
var errEmptyQuery = errors.New("geoapify: search: empty address")

// Geocode calls GET /v1/geocode/search with format=json and returns its
// results, best first. No match is an empty slice and a nil error.
func (c *Client) Geocode(ctx context.Context, r SearchRequest) ([]Result, error) {
	q := url.Values{}
	structured := false
	for _, f := range []struct{ k, v string }{
		{"name", r.Name}, {"housenumber", r.HouseNumber}, {"street", r.Street},
		{"postcode", r.Postcode}, {"city", r.City}, {"state", r.State}, {"country", r.Country},
	} {
		if f.v != "" {
			q.Set(f.k, f.v)
			structured = true
		}
	}
	switch {
	case r.Text != "" && structured:
		return nil, errMixedQuery
	case r.Text == "" && !structured:
		return nil, errEmptyQuery
	case r.Text != "":
		q.Set("text", r.Text)
	}
	setOptional(q, "lang", r.Lang)
	setOptional(q, "type", r.Type)
	setOptional(q, "filter", r.Filter)
	setOptional(q, "bias", r.Bias)
	if r.Limit != 0 {
		q.Set("limit", strconv.Itoa(r.Limit))
	}
	q.Set("format", "json")
	return c.single(ctx, "search", "/v1/geocode/search", q)
}

// ReverseGeocode calls GET /v1/geocode/reverse with format=json and returns
// the places at or near the point, nearest first.
func (c *Client) ReverseGeocode(ctx context.Context, r ReverseRequest) ([]Result, error) {
	q := url.Values{}
	q.Set("lat", strconv.FormatFloat(r.Lat, 'f', -1, 64))
	q.Set("lon", strconv.FormatFloat(r.Lon, 'f', -1, 64))
	setOptional(q, "lang", r.Lang)
	setOptional(q, "type", r.Type)
	if r.Limit != 0 {
		q.Set("limit", strconv.Itoa(r.Limit))
	}
	q.Set("format", "json")
	return c.single(ctx, "reverse", "/v1/geocode/reverse", q)
}

func (c *Client) single(ctx context.Context, op, path string, q url.Values) ([]Result, error) {
	c.stats.singles.Add(1)
	resp, err := c.do(ctx, op, http.MethodGet, path, q, nil)
	if err != nil {
		return nil, err
	}
	if resp.status != http.StatusOK {
		return nil, c.apiError(op, resp)
	}
	var body searchResponse
	if err := json.Unmarshal(resp.body, &body); err != nil {
		return nil, &MalformedError{Op: op, Status: resp.status, Err: err}
	}
	if body.Results == nil {
		// A 200 without a results array is not the documented shape.
		return nil, &MalformedError{Op: op, Status: resp.status, Err: errors.New(`no "results" array`)}
	}
	return body.Results, nil
}

func setOptional(q url.Values, k, v string) {
	if v != "" {
		q.Set(k, v)
	}
}
