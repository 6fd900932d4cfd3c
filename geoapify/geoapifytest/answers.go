package geoapifytest

import (
	"encoding/json"
	"fmt"
	"hash/fnv"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/xlbatch/xlbatch/geoapify"
)

// structuredFields are the structured address parameters, in address order.
var structuredFields = []string{"name", "housenumber", "street", "postcode", "city", "state", "country"}

// queryEcho is the "query" object Geoapify echoes in answers.
type queryEcho struct {
	Text   string         `json:"text,omitempty"`
	Lat    *float64       `json:"lat,omitempty"`
	Lon    *float64       `json:"lon,omitempty"`
	Parsed map[string]any `json:"parsed,omitempty"`
}

// item is a batch result: the flattened result plus the query.
type item struct {
	geoapify.Result
	Query queryEcho `json:"query"`
}

// missItem is a batch result for no match: only the query.
type missItem struct {
	Query queryEcho `json:"query"`
}

// forwardKey identifies a forward lookup in the answer cache.
type forwardKey struct{ text, country string }

// lookup resolves text, trying each country of a countrycode filter in turn.
func (s *Server) lookup(text string, countries []string) (geoapify.Result, bool) {
	if len(countries) == 0 {
		countries = []string{""}
	}
	for _, c := range countries {
		if r, ok := s.opts.Lookup(text, c); ok {
			return complete(r), true
		}
	}
	return geoapify.Result{}, false
}

// nearest resolves a point and sets the result's distance from it.
func (s *Server) nearest(p geoapify.Point) (geoapify.Result, bool) {
	r, ok := s.opts.Nearest(p)
	if !ok {
		return r, false
	}
	r = complete(r)
	r.Distance = math.Round(haversineMetres(p, geoapify.Point{Lat: r.Lat, Lon: r.Lon}))
	return r, true
}

// complete gives a result a stable place_id when its source has none, as
// every Geoapify result has one.
func complete(r geoapify.Result) geoapify.Result {
	if r.PlaceID == "" {
		h := fnv.New64a()
		fmt.Fprintf(h, "%s|%.6f|%.6f", r.Formatted, r.Lat, r.Lon)
		r.PlaceID = fmt.Sprintf("51%016x", h.Sum64())
	}
	return r
}

// forwardItem renders the batch item for one address, cached: answers are
// deterministic, and a large job repeats the work of earlier ones.
func (s *Server) forwardItem(text string, countries []string) []byte {
	k := forwardKey{text, strings.Join(countries, ",")}
	if b, ok := s.forward.Load(k); ok {
		return b.([]byte)
	}
	echo := queryEcho{Text: text, Parsed: map[string]any{"expected_type": "unknown"}}
	var b []byte
	if r, ok := s.lookup(text, countries); ok {
		b, _ = json.Marshal(item{Result: r, Query: echo})
	} else {
		b, _ = json.Marshal(missItem{Query: echo})
	}
	s.forward.Store(k, b)
	return b
}

// reverseItem renders the batch item for one point, cached.
func (s *Server) reverseItem(p geoapify.Point) []byte {
	if b, ok := s.reverse.Load(p); ok {
		return b.([]byte)
	}
	lat, lon := p.Lat, p.Lon
	echo := queryEcho{Lat: &lat, Lon: &lon}
	var b []byte
	if r, ok := s.nearest(p); ok {
		b, _ = json.Marshal(item{Result: r, Query: echo})
	} else {
		b, _ = json.Marshal(missItem{Query: echo})
	}
	s.reverse.Store(p, b)
	return b
}

// serveSearch answers GET /v1/geocode/search.
func (s *Server) serveSearch(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	text := q.Get("text")
	var parts []string
	var present []string
	for _, f := range structuredFields {
		if v := q.Get(f); v != "" {
			parts = append(parts, v)
			present = append(present, f)
		}
	}
	switch {
	case text != "" && len(present) > 0:
		writeError(w, http.StatusBadRequest, fmt.Sprintf("\"text\" must not exist simultaneously with [%s]", strings.Join(present, ", ")))
		return
	case text == "" && len(present) == 0:
		writeError(w, http.StatusBadRequest, "\"value\" must contain at least one of [text, name, housenumber, street, postcode, city, state, country]")
		return
	case text == "":
		text = strings.Join(parts, ", ")
	}
	if len([]rune(text)) > 1024 {
		writeError(w, http.StatusBadRequest, "\"text\" length must be less than or equal to 1024 characters long")
		return
	}
	limit, ok := parseLimit(w, q)
	if !ok {
		return
	}
	format, ok := parseFormat(w, q)
	if !ok {
		return
	}
	countries := filterCountries(q.Get("filter"))
	var results []geoapify.Result
	if res, found := s.lookup(text, countries); found && limit > 0 {
		results = append(results, res)
	}
	s.charge(1, 1)
	echo := queryEcho{Text: text, Parsed: map[string]any{"expected_type": "unknown"}}
	writeAnswer(w, format, results, echo)
}

// serveReverse answers GET /v1/geocode/reverse.
func (s *Server) serveReverse(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	lat, ok := parseCoord(w, q, "lat", 90)
	if !ok {
		return
	}
	lon, ok := parseCoord(w, q, "lon", 180)
	if !ok {
		return
	}
	limit, ok := parseLimit(w, q)
	if !ok {
		return
	}
	format, ok := parseFormat(w, q)
	if !ok {
		return
	}
	var results []geoapify.Result
	if res, found := s.nearest(geoapify.Point{Lat: lat, Lon: lon}); found && limit > 0 {
		results = append(results, res)
	}
	s.charge(1, 1)
	writeAnswer(w, format, results, queryEcho{Lat: &lat, Lon: &lon})
}

// charge bills answered addresses.
func (s *Server) charge(addresses int, credits float64) {
	s.mu.Lock()
	s.counters.AddressesCharged += addresses
	s.counters.Credits += credits
	s.mu.Unlock()
}

// writeAnswer writes single-endpoint results as format=json or geojson.
func writeAnswer(w http.ResponseWriter, format string, results []geoapify.Result, echo queryEcho) {
	if format == "json" {
		if results == nil {
			results = []geoapify.Result{}
		}
		writeJSON(w, http.StatusOK, struct {
			Results []geoapify.Result `json:"results"`
			Query   queryEcho         `json:"query"`
		}{results, echo})
		return
	}
	type geometry struct {
		Type        string     `json:"type"`
		Coordinates [2]float64 `json:"coordinates"`
	}
	type feature struct {
		Type       string          `json:"type"`
		Properties geoapify.Result `json:"properties"`
		Geometry   geometry        `json:"geometry"`
	}
	features := make([]feature, len(results))
	for i, r := range results {
		features[i] = feature{"Feature", r, geometry{"Point", [2]float64{r.Lon, r.Lat}}}
	}
	writeJSON(w, http.StatusOK, struct {
		Type     string    `json:"type"`
		Features []feature `json:"features"`
		Query    queryEcho `json:"query"`
	}{"FeatureCollection", features, echo})
}

// parseLimit reads limit (1–100, default 5), answering 400 when it is bad.
func parseLimit(w http.ResponseWriter, q url.Values) (int, bool) {
	v := q.Get("limit")
	if v == "" {
		return 5, true
	}
	n, err := strconv.Atoi(v)
	switch {
	case err != nil:
		writeError(w, http.StatusBadRequest, "\"limit\" must be a number")
	case n < 1:
		writeError(w, http.StatusBadRequest, "\"limit\" must be greater than or equal to 1")
	case n > 100:
		writeError(w, http.StatusBadRequest, "\"limit\" must be less than or equal to 100")
	default:
		return n, true
	}
	return 0, false
}

// parseFormat reads format; geojson is the API's default. The fake does not
// render xml.
func parseFormat(w http.ResponseWriter, q url.Values) (string, bool) {
	switch f := q.Get("format"); f {
	case "", "geojson":
		return "geojson", true
	case "json":
		return "json", true
	case "xml":
		writeError(w, http.StatusNotImplemented, "the fake Geoapify answers json and geojson only")
	default:
		writeError(w, http.StatusBadRequest, "\"format\" must be one of [json, geojson, xml]")
	}
	return "", false
}

// parseCoord reads a required latitude or longitude within ±bound.
func parseCoord(w http.ResponseWriter, q url.Values, name string, bound float64) (float64, bool) {
	v := q.Get(name)
	if v == "" {
		writeError(w, http.StatusBadRequest, fmt.Sprintf("%q is required", name))
		return 0, false
	}
	f, err := strconv.ParseFloat(v, 64)
	switch {
	case err != nil || math.IsNaN(f):
		writeError(w, http.StatusBadRequest, fmt.Sprintf("%q must be a number", name))
	case f < -bound:
		writeError(w, http.StatusBadRequest, fmt.Sprintf("%q must be greater than or equal to %g", name, -bound))
	case f > bound:
		writeError(w, http.StatusBadRequest, fmt.Sprintf("%q must be less than or equal to %g", name, bound))
	default:
		return f, true
	}
	return 0, false
}

// filterCountries extracts the codes of a "countrycode:de,fr" filter, which
// may be one of several joined by "|".
func filterCountries(filter string) []string {
	for _, part := range strings.Split(filter, "|") {
		codes, ok := strings.CutPrefix(part, "countrycode:")
		if !ok || codes == "none" || codes == "auto" {
			continue
		}
		var out []string
		for _, c := range strings.Split(codes, ",") {
			if c = strings.ToLower(strings.TrimSpace(c)); c != "" {
				out = append(out, c)
			}
		}
		return out
	}
	return nil
}

// haversineMetres is the great-circle distance between two points.
func haversineMetres(a, b geoapify.Point) float64 {
	const earthRadius = 6371008.8
	rad := math.Pi / 180
	dLat := (b.Lat - a.Lat) * rad
	dLon := (b.Lon - a.Lon) * rad
	h := math.Sin(dLat/2)*math.Sin(dLat/2) + math.Cos(a.Lat*rad)*math.Cos(b.Lat*rad)*math.Sin(dLon/2)*math.Sin(dLon/2)
	return 2 * earthRadius * math.Asin(math.Min(1, math.Sqrt(h)))
}
