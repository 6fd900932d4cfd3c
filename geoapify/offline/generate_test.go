package offline

import (
	"bytes"
	"testing"

	"github.com/xlbatch/xlbatch/geoapify/offline/internal/gazetteer"
)

// TestEmbeddedDataIsRegenerated: the embedded file is exactly what the
// generator makes from the GeoNames dumps, so it is reproducible and not
// stale (a change to the folding or the format without `go generate`
// fails here).
func TestEmbeddedDataIsRegenerated(t *testing.T) {
	dir := geonamesDir()
	if dir == "" {
		t.Skip("GeoNames dumps not found: set XLBATCH_GEONAMES_DIR to the directory holding " +
			gazetteer.CitiesFile + " (.ci/run sets it; the test runs in CI)")
	}
	got, err := gazetteer.Build(dir)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, embedded) {
		t.Fatalf("regenerated data (%d bytes) differs from the embedded cities.bin (%d bytes): run go generate ./geoapify/offline with GEONAMES_DIR=%s", len(got), len(embedded), dir)
	}
}

// TestEmbeddedDataCredits: the embedded file carries GeoNames' credit.
func TestEmbeddedDataCredits(t *testing.T) {
	d, err := gazetteer.Decode(embedded)
	if err != nil {
		t.Fatal(err)
	}
	if d.Attribution != "GeoNames, geonames.org" {
		t.Errorf("attribution %q", d.Attribution)
	}
	if len(d.Cities) < 20000 || len(d.Countries) < 240 || len(d.Admins) < 3800 {
		t.Errorf("suspiciously small: %d cities, %d countries, %d divisions", len(d.Cities), len(d.Countries), len(d.Admins))
	}
}
