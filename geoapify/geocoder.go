// Package geoapify is a client for the Geoapify geocoding API, and the
// provider-neutral types the GEO functions use.
package geoapify

import (
	"context"
	"errors"
)

// ErrNoMatch reports that the provider answered and found nothing: a definite answer.
var ErrNoMatch = errors.New("no match")

// Query is one forward-geocoding request.
type Query struct {
	Text    string // free-text address
	Country string // optional ISO 3166-1 alpha-2 filter, lower case
}

// Point is a WGS84 position.
type Point struct{ Lat, Lon float64 }

// Outcome answers one query: a Result, or Err (ErrNoMatch, or a provider error).
type Outcome struct {
	Result Result
	Err    error
}

// Geocoder answers many queries at once. Implementations return one Outcome
// per input, in input order, or an error that fails every input.
type Geocoder interface {
	// Name identifies the provider in cache keys and messages: "geoapify", "offline".
	Name() string
	Search(ctx context.Context, queries []Query) ([]Outcome, error)
	Reverse(ctx context.Context, points []Point) ([]Outcome, error)
}

// Result is one geocoding result in Geoapify's format=json shape.
type Result struct {
	Lat          float64     `json:"lat"`
	Lon          float64     `json:"lon"`
	Formatted    string      `json:"formatted,omitempty"`
	AddressLine1 string      `json:"address_line1,omitempty"`
	AddressLine2 string      `json:"address_line2,omitempty"`
	Name         string      `json:"name,omitempty"`
	HouseNumber  string      `json:"housenumber,omitempty"`
	Street       string      `json:"street,omitempty"`
	City         string      `json:"city,omitempty"`
	County       string      `json:"county,omitempty"`
	State        string      `json:"state,omitempty"`
	StateCode    string      `json:"state_code,omitempty"`
	Postcode     string      `json:"postcode,omitempty"`
	Country      string      `json:"country,omitempty"`
	CountryCode  string      `json:"country_code,omitempty"`
	ResultType   string      `json:"result_type,omitempty"`
	PlaceID      string      `json:"place_id,omitempty"`
	Rank         Rank        `json:"rank"`
	Datasource   *Datasource `json:"datasource,omitempty"`
	Distance     float64     `json:"distance,omitempty"`
}

// Rank holds Geoapify's match-quality figures (0–1).
type Rank struct {
	Importance float64 `json:"importance,omitempty"`
	Confidence float64 `json:"confidence"`
	MatchType  string  `json:"match_type,omitempty"`
}

// Datasource credits where a result came from.
type Datasource struct {
	Sourcename  string `json:"sourcename,omitempty"`
	Attribution string `json:"attribution,omitempty"`
	License     string `json:"license,omitempty"`
	URL         string `json:"url,omitempty"`
}
