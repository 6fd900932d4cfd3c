package offline

import (
	"bufio"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/xlbatch/xlbatch/geoapify/offline/internal/gazetteer"
)

// geonamesDir finds the GeoNames dumps the embedded data was made from:
// $XLBATCH_GEONAMES_DIR (CI sets it). It returns "" when that does not hold
// the files.
func geonamesDir() string {
	dir := os.Getenv("XLBATCH_GEONAMES_DIR")
	if dir == "" {
		return ""
	}
	if _, err := os.Stat(filepath.Join(dir, gazetteer.CitiesFile)); err != nil {
		return ""
	}
	return dir
}

// refCity is a city as the reference data gives it.
type refCity struct {
	id         string
	name       string
	ascii      string
	lat, lon   float64
	country    string // ISO alpha-2
	admin1     string // GeoNames admin1 code
	population int
}

var (
	refOnce   sync.Once
	refCities []refCity
	refSource string
)

// referenceCities returns every city, read straight from cities15000.txt
// by this file's own parser when the dumps are at hand, so that expected
// coordinates do not come from the code under test; otherwise from the
// embedded file through the decoder, and says which in the log.
func referenceCities(t testing.TB) []refCity {
	t.Helper()
	refOnce.Do(func() {
		if dir := geonamesDir(); dir != "" {
			refCities, refSource = readCitiesFile(t, filepath.Join(dir, gazetteer.CitiesFile)), "GeoNames dump"
			return
		}
		d, err := gazetteer.Decode(embedded)
		if err != nil {
			t.Fatalf("decode embedded data: %v", err)
		}
		for _, c := range d.Cities {
			refCities = append(refCities, refCity{
				id: strconv.FormatUint(uint64(c.ID), 10), name: c.Name, ascii: c.Name,
				lat: float64(c.LatE5) / 1e5, lon: float64(c.LonE5) / 1e5,
				country: d.Countries[c.Country].ISO2, population: int(c.Population),
			})
			if c.Admin > 0 {
				refCities[len(refCities)-1].admin1 = d.Admins[c.Admin-1].Code
			}
		}
		refSource = "embedded file (set XLBATCH_GEONAMES_DIR to check against the dump)"
	})
	if len(refCities) == 0 {
		t.Fatal("no reference cities")
	}
	t.Logf("reference cities: %d from %s", len(refCities), refSource)
	return refCities
}

func readCitiesFile(t testing.TB, path string) []refCity {
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []refCity
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		col := strings.Split(sc.Text(), "\t")
		if len(col) < 15 {
			t.Fatalf("%s: short line %q", path, sc.Text())
		}
		lat, err1 := strconv.ParseFloat(col[4], 64)
		lon, err2 := strconv.ParseFloat(col[5], 64)
		pop, err3 := strconv.Atoi(col[14])
		if err1 != nil || err2 != nil || err3 != nil {
			t.Fatalf("%s: bad line %q", path, sc.Text())
		}
		ascii := col[2]
		if ascii == "" {
			ascii = col[1]
		}
		out = append(out, refCity{id: col[0], name: col[1], ascii: ascii, lat: lat, lon: lon,
			country: col[8], admin1: col[10], population: pop})
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}
