package offline

import (
	_ "embed"
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/xlbatch/xlbatch/geoapify/offline/internal/fold"
	"github.com/xlbatch/xlbatch/geoapify/offline/internal/gazetteer"
)

// Regenerate the embedded data from the GeoNames dumps (cities15000.txt,
// countryInfo.txt and admin1CodesASCII.txt from
// https://download.geonames.org/export/dump/) in $GEONAMES_DIR:
//
//go:generate go run ./internal/gen -in $GEONAMES_DIR -out cities.bin

//go:embed cities.bin
var embedded []byte

// index is the loaded gazetteer. It is built once and never written after,
// so any number of goroutines may read it.
type index struct {
	data        *gazetteer.Data
	cities      []city
	entries     []entry  // every folded key: city names, qualifiers, prefixes
	keys        keyTable // finds entries by key
	postings    []gazetteer.Posting
	quals       []qual
	maxWords    int            // most words in any key
	stateCode   []string       // per division: the code people write, or ""
	countryOf   map[string]int // upper-case ISO alpha-2 → country index
	countryCode []string       // lower-case ISO alpha-2, as Geoapify reports it
	tree        kdTree
}

// city holds what a lookup reads for every candidate, unpacked.
type city struct {
	lat, lon   float64
	population uint32
	country    int32
	admin      int32 // index+1 into data.Admins; 0 when unknown
}

// entry is one folded key and what it names. A key with neither postings
// nor qualifiers is the word-prefix of a longer key: it tells the matcher
// to keep extending the span.
type entry struct {
	name        string
	post, npost uint32 // postings[post : post+npost]
	qual, nqual uint32 // quals[qual : qual+nqual]
}

// qual is a country or a division a key can name.
type qual struct {
	country int32 // country index
	admin   int32 // division index+1; 0 when the key names the country
	code    bool  // an abbreviation ("CA", "USA"): counts only after the city
}

var (
	loadOnce sync.Once
	loaded   *index
	loadErr  error
	loadTime time.Duration
)

// defaultIndex loads the embedded data on first use.
func defaultIndex() (*index, error) {
	loadOnce.Do(func() {
		start := time.Now()
		loaded, loadErr = newIndex(embedded)
		loadTime = time.Since(start)
	})
	return loaded, loadErr
}

// LoadTime reports how long loading the embedded data took, loading it if
// that has not happened yet.
func LoadTime() (time.Duration, error) {
	_, err := defaultIndex()
	return loadTime, err
}

func newIndex(raw []byte) (*index, error) {
	d, err := gazetteer.Decode(raw)
	if err != nil {
		return nil, fmt.Errorf("offline geocoder: load embedded data: %w", err)
	}
	ix := &index{
		data:      d,
		cities:    make([]city, len(d.Cities)),
		entries:   make([]entry, len(d.Keys), len(d.Keys)+len(d.Keys)/16),
		countryOf: make(map[string]int, len(d.Countries)),
		stateCode: make([]string, len(d.Admins)),
	}
	for i, c := range d.Cities {
		ix.cities[i] = city{
			lat:        float64(c.LatE5) / 1e5,
			lon:        float64(c.LonE5) / 1e5,
			population: c.Population,
			country:    int32(c.Country),
			admin:      int32(c.Admin),
		}
	}
	ix.countryCode = make([]string, len(d.Countries))
	for i, c := range d.Countries {
		ix.countryOf[c.ISO2] = i
		ix.countryCode[i] = strings.ToLower(c.ISO2)
	}

	ix.postings = d.Postings
	post := uint32(0)
	for i, k := range d.Keys {
		ix.entries[i] = entry{name: k.Name, post: post, npost: uint32(len(k.Postings))}
		post += uint32(len(k.Postings))
	}
	for _, k := range d.Keys {
		ix.maxWords = max(ix.maxWords, strings.Count(k.Name, " ")+1)
	}
	ix.addQualifiers()
	ix.keys = newKeyTable(ix.entries)
	ix.tree = newKDTree(ix.cities)
	return ix, nil
}

// addQualifiers indexes the names and codes of countries and divisions, so
// that "Paris, Texas" or "Valencia, Spain" can pick among namesakes.
func (ix *index) addQualifiers() {
	byKey := map[string][]qual{}
	add := func(name string, q qual) {
		k := fold.Key(name)
		if k == "" {
			return
		}
		for _, have := range byKey[k] {
			if have == q {
				return
			}
		}
		byKey[k] = append(byKey[k], q)
	}
	for i, c := range ix.data.Countries {
		add(c.Name, qual{country: int32(i)})
		add(c.ISO2, qual{country: int32(i), code: true})
		add(c.ISO3, qual{country: int32(i), code: true})
	}
	// Sorted, so that the index is the same on every load.
	for _, alias := range slices.Sorted(maps.Keys(countryAliases)) {
		if i, ok := ix.countryOf[countryAliases[alias]]; ok {
			add(alias, qual{country: int32(i), code: len(fold.Key(alias)) <= 3})
		}
	}
	for i, a := range ix.data.Admins {
		iso := ix.data.Countries[a.Country].ISO2
		q := qual{country: int32(a.Country), admin: int32(i + 1)}
		add(a.Name, q)
		add(a.ASCIIName, q)
		code := divisionCode(iso, a.Code)
		ix.stateCode[i] = code
		if code != "" && writtenCodes[iso] {
			q.code = true
			add(code, q)
		}
	}
	for _, alias := range slices.Sorted(maps.Keys(divisionAliases)) {
		cc, code, _ := strings.Cut(divisionAliases[alias], ".")
		for i, a := range ix.data.Admins {
			if a.Code == code && ix.data.Countries[a.Country].ISO2 == cc {
				add(alias, qual{country: int32(a.Country), admin: int32(i + 1)})
			}
		}
	}
	// Qualifier keys that are also city names or prefixes share their
	// entry; find those by binary search in the sorted city keys.
	keys := make([]string, 0, len(byKey))
	for k := range byKey {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	added := map[string]int{}
	for _, k := range keys {
		e := ix.entry(k, added)
		e.qual, e.nqual = uint32(len(ix.quals)), uint32(len(byKey[k]))
		ix.quals = append(ix.quals, byKey[k]...)
		for i := 0; i < len(k); i++ {
			if k[i] == ' ' {
				ix.entry(k[:i], added)
			}
		}
		ix.maxWords = max(ix.maxWords, strings.Count(k, " ")+1)
	}
}

// entry returns the entry for key k, adding an empty one if there is none.
// It is for use before the key table is built: it searches the generator's
// sorted keys, then the entries added since (indexed by added).
func (ix *index) entry(k string, added map[string]int) *entry {
	n := len(ix.data.Keys)
	if i, ok := slices.BinarySearchFunc(ix.entries[:n], k, func(e entry, k string) int {
		return strings.Compare(e.name, k)
	}); ok {
		return &ix.entries[i]
	}
	if i, ok := added[k]; ok {
		return &ix.entries[i]
	}
	added[k] = len(ix.entries)
	ix.entries = append(ix.entries, entry{name: k})
	return &ix.entries[len(ix.entries)-1]
}

// distanceKm is the great-circle distance between two points.
func distanceKm(lat1, lon1, lat2, lon2 float64) float64 {
	const r = 6371.0088 // mean Earth radius
	p1, p2 := lat1*math.Pi/180, lat2*math.Pi/180
	dp, dl := p2-p1, (lon2-lon1)*math.Pi/180
	h := math.Sin(dp/2)*math.Sin(dp/2) + math.Cos(p1)*math.Cos(p2)*math.Sin(dl/2)*math.Sin(dl/2)
	return 2 * r * math.Asin(math.Sqrt(min(1, h)))
}
