package offline

import "testing"

// TestSeedAddresses: the ten street addresses of the article xlbatch grew
// from resolve within 25 km of the place they name. The coordinates are the
// landmarks' own, as any map gives them, not the city centres the offline
// data holds: the test measures what a user would see.
func TestSeedAddresses(t *testing.T) {
	tests := []struct {
		address  string
		lat, lon float64 // the landmark
		country  string
	}{
		{"1600 Pennsylvania Avenue Washington DC", 38.8977, -77.0365, "us"}, // the White House
		{"11 Wall Street New York", 40.7069, -74.0113, "us"},                // New York Stock Exchange
		{"350 Fifth Avenue New York", 40.7484, -73.9857, "us"},              // Empire State Building
		{"221B Baker St London", 51.5238, -0.1586, "gb"},                    // Sherlock Holmes Museum
		{"Tour Eiffel Paris", 48.8584, 2.2945, "fr"},                        // Eiffel Tower
		{"4059 Mt Lee Dr. Hollywood CA", 34.1341, -118.3215, "us"},          // Hollywood Sign
		{"Buckingham Palace London", 51.5014, -0.1419, "gb"},
		{"Statue of Liberty New York", 40.6892, -74.0445, "us"},
		{"Manger Square Bethlehem West Bank", 31.7043, 35.2075, "ps"},
		{"2 Macquarie Street Sydney", -33.8599, 151.2127, "au"}, // by the Opera House
	}
	g := Default()
	for _, tt := range tests {
		t.Run(tt.address, func(t *testing.T) {
			r, ok := g.Lookup(tt.address, "")
			if !ok {
				t.Fatalf("no match")
			}
			if d := distanceKm(r.Lat, r.Lon, tt.lat, tt.lon); d > 25 {
				t.Errorf("got %s (%.4f, %.4f), %.1f km away; want within 25 km", r.Formatted, r.Lat, r.Lon, d)
			}
			if r.CountryCode != tt.country {
				t.Errorf("country_code %q, want %q", r.CountryCode, tt.country)
			}
			// The city was found inside a longer text: the confidence must
			// say so rather than claim a full match.
			if r.Rank.Confidence >= 0.95 || r.Rank.Confidence <= 0 {
				t.Errorf("confidence %v, want in (0, 0.95) for a city found inside an address", r.Rank.Confidence)
			}
		})
	}
}
