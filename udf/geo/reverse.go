package geo

import (
	"context"
	"math"
	"strings"

	"github.com/xlbatch/xlbatch/udf"
)

// reverseGeocode answers REVERSEGEOCODE calls.
func (s *Service) reverseGeocode(ctx context.Context, calls []udf.Invocation) []udf.Value {
	out := make([]udf.Value, len(calls))
	done := make([]bool, len(calls))
	ls := make([]lookup[reverseKey], len(calls))
	pick := make([]field, len(calls))
	for i, c := range calls {
		lat, lon := c.Args[0].Num(), c.Args[1].Num()
		f, bad := parseField("REVERSEGEOCODE", c.Args[2], "formatted")
		if !bad.IsError() {
			bad = checkPoint("REVERSEGEOCODE", "lat", "lon", lat, lon)
		}
		if bad.IsError() {
			out[i], done[i] = bad, true
			ls[i] = lookup[reverseKey]{skip: true}
			continue
		}
		pick[i] = f
		ls[i] = lookup[reverseKey]{key: roundPoint(lat, lon), preview: c.Preview}
	}
	pickFields(out, done, resolve(ctx, s, s.reverse, ls), pick)
	return out
}

// checkPoint returns #VALUE! naming the argument when a coordinate is out
// of range.
func checkPoint(fn, latName, lonName string, lat, lon float64) udf.Value {
	if math.IsNaN(lat) || lat < -90 || lat > 90 {
		return udf.Errorf(udf.ErrValue, "%s argument %s: %s is not a latitude (-90 to 90)", fn, latName, udf.Number(lat).Display())
	}
	if math.IsNaN(lon) || lon < -180 || lon > 180 {
		return udf.Errorf(udf.ErrValue, "%s argument %s: %s is not a longitude (-180 to 180)", fn, lonName, udf.Number(lon).Display())
	}
	return udf.Value{}
}

// EarthRadiusKm is the mean Earth radius (IUGG), used for great-circle
// distances.
const EarthRadiusKm = 6371.0088

// units maps GEODISTANCE's unit names to kilometres per unit.
var units = map[string]float64{
	"km":  1,
	"m":   0.001,
	"mi":  1.609344,
	"nmi": 1.852,
}

// Distance returns the great-circle distance in kilometres between two
// positions given in degrees (haversine formula).
func Distance(lat1, lon1, lat2, lon2 float64) float64 {
	const rad = math.Pi / 180
	dLat := (lat2 - lat1) * rad
	dLon := (lon2 - lon1) * rad
	a := math.Sin(dLat/2)*math.Sin(dLat/2) + math.Cos(lat1*rad)*math.Cos(lat2*rad)*math.Sin(dLon/2)*math.Sin(dLon/2)
	return 2 * EarthRadiusKm * math.Asin(math.Min(1, math.Sqrt(a)))
}

// geodistance answers GEODISTANCE calls; nothing leaves the machine.
func geodistance(ctx context.Context, calls []udf.Invocation) []udf.Value {
	out := make([]udf.Value, len(calls))
	for i, c := range calls {
		unit := strings.ToLower(strings.TrimSpace(c.Args[4].Str()))
		if unit == "" {
			unit = "km"
		}
		per, ok := units[unit]
		if !ok {
			out[i] = udf.Errorf(udf.ErrValue, "GEODISTANCE argument unit: unknown unit %q; valid units: km, mi, m, nmi", clip(c.Args[4].Str()))
			continue
		}
		lat1, lon1, lat2, lon2 := c.Args[0].Num(), c.Args[1].Num(), c.Args[2].Num(), c.Args[3].Num()
		if bad := checkPoint("GEODISTANCE", "lat1", "lon1", lat1, lon1); bad.IsError() {
			out[i] = bad
			continue
		}
		if bad := checkPoint("GEODISTANCE", "lat2", "lon2", lat2, lon2); bad.IsError() {
			out[i] = bad
			continue
		}
		out[i] = udf.Number(Distance(lat1, lon1, lat2, lon2) / per)
	}
	return out
}
