// Package offline geocodes to city level from embedded GeoNames data, with
// no network and no API key: the default provider of the GEO functions.
//
// Data: GeoNames (GeoNames, geonames.org), licensed under Creative Commons
// Attribution 4.0 (CC BY 4.0). The embedded file cities.bin is compacted
// from the GeoNames dumps cities15000.txt, countryInfo.txt and
// admin1CodesASCII.txt (https://download.geonames.org/export/dump/) by
// internal/gen; regenerate it with
//
//	GEONAMES_DIR=path/to/geonames go generate ./geoapify/offline
//
// Every result credits GeoNames in its datasource.
//
// Forward lookups accept a city name, "City, Region", "City, Country", US
// state, Canadian and Australian province abbreviations, country names,
// ISO codes and common names ("USA", "UK"), and a street address, of which
// the city is used. Case, punctuation and diacritics are ignored. Among
// namesakes the most populous wins unless the text names a region or
// country. Reverse lookups return the nearest city.
//
// The data is decoded and indexed once per process, on first use, in some
// tens of milliseconds; after that a lookup takes a few microseconds.
package offline

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"

	"github.com/xlbatch/xlbatch/geoapify"
)

// Geocoder answers from the embedded gazetteer. It is safe for concurrent
// use; all Geocoders share one copy of the data, loaded on first use.
type Geocoder struct{}

// Default returns the shared Geocoder over the embedded data, loading it on first use.
func Default() *Geocoder { return &Geocoder{} }

// Name implements geoapify.Geocoder.
func (g *Geocoder) Name() string { return "offline" }

// Options refine a forward lookup.
type Options struct {
	// Country restricts results to one country: an ISO 3166-1 alpha-2
	// code in either case, or "" for anywhere.
	Country string
	// Limit is the most results Candidates returns; 0 means 1.
	Limit int
}

// ErrBadCountry reports a country filter that is not a known ISO 3166-1
// alpha-2 code.
var ErrBadCountry = errors.New("country filter must be an ISO 3166-1 alpha-2 code")

// Lookup resolves one address; country is an optional ISO alpha-2 filter.
// It reports false when nothing matches, and for an unknown country code.
func (g *Geocoder) Lookup(text, country string) (geoapify.Result, bool) {
	var one [1]geoapify.Result // stays on the stack: no slice to allocate
	rs, err := g.find(text, Options{Country: country, Limit: 1}, one[:0])
	if err != nil || len(rs) == 0 {
		return geoapify.Result{}, false
	}
	return rs[0], true
}

// Candidates returns the cities text may mean, best first, at most
// opts.Limit of them; none when nothing matches. The first carries the
// confidence Lookup would give it; each other one a lower figure that
// falls with how far its score is below the first's.
func (g *Geocoder) Candidates(text string, opts Options) ([]geoapify.Result, error) {
	return g.find(text, opts, nil)
}

func (g *Geocoder) find(text string, opts Options, dst []geoapify.Result) ([]geoapify.Result, error) {
	ix, err := defaultIndex()
	if err != nil {
		return nil, err
	}
	filter := int32(-1)
	if opts.Country != "" {
		i, ok := ix.countryOf[strings.ToUpper(opts.Country)]
		if len(opts.Country) != 2 || !ok {
			return nil, fmt.Errorf("%w: %q", ErrBadCountry, opts.Country)
		}
		filter = int32(i)
	}
	m := matchers.Get().(*matcher)
	defer matchers.Put(m)
	cands, conf, full := ix.match(m, text, filter, opts.Limit)
	for k, c := range cands {
		r := ix.result(c.city)
		r.Rank.Confidence = conf
		// Geoapify's names: the whole text matched, or only its city
		// (spelled as Geoapify spells it).
		r.Rank.MatchType = "match_by_city_or_disrict"
		if full && k == 0 {
			r.Rank.MatchType = "full_match"
		}
		if k > 0 {
			// Below the winner's, by how far below it scored: a tenfold
			// score gap (one unit) costs a factor of about three.
			r.Rank.Confidence = math.Round(max(0.01, conf*math.Pow(10, (c.score-cands[0].score)/2))*100) / 100
		}
		dst = append(dst, r)
	}
	return dst, nil
}

// Nearest returns the city nearest to p. It reports false for a point off
// the globe (latitude beyond ±90°, longitude beyond ±180°, NaN).
func (g *Geocoder) Nearest(p geoapify.Point) (geoapify.Result, bool) {
	ix, err := defaultIndex()
	if err != nil || !validPoint(p) {
		return geoapify.Result{}, false
	}
	i := ix.tree.nearest(p.Lat, p.Lon)
	r := ix.result(i)
	d := distanceKm(p.Lat, p.Lon, r.Lat, r.Lon)
	r.Distance = math.Round(d * 1000)
	// A city-level answer is as good as the point is close to the city:
	// full confidence within 1 km, falling to 0.1 at 50 km and beyond.
	r.Rank.Confidence = math.Round(max(0.1, min(1, 1-0.9*(d-1)/49))*100) / 100
	return r, true
}

func validPoint(p geoapify.Point) bool {
	return p.Lat >= -90 && p.Lat <= 90 && p.Lon >= -180 && p.Lon <= 180
}

// Search implements geoapify.Geocoder. A query with an unknown country
// code gets an error outcome saying so.
func (g *Geocoder) Search(ctx context.Context, qs []geoapify.Query) ([]geoapify.Outcome, error) {
	if _, err := defaultIndex(); err != nil {
		return nil, err
	}
	out := make([]geoapify.Outcome, len(qs))
	var buf []geoapify.Result
	for i, q := range qs {
		if i%1024 == 0 {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
		}
		rs, err := g.find(q.Text, Options{Country: q.Country, Limit: 1}, buf[:0])
		switch {
		case err != nil:
			out[i].Err = err
		case len(rs) == 0:
			out[i].Err = geoapify.ErrNoMatch
		default:
			out[i].Result = rs[0]
		}
		buf = rs
	}
	return out, nil
}

// Reverse implements geoapify.Geocoder. A point off the globe gets an error
// outcome saying so.
func (g *Geocoder) Reverse(ctx context.Context, ps []geoapify.Point) ([]geoapify.Outcome, error) {
	if _, err := defaultIndex(); err != nil {
		return nil, err
	}
	out := make([]geoapify.Outcome, len(ps))
	for i, p := range ps {
		if i%1024 == 0 {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
		}
		r, ok := g.Nearest(p)
		if !ok {
			out[i].Err = fmt.Errorf("offline reverse geocoding: invalid point (%g, %g)", p.Lat, p.Lon)
			continue
		}
		out[i].Result = r
	}
	return out, nil
}
