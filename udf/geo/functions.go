package geo

import (
	"context"
	"strings"

	"github.com/xlbatch/xlbatch/udf"
)

// HelpURL is where the functions' help links point.
const HelpURL = "https://github.com/xlbatch/xlbatch#functions"

var countryParam = udf.Param{
	Name: "country", Type: udf.TypeString, Dim: udf.Scalar, Optional: true,
	Description: "Only look in this country: an ISO 3166-1 alpha-2 code such as GB or US.",
}

// Register adds the GEO functions to r and the service's counters to r's
// statistics.
func (s *Service) Register(r *udf.Registry) error {
	fns := []udf.Function{
		{Spec: udf.Spec{
			Name:        "GEOLOCATE",
			Description: "Latitude and longitude of an address, as two cells [lat, lon]; given a range of addresses, one row per address.",
			HelpURL:     HelpURL,
			Params: []udf.Param{
				{Name: "address", Type: udf.TypeString, Dim: udf.Matrix, Description: "An address, or a range of addresses."},
				countryParam,
			},
			Result: udf.TypeAny, ResultDim: udf.Matrix, Cancelable: true,
		}, Invoke: s.geolocate},
		{Spec: udf.Spec{
			Name:        "GEOCODE",
			Description: "One field of an address's geocoding result: " + fieldList + ".",
			HelpURL:     HelpURL,
			Params: []udf.Param{
				{Name: "address", Type: udf.TypeString, Dim: udf.Scalar, Description: "The address to look up."},
				{Name: "field", Type: udf.TypeString, Dim: udf.Scalar, Description: "Which field: lat, lon, latlon, formatted, city, postcode, country_code, …"},
				countryParam,
			},
			Result: udf.TypeAny, ResultDim: udf.Scalar, Cancelable: true,
		}, Invoke: s.geocode},
		{Spec: udf.Spec{
			Name:        "REVERSEGEOCODE",
			Description: "The address at a position: its formatted address, or another field.",
			HelpURL:     HelpURL,
			Params: []udf.Param{
				{Name: "lat", Type: udf.TypeNumber, Dim: udf.Scalar, Description: "Latitude in degrees, -90 to 90."},
				{Name: "lon", Type: udf.TypeNumber, Dim: udf.Scalar, Description: "Longitude in degrees, -180 to 180."},
				{Name: "field", Type: udf.TypeString, Dim: udf.Scalar, Optional: true, Description: "Which field; formatted when omitted."},
			},
			Result: udf.TypeAny, ResultDim: udf.Scalar, Cancelable: true,
		}, Invoke: s.reverseGeocode},
		{Spec: udf.Spec{
			Name:        "GEODISTANCE",
			Description: "Great-circle distance between two positions, in km unless a unit is given; computed locally.",
			HelpURL:     HelpURL,
			Params: []udf.Param{
				{Name: "lat1", Type: udf.TypeNumber, Dim: udf.Scalar, Description: "Latitude of the first position."},
				{Name: "lon1", Type: udf.TypeNumber, Dim: udf.Scalar, Description: "Longitude of the first position."},
				{Name: "lat2", Type: udf.TypeNumber, Dim: udf.Scalar, Description: "Latitude of the second position."},
				{Name: "lon2", Type: udf.TypeNumber, Dim: udf.Scalar, Description: "Longitude of the second position."},
				{Name: "unit", Type: udf.TypeString, Dim: udf.Scalar, Optional: true, Description: "km (default), mi, m or nmi."},
			},
			Result: udf.TypeNumber, ResultDim: udf.Scalar,
		}, Invoke: geodistance},
	}
	for _, f := range fns {
		if err := r.Register(f); err != nil {
			return err
		}
	}
	r.AddStatsSource(s.addStats)
	return nil
}

// geolocate answers GEOLOCATE calls. All addresses of all calls are
// resolved in one go, so a range or a workbook costs few batches.
func (s *Service) geolocate(ctx context.Context, calls []udf.Invocation) []udf.Value {
	if len(calls) == 1 {
		if v, ok := s.geolocateCached(calls[0]); ok {
			return []udf.Value{v}
		}
	}
	out := make([]udf.Value, len(calls))
	done := make([]bool, len(calls))
	for i, c := range calls {
		out[i], done[i] = s.geolocateCached(c)
	}
	var ls []lookup[searchKey]
	type span struct {
		call, first int
		cells       []udf.Value // the address cells, row-major
	}
	spans := make([]span, 0, len(calls))
	for i, c := range calls {
		if done[i] {
			continue
		}
		country, bad := parseCountry("GEOLOCATE", c.Args[1])
		if bad.IsError() {
			out[i] = bad
			continue
		}
		sp := span{call: i, first: len(ls)}
		for _, row := range c.Args[0].Rows() {
			for _, cell := range row {
				sp.cells = append(sp.cells, cell)
				ls = append(ls, searchLookup(cell, country, c.Preview))
			}
		}
		spans = append(spans, sp)
	}
	res := s.resolveSearch(ctx, ls)
	for _, sp := range spans {
		rows := make([][]udf.Value, len(sp.cells))
		for j, cell := range sp.cells {
			switch {
			case cell.IsError():
				rows[j] = []udf.Value{cell, cell}
			case blank(cell):
				rows[j] = []udf.Value{udf.Empty(), udf.Empty()}
			case !res[sp.first+j].ok():
				f := res[sp.first+j].fail
				rows[j] = []udf.Value{f, f}
			default:
				r := res[sp.first+j].res
				rows[j] = []udf.Value{udf.Number(r.Lat), udf.Number(r.Lon)}
			}
		}
		// A single failing address answers with the error itself, so the
		// cell shows its message rather than a spill of two errors.
		if len(rows) == 1 && rows[0][0].IsError() {
			out[sp.call] = rows[0][0]
		} else {
			out[sp.call] = udf.Array(rows)
		}
	}
	return out
}

// geolocateCached is the fast path of a one-address call whose answer is
// in memory, the common case when a sheet recalculates: the cache key is
// built on the stack and nothing is copied. Anything else — a range, a
// miss, an odd argument — reports false and takes the general path.
func (s *Service) geolocateCached(c udf.Invocation) (udf.Value, bool) {
	rows := c.Args[0].Rows()
	if len(rows) != 1 || len(rows[0]) != 1 || rows[0][0].Kind() != udf.KindText {
		return udf.Value{}, false
	}
	var cc [2]byte
	country := cc[:0]
	if c := c.Args[1].Str(); c != "" {
		if len(c) != 2 || !isLetter(c[0]) || !isLetter(c[1]) || (c[0]|0x20 == 'u' && c[1]|0x20 == 'k') {
			return udf.Value{}, false // let the general path explain the problem
		}
		country = append(country, c[0]|0x20, c[1]|0x20) // ASCII lower case
	}
	var buf [160]byte
	key := appendSearchPrefix(buf[:0], s.scope, string(country))
	n := len(key)
	key = AppendNormalizedAddress(key, rows[0][0].Str())
	if len(key) == n {
		return udf.Value{}, false
	}
	e, ok := s.cache.LookupMemory(key)
	if !ok || e.Miss {
		return udf.Value{}, false
	}
	s.cacheHits.Add(1)
	return udf.Pair(udf.Number(e.Value.Lat), udf.Number(e.Value.Lon)), true
}

// geocode answers GEOCODE calls. A blank address gives a blank cell.
func (s *Service) geocode(ctx context.Context, calls []udf.Invocation) []udf.Value {
	out := make([]udf.Value, len(calls))
	done := make([]bool, len(calls))
	ls := make([]lookup[searchKey], len(calls))
	pick := make([]field, len(calls))
	for i, c := range calls {
		f, bad := parseField("GEOCODE", c.Args[1], "")
		var country string
		if !bad.IsError() {
			country, bad = parseCountry("GEOCODE", c.Args[2])
		}
		switch {
		case bad.IsError():
			out[i], done[i] = bad, true
		case blank(c.Args[0]):
			done[i] = true // out[i] stays blank
		}
		if done[i] {
			ls[i] = lookup[searchKey]{skip: true}
			continue
		}
		pick[i] = f
		ls[i] = searchLookup(c.Args[0], country, c.Preview)
	}
	pickFields(out, done, s.resolveSearch(ctx, ls), pick)
	return out
}

// resolveSearch resolves forward lookups.
func (s *Service) resolveSearch(ctx context.Context, ls []lookup[searchKey]) []outcome {
	return resolve(ctx, s, s.search, ls)
}

// searchLookup makes the lookup for one address cell. Blank cells and
// errors cost nothing: they are marked skip and their rows are filled by
// the caller; text that normalises to nothing is a no-match at no cost.
func searchLookup(cell udf.Value, country string, preview bool) lookup[searchKey] {
	if blank(cell) || cell.IsError() {
		return lookup[searchKey]{skip: true, preview: preview}
	}
	text := cell.Str()
	norm := NormalizeAddress(text)
	return lookup[searchKey]{
		key:     searchKey{Text: norm, Country: country},
		text:    text,
		skip:    norm == "",
		preview: preview,
	}
}

// blank reports a blank cell or text of spaces only.
func blank(v udf.Value) bool {
	return v.IsEmpty() || (v.Kind() == udf.KindText && strings.TrimSpace(v.Str()) == "")
}
