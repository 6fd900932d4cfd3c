// Package offline geocodes to city level from embedded GeoNames data
// (GeoNames, geonames.org, CC BY 4.0).
//
// PLACEHOLDER: the exported API is the contract; the real index replaces the bodies.
package offline

import (
	"context"

	"github.com/xlbatch/xlbatch/geoapify"
)

// Geocoder answers from the embedded gazetteer. It is safe for concurrent use.
type Geocoder struct{}

// Default returns the shared Geocoder over the embedded data, loading it on first use.
func Default() *Geocoder { return &Geocoder{} }

// Name implements geoapify.Geocoder.
func (g *Geocoder) Name() string { return "offline" }

// Lookup resolves one address; country is an optional ISO alpha-2 filter.
func (g *Geocoder) Lookup(text, country string) (geoapify.Result, bool) {
	return geoapify.Result{}, false
}

// Nearest returns the city nearest to p.
func (g *Geocoder) Nearest(p geoapify.Point) (geoapify.Result, bool) {
	return geoapify.Result{}, false
}

// Search implements geoapify.Geocoder.
func (g *Geocoder) Search(ctx context.Context, qs []geoapify.Query) ([]geoapify.Outcome, error) {
	out := make([]geoapify.Outcome, len(qs))
	for i, q := range qs {
		r, ok := g.Lookup(q.Text, q.Country)
		if !ok {
			out[i].Err = geoapify.ErrNoMatch
			continue
		}
		out[i].Result = r
	}
	return out, nil
}

// Reverse implements geoapify.Geocoder.
func (g *Geocoder) Reverse(ctx context.Context, ps []geoapify.Point) ([]geoapify.Outcome, error) {
	out := make([]geoapify.Outcome, len(ps))
	for i, p := range ps {
		r, ok := g.Nearest(p)
		if !ok {
			out[i].Err = geoapify.ErrNoMatch
			continue
		}
		out[i].Result = r
	}
	return out, nil
}
