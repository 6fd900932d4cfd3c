package offline

import (
	"cmp"
	"slices"
	"strings"
	"testing"

	"github.com/xlbatch/xlbatch/geoapify"
)

// TestLargestCitiesByName: each of the 500 most populous cities is found
// within 1 km by its own name. A name shared by several cities means the
// most populous of them, so that one is asked for by name alone and the
// others by name plus country.
func TestLargestCitiesByName(t *testing.T) {
	all := referenceCities(t)
	g := Default()
	countryName := countryNames(t)

	// Namesakes: cities whose names match ignoring case.
	largest := map[string]int{} // lower-case name → population of the largest
	for _, c := range all {
		for _, n := range []string{strings.ToLower(c.name), strings.ToLower(c.ascii)} {
			largest[n] = max(largest[n], c.population)
		}
	}
	byPop := slices.Clone(all)
	slices.SortStableFunc(byPop, func(a, b refCity) int { return cmp.Compare(b.population, a.population) })

	qualified := 0
	for _, c := range byPop[:500] {
		for _, name := range uniq(c.name, c.ascii) {
			n := strings.ToLower(name)
			if c.population >= largest[n] {
				expectCity(t, g, name, "", c, "its own name")
				continue
			}
			qualified++
			expectCity(t, g, name+", "+countryName[c.country], "", c, "name and country")
			expectCity(t, g, name, c.country, c, "name with a country filter")
		}
	}
	if qualified == 0 {
		t.Error("no city among the 500 largest needed its country: the namesake rule went untested")
	}
}

func expectCity(t *testing.T, g *Geocoder, text, country string, want refCity, how string) {
	t.Helper()
	r, ok := g.Lookup(text, country)
	if !ok {
		t.Errorf("Lookup(%q, %q) [%s]: no match, want %s (%s)", text, country, how, want.name, want.country)
		return
	}
	if d := distanceKm(r.Lat, r.Lon, want.lat, want.lon); d > 1 {
		t.Errorf("Lookup(%q, %q) [%s] = %s (%.4f, %.4f), %.0f km from %s, %s",
			text, country, how, r.Formatted, r.Lat, r.Lon, d, want.name, want.country)
	}
}

// TestReverseEveryCity: the nearest city to each city's own coordinates is
// that city. Where GeoNames lists two places at identical coordinates,
// either is right (and the more populous is returned).
func TestReverseEveryCity(t *testing.T) {
	all := referenceCities(t)
	g := Default()
	at := map[[2]float64][]string{}
	for _, c := range all {
		k := [2]float64{c.lat, c.lon}
		at[k] = append(at[k], "geonames:"+c.id)
	}
	for _, c := range all {
		r, ok := g.Nearest(geoapify.Point{Lat: c.lat, Lon: c.lon})
		if !ok {
			t.Fatalf("Nearest(%v, %v): no result", c.lat, c.lon)
		}
		if !slices.Contains(at[[2]float64{c.lat, c.lon}], r.PlaceID) {
			t.Errorf("Nearest(%v, %v) = %s %s, want %s (geonames:%s)", c.lat, c.lon, r.PlaceID, r.Formatted, c.name, c.id)
		}
		if r.Distance > 1 {
			t.Errorf("Nearest(%v, %v): distance %v m, want 0", c.lat, c.lon, r.Distance)
		}
	}
}

func uniq(a, b string) []string {
	if a == b {
		return []string{a}
	}
	return []string{a, b}
}

// countryNames maps ISO alpha-2 codes to the GeoNames country names, which
// the queries of TestLargestCitiesByName append to a city's name.
func countryNames(t *testing.T) map[string]string {
	ix, err := defaultIndex()
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]string{}
	for _, c := range ix.data.Countries {
		m[c.ISO2] = c.Name
	}
	return m
}
