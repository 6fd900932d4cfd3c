package offline

import (
	"strconv"

	"github.com/xlbatch/xlbatch/geoapify"
	"github.com/xlbatch/xlbatch/geoapify/offline/internal/fold"
	"github.com/xlbatch/xlbatch/geoapify/offline/internal/gazetteer"
)

// Datasource credit fields, as GeoNames' licence asks.
const (
	SourceName  = "geonames"
	License     = "CC BY 4.0"
	Attribution = gazetteer.Attribution
)

// result renders city i in Geoapify's format=json shape.
func (ix *index) result(i int) geoapify.Result {
	c := &ix.data.Cities[i]
	country := &ix.data.Countries[c.Country]
	var state, stateCode string
	if c.Admin > 0 {
		state = ix.data.Admins[c.Admin-1].Name
		stateCode = ix.stateCode[c.Admin-1]
	}
	// Build the strings in two allocations: the address lines are the tail
	// of formatted, and the place id and URL share one buffer.
	var formatted string
	if state != "" && !sameName(state, c.Name) {
		// "Moscow, Russia", not "Moscow, Moscow, Russia".
		formatted = c.Name + ", " + state + ", " + country.Name
	} else {
		formatted = c.Name + ", " + country.Name
	}
	var buf [64]byte
	b := strconv.AppendUint(append(buf[:0], "geonames:"...), uint64(c.ID), 10)
	split := len(b)
	b = strconv.AppendUint(append(b, "https://www.geonames.org/"...), uint64(c.ID), 10)
	ids := string(b)
	return geoapify.Result{
		Lat:          ix.cities[i].lat,
		Lon:          ix.cities[i].lon,
		Formatted:    formatted,
		AddressLine1: c.Name,
		AddressLine2: formatted[len(c.Name)+2:],
		City:         c.Name,
		State:        state,
		StateCode:    stateCode,
		Country:      country.Name,
		CountryCode:  ix.countryCode[c.Country],
		ResultType:   "city",
		PlaceID:      ids[:split],
		Datasource: &geoapify.Datasource{
			Sourcename:  SourceName,
			Attribution: Attribution,
			License:     License,
			URL:         ids[split:],
		},
	}
}

// sameName reports whether two names fold to the same key ("Washington,
// D.C." and "Washington, D. C.").
func sameName(a, b string) bool {
	if a == b {
		return true
	}
	if a == "" || b == "" {
		return false
	}
	if a[0] < 0x80 && b[0] < 0x80 && a[0]|0x20 != b[0]|0x20 {
		return false // folding keeps an ASCII first letter, up to case
	}
	var ba, bb [64]byte
	return string(fold.Append(ba[:0], a)) == string(fold.Append(bb[:0], b))
}
