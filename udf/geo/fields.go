package geo

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/xlbatch/xlbatch/geoapify"
	"github.com/xlbatch/xlbatch/udf"
)

// Fields lists the names GEOCODE and REVERSEGEOCODE accept, in the order
// their help shows them.
var Fields = []string{
	"lat", "lon", "latlon", "formatted", "address_line1", "address_line2",
	"city", "state", "postcode", "country", "country_code", "result_type",
	"confidence", "place_id", "source",
}

// fieldList is Fields as a message shows it.
var fieldList = strings.Join(Fields, ", ")

// field extracts one field from a result.
type field func(r *geoapify.Result) udf.Value

var fields = map[string]field{
	"lat":           func(r *geoapify.Result) udf.Value { return udf.Number(r.Lat) },
	"lon":           func(r *geoapify.Result) udf.Value { return udf.Number(r.Lon) },
	"latlon":        func(r *geoapify.Result) udf.Value { return udf.Text(FormatLatLon(r.Lat, r.Lon)) },
	"formatted":     func(r *geoapify.Result) udf.Value { return udf.Text(r.Formatted) },
	"address_line1": func(r *geoapify.Result) udf.Value { return udf.Text(r.AddressLine1) },
	"address_line2": func(r *geoapify.Result) udf.Value { return udf.Text(r.AddressLine2) },
	"city":          func(r *geoapify.Result) udf.Value { return udf.Text(r.City) },
	"state":         func(r *geoapify.Result) udf.Value { return udf.Text(r.State) },
	"postcode":      func(r *geoapify.Result) udf.Value { return udf.Text(r.Postcode) },
	"country":       func(r *geoapify.Result) udf.Value { return udf.Text(r.Country) },
	"country_code":  func(r *geoapify.Result) udf.Value { return udf.Text(strings.ToUpper(r.CountryCode)) },
	"result_type":   func(r *geoapify.Result) udf.Value { return udf.Text(r.ResultType) },
	"confidence":    func(r *geoapify.Result) udf.Value { return udf.Number(r.Rank.Confidence) },
	"place_id":      func(r *geoapify.Result) udf.Value { return udf.Text(r.PlaceID) },
	"source": func(r *geoapify.Result) udf.Value {
		if r.Datasource == nil {
			return udf.Text("")
		}
		return udf.Text(r.Datasource.Sourcename)
	},
}

// FormatLatLon writes a position as the "lat, lon" text of GEOCODE's latlon
// field, with no more digits than the coordinates carry.
func FormatLatLon(lat, lon float64) string {
	return strconv.FormatFloat(lat, 'f', -1, 64) + ", " + strconv.FormatFloat(lon, 'f', -1, 64)
}

// parseField resolves a field argument (case and surrounding spaces
// ignored; blank means def), or returns the #VALUE! listing valid names.
func parseField(fn string, v udf.Value, def string) (field, udf.Value) {
	name := strings.ToLower(strings.TrimSpace(v.Str()))
	if name == "" {
		name = def
	}
	if name == "" {
		return nil, udf.Errorf(udf.ErrValue, "%s argument field: missing; valid fields: %s", fn, fieldList)
	}
	f, ok := fields[name]
	if !ok {
		return nil, udf.Errorf(udf.ErrValue, "%s argument field: unknown field %q; valid fields: %s", fn, clip(v.Str()), fieldList)
	}
	return f, udf.Value{}
}

// parseCountry reads the optional country argument: blank for none, or an
// ISO 3166-1 alpha-2 code in any case.
func parseCountry(fn string, v udf.Value) (string, udf.Value) {
	c := strings.TrimSpace(v.Str())
	if c == "" {
		return "", udf.Value{}
	}
	if len(c) == 2 && isLetter(c[0]) && isLetter(c[1]) {
		if strings.EqualFold(c, "uk") {
			return "", udf.Errorf(udf.ErrValue, "%s argument country: %q is not an ISO 3166-1 alpha-2 code; the United Kingdom is GB", fn, c)
		}
		return strings.ToLower(c), udf.Value{}
	}
	return "", udf.Errorf(udf.ErrValue, "%s argument country: %q is not an ISO 3166-1 alpha-2 code such as GB, US or FR", fn, clip(c))
}

func isLetter(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }

// label quotes an address for a message, shortened when long.
func label(s string) string { return strconv.Quote(clip(strings.TrimSpace(s))) }

func pointLabel(lat, lon float64) string { return fmt.Sprintf("(%s)", FormatLatLon(lat, lon)) }

func clip(s string) string {
	const max = 60
	if r := []rune(s); len(r) > max {
		return string(r[:max]) + "…"
	}
	return s
}
