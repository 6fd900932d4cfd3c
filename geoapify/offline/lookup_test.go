package offline

import (
	"errors"
	"testing"
)

// TestLookup covers the forms a query takes. Expectations are facts about
// the places (which country and state a city is in, roughly where it is),
// not outputs of the code.
func TestLookup(t *testing.T) {
	tests := []struct {
		name     string
		text     string
		country  string  // filter
		city     string  // want city, as GeoNames spells it ("" to skip)
		state    string  // want state ("" to skip)
		cc       string  // want country_code
		lat, lon float64 // want within 30 km of this
	}{
		// Folding of case, punctuation and diacritics.
		{"upper case", "PARIS", "", "Paris", "", "fr", 48.857, 2.352},
		{"diacritics missing from query", "Zurich", "", "Zürich", "", "ch", 47.377, 8.540},
		{"diacritics only in query", "Tōkyō", "", "Tokyo", "", "jp", 35.690, 139.692},
		{"diacritics dropped", "Sao Paulo", "", "São Paulo", "", "br", -23.550, -46.633},
		{"umlaut in upper case", "MÜNCHEN", "", "München", "", "de", 48.137, 11.575},
		{"sharp s", "GIESSEN", "", "Gießen", "", "de", 50.587, 8.667},
		{"stroke letters", "Lodz", "", "Łódź", "", "pl", 51.759, 19.456},
		{"punctuation", "...los   angeles!!!", "", "Los Angeles", "California", "us", 34.052, -118.244},
		{"apostrophe", "Ra’s al Khaymah", "", "", "", "ae", 25.79, 55.94},
		{"saint abbreviation", "St. Louis, MO", "", "", "Missouri", "us", 38.627, -90.199},
		// Alternate names.
		{"former name", "Bombay", "", "Mumbai", "", "in", 19.076, 72.878},
		{"other script", "Москва", "", "Moscow", "", "ru", 55.756, 37.617},
		{"short form", "NYC", "", "New York City", "New York", "us", 40.713, -74.006},
		{"name in the local language", "Köln", "", "", "", "de", 50.938, 6.960},
		// Namesakes: the most populous, unless the text names where.
		{"bare namesake", "Paris", "", "Paris", "", "fr", 48.857, 2.352},
		{"US state code", "Paris, TX", "", "Paris", "Texas", "us", 33.661, -95.556},
		{"US state name", "Paris Texas", "", "Paris", "Texas", "us", 33.661, -95.556},
		{"province code", "London, ON", "", "London", "Ontario", "ca", 42.984, -81.246},
		{"country name", "London, Canada", "", "London", "Ontario", "ca", 42.984, -81.246},
		{"state codes pick", "Portland, ME", "", "Portland", "Maine", "us", 43.661, -70.255},
		{"state codes pick 2", "Portland, OR", "", "Portland", "Oregon", "us", 45.515, -122.679},
		{"region and country", "Valencia, Carabobo, Venezuela", "", "Valencia", "", "ve", 10.162, -68.008},
		{"country abbreviation", "Valencia, ES", "", "Valencia", "", "es", 39.470, -0.377},
		{"country alias USA", "Birmingham, USA", "", "Birmingham", "Alabama", "us", 33.521, -86.802},
		{"country alias UK", "Birmingham UK", "", "Birmingham", "England", "gb", 52.481, -1.900},
		{"Australian state", "Perth WA", "", "Perth", "Western Australia", "au", -31.952, 115.861},
		{"Scotland", "Perth, Scotland", "", "Perth", "Scotland", "gb", 56.396, -3.437},
		{"postcode after state", "Springfield, IL 62701", "", "Springfield", "Illinois", "us", 39.802, -89.644},
		// The country filter.
		{"filter picks namesake", "Paris", "us", "Paris", "Texas", "us", 33.661, -95.556},
		{"filter in upper case", "London", "CA", "London", "Ontario", "ca", 42.984, -81.246},
		// Street addresses: the city inside.
		{"street address", "10 Downing Street, London SW1A 2AA, United Kingdom", "", "London", "England", "gb", 51.507, -0.128},
		{"street named after a city", "Madison Avenue, New York", "", "New York City", "", "us", 40.713, -74.006},
		{"rue", "12 Rue de la Paix, 75002 Paris, France", "", "Paris", "", "fr", 48.857, 2.352},
		{"words that are codes", "Museum of Art in Philadelphia", "", "Philadelphia", "Pennsylvania", "us", 39.952, -75.164},
	}
	g := Default()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, ok := g.Lookup(tt.text, tt.country)
			if !ok {
				t.Fatalf("Lookup(%q, %q): no match", tt.text, tt.country)
			}
			if tt.city != "" && r.City != tt.city {
				t.Errorf("city %q, want %q (%s)", r.City, tt.city, r.Formatted)
			}
			if tt.state != "" && r.State != tt.state {
				t.Errorf("state %q, want %q (%s)", r.State, tt.state, r.Formatted)
			}
			if r.CountryCode != tt.cc {
				t.Errorf("country_code %q, want %q (%s)", r.CountryCode, tt.cc, r.Formatted)
			}
			if d := distanceKm(r.Lat, r.Lon, tt.lat, tt.lon); d > 30 {
				t.Errorf("%s at (%.3f, %.3f) is %.0f km from (%.3f, %.3f)", r.Formatted, r.Lat, r.Lon, d, tt.lat, tt.lon)
			}
		})
	}
}

func TestLookupMisses(t *testing.T) {
	tests := []struct{ name, text, country string }{
		{"empty", "", ""},
		{"blank", "   \t\n ", ""},
		{"punctuation only", ",.;-!?", ""},
		{"gibberish", "qwxz plorbnik vvvtrm", ""},
		{"gibberish word", "zzzzqqq", ""},
		{"numbers only", "12345 678", ""},
		{"street words only", "Main Street", ""},
		{"a country is not a city", "Germany", ""},
		{"a state is not a city", "California", ""},
		{"filtered out", "Tokyo", "fr"},
		{"unknown filter", "Paris", "zz"},
		{"filter not alpha-2", "Paris", "FRA"},
		{"short name inside text", "the man in the hat", ""},
	}
	g := Default()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if r, ok := g.Lookup(tt.text, tt.country); ok {
				t.Errorf("Lookup(%q, %q) = %s, want no match", tt.text, tt.country, r.Formatted)
			}
		})
	}
}

func TestCandidatesBadCountry(t *testing.T) {
	for _, cc := range []string{"zz", "FRA", "f", "1"} {
		if _, err := Default().Candidates("Paris", Options{Country: cc}); !errors.Is(err, ErrBadCountry) {
			t.Errorf("Candidates with country %q: error %v, want ErrBadCountry", cc, err)
		}
	}
}

func TestCandidatesRanked(t *testing.T) {
	rs, err := Default().Candidates("Springfield", Options{Limit: 5})
	if err != nil {
		t.Fatal(err)
	}
	if len(rs) != 5 {
		t.Fatalf("got %d candidates, want 5 (there are more Springfields than that)", len(rs))
	}
	seen := map[string]bool{}
	for i, r := range rs {
		if seen[r.PlaceID] {
			t.Errorf("candidate %d repeats %s", i, r.PlaceID)
		}
		seen[r.PlaceID] = true
		if i > 0 && r.Rank.Confidence > rs[i-1].Rank.Confidence {
			t.Errorf("candidate %d (%s) is more confident than candidate %d", i, r.Formatted, i-1)
		}
	}
}

// TestConfidence: a bare name scores higher than an alternate name, which
// scores higher than a city picked out of a street address; an ambiguous
// name less than an unambiguous one.
func TestConfidence(t *testing.T) {
	conf := func(text string) float64 {
		r, ok := Default().Lookup(text, "")
		if !ok {
			t.Fatalf("Lookup(%q): no match", text)
		}
		return r.Rank.Confidence
	}
	exact, alt, inside := conf("Mumbai"), conf("Bombay"), conf("221B Baker St, London")
	if exact != 1 {
		t.Errorf("exact name: confidence %v, want 1", exact)
	}
	if !(alt < exact && alt >= 0.8) {
		t.Errorf("alternate name: confidence %v, want in [0.8, %v)", alt, exact)
	}
	if !(inside < alt && inside >= 0.3) {
		t.Errorf("city inside an address: confidence %v, want in [0.3, %v)", inside, alt)
	}
	// Hyderabad, India and Hyderabad, Pakistan are of similar size.
	if c := conf("Hyderabad"); c >= exact {
		t.Errorf("ambiguous name: confidence %v, want below %v", c, exact)
	}
	if c := conf("Hyderabad, India"); c != 1 {
		t.Errorf("name with country: confidence %v, want 1", c)
	}
}
