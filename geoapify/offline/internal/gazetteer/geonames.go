package gazetteer

import (
	"bufio"
	"cmp"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/xlbatch/xlbatch/geoapify/offline/internal/fold"
)

// The GeoNames files Build reads, as published at
// https://download.geonames.org/export/dump/.
const (
	CitiesFile    = "cities15000.txt"
	CountriesFile = "countryInfo.txt"
	AdminsFile    = "admin1CodesASCII.txt"
)

// Build reads the GeoNames files in dir and returns their encoding.
func Build(dir string) ([]byte, error) {
	d, err := FromGeoNames(dir)
	if err != nil {
		return nil, err
	}
	return Encode(d), nil
}

// FromGeoNames reads cities15000.txt, countryInfo.txt and
// admin1CodesASCII.txt from dir. The result depends only on the files'
// contents: every table is sorted by a total order.
func FromGeoNames(dir string) (*Data, error) {
	d := &Data{Attribution: Attribution}
	countryIdx := map[string]int{}
	adminIdx := map[string]int{}

	err := readTSV(filepath.Join(dir, CountriesFile), func(line int, f []string) error {
		if len(f) < 5 {
			return fmt.Errorf("want at least 5 columns, got %d", len(f))
		}
		d.Countries = append(d.Countries, Country{ISO2: f[0], ISO3: f[1], Name: f[4]})
		return nil
	})
	if err != nil {
		return nil, err
	}
	slices.SortFunc(d.Countries, func(a, b Country) int { return cmp.Compare(a.ISO2, b.ISO2) })
	for i, c := range d.Countries {
		if _, dup := countryIdx[c.ISO2]; dup || len(c.ISO2) != 2 {
			return nil, fmt.Errorf("%s: bad or repeated country code %q", CountriesFile, c.ISO2)
		}
		countryIdx[c.ISO2] = i
	}

	err = readTSV(filepath.Join(dir, AdminsFile), func(line int, f []string) error {
		if len(f) < 3 {
			return fmt.Errorf("want at least 3 columns, got %d", len(f))
		}
		cc, code, ok := strings.Cut(f[0], ".")
		ci, known := countryIdx[cc]
		if !ok || !known {
			return fmt.Errorf("bad division code %q", f[0])
		}
		d.Admins = append(d.Admins, Admin{Country: ci, Code: code, Name: f[1], ASCIIName: f[2]})
		return nil
	})
	if err != nil {
		return nil, err
	}
	slices.SortFunc(d.Admins, func(a, b Admin) int {
		return cmp.Or(cmp.Compare(a.Country, b.Country), cmp.Compare(a.Code, b.Code))
	})
	for i, a := range d.Admins {
		k := d.Countries[a.Country].ISO2 + "." + a.Code
		if _, dup := adminIdx[k]; dup {
			return nil, fmt.Errorf("%s: repeated division %s", AdminsFile, k)
		}
		adminIdx[k] = i + 1
	}

	type raw struct {
		City
		ascii string
		alts  []string
	}
	var cities []raw
	seen := map[uint32]bool{}
	err = readTSV(filepath.Join(dir, CitiesFile), func(line int, f []string) error {
		if len(f) != 19 {
			return fmt.Errorf("want 19 columns, got %d", len(f))
		}
		id, err := strconv.ParseUint(f[0], 10, 32)
		if err != nil || seen[uint32(id)] {
			return fmt.Errorf("bad or repeated geonameid %q", f[0])
		}
		seen[uint32(id)] = true
		lat, err1 := parseE5(f[4], 90)
		lon, err2 := parseE5(f[5], 180)
		if err1 != nil || err2 != nil {
			return fmt.Errorf("bad coordinates %q, %q", f[4], f[5])
		}
		pop, err := strconv.ParseUint(cmp.Or(f[14], "0"), 10, 32)
		if err != nil {
			return fmt.Errorf("bad population %q", f[14])
		}
		ci, ok := countryIdx[f[8]]
		if !ok {
			return fmt.Errorf("unknown country %q", f[8])
		}
		c := raw{
			City: City{ID: uint32(id), Name: f[1], LatE5: lat, LonE5: lon,
				Population: uint32(pop), Country: ci, Admin: adminIdx[f[8]+"."+f[10]]},
			ascii: f[2],
		}
		if f[3] != "" {
			c.alts = strings.Split(f[3], ",")
		}
		cities = append(cities, c)
		return nil
	})
	if err != nil {
		return nil, err
	}
	if len(cities) == 0 {
		return nil, fmt.Errorf("%s: no cities", CitiesFile)
	}
	// Largest first: the geocoder breaks ties by population and the
	// nearest-city search by index, so this order serves both.
	slices.SortFunc(cities, func(a, b raw) int {
		return cmp.Or(cmp.Compare(b.Population, a.Population), cmp.Compare(a.ID, b.ID))
	})

	postings := map[string][]Posting{}
	prefixes := map[string]bool{}
	for i, c := range cities {
		d.Cities = append(d.Cities, c.City)
		main := mainKeys(c.Name, c.ascii)
		for _, k := range main {
			postings[k] = append(postings[k], NewPosting(i, false))
		}
		var alts []string
		for _, a := range c.alts {
			k := fold.Key(a)
			if usefulAlternate(k) && !slices.Contains(main, k) && !slices.Contains(alts, k) {
				alts = append(alts, k)
				postings[k] = append(postings[k], NewPosting(i, true))
			}
		}
	}
	// Every word-prefix of a key is a key too, with no postings if it
	// names nothing itself: a matcher extends a run of words only while it
	// is a key, and this way it needs no other structure to know that.
	for k := range postings {
		for i := 0; i < len(k); i++ {
			if k[i] == ' ' {
				if _, ok := postings[k[:i]]; !ok {
					prefixes[k[:i]] = true
				}
			}
		}
	}
	for k := range prefixes {
		postings[k] = nil
	}
	for k, ps := range postings {
		d.Keys = append(d.Keys, Key{Name: k, Postings: ps})
	}
	slices.SortFunc(d.Keys, func(a, b Key) int { return cmp.Compare(a.Name, b.Name) })
	return d, nil
}

// mainKeys returns the distinct folded forms of a city's own names. A name
// with a comma ("Washington, D. C.") also gives its head, the form people
// write.
func mainKeys(name, ascii string) []string {
	var keys []string
	add := func(s string) {
		if k := fold.Key(s); k != "" && !slices.Contains(keys, k) {
			keys = append(keys, k)
		}
	}
	for _, n := range []string{name, ascii} {
		add(n)
		if head, _, ok := strings.Cut(n, ","); ok {
			add(head)
		}
	}
	return keys
}

// usefulAlternate drops alternate names no one types as a place name:
// empty after folding, or without a single letter (codes like "75001").
func usefulAlternate(k string) bool {
	for _, r := range k {
		if r > '9' {
			return true
		}
	}
	return false
}

// parseE5 parses a decimal degree into units of 1e-5 degree.
func parseE5(s string, limit float64) (int32, error) {
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(v) || math.Abs(v) > limit {
		return 0, fmt.Errorf("bad degree %q", s)
	}
	return int32(math.Round(v * 1e5)), nil
}

// readTSV calls fn with the fields of each line of a tab-separated file,
// skipping blank lines and lines starting with '#'.
func readTSV(path string, fn func(line int, fields []string) error) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 64<<10), 4<<20)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimRight(sc.Text(), "\r")
		if line == "" || line[0] == '#' {
			continue
		}
		if err := fn(n, strings.Split(line, "\t")); err != nil {
			return fmt.Errorf("%s:%d: %w", filepath.Base(path), n, err)
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("read %s: %w", filepath.Base(path), err)
	}
	return nil
}
