package gazetteer

import (
	"bytes"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// fixture writes a tiny GeoNames extract in the dumps' formats.
func fixture(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	write := func(name, body string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(CountriesFile, "# comment line\n"+
		"US\tUSA\t840\tUS\tUnited States\tWashington\t9629091\t327167434\tNA\n"+
		"FR\tFRA\t250\tFR\tFrance\tParis\t547030\t66987244\tEU\n")
	write(AdminsFile, "US.TX\tTexas\tTexas\t4736286\nFR.11\tÎle-de-France\tIle-de-France\t3012874\n")
	row := func(cols ...string) string { return strings.Join(cols, "\t") + "\n" }
	write(CitiesFile,
		row("4717560", "Paris", "Paris", "Parizh,Paris", "33.66094", "-95.55551", "P", "PPLA2", "US", "", "TX", "277", "", "", "24782", "177", "180", "America/Chicago", "2017-05-23")+
			row("2988507", "Paris", "Paris", "Lutece,Paname,Parizh,75001", "48.85341", "2.3488", "P", "PPLC", "FR", "", "11", "75", "751", "75056", "2138551", "", "42", "Europe/Paris", "2023-06-07")+
			row("5128581", "New York City", "New York City", "New York,NYC", "40.71427", "-74.00597", "P", "PPL", "US", "", "NY", "", "", "", "8175133", "10", "57", "America/New_York", "2022-01-01"))
	return dir
}

func TestFromGeoNames(t *testing.T) {
	d, err := FromGeoNames(fixture(t))
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Countries) != 2 || d.Countries[0].ISO2 != "FR" || d.Countries[1].ISO3 != "USA" {
		t.Errorf("countries %+v, want FR then US", d.Countries)
	}
	// Largest first.
	var names []string
	for _, c := range d.Cities {
		names = append(names, c.Name)
	}
	if want := []string{"New York City", "Paris", "Paris"}; !reflect.DeepEqual(names, want) {
		t.Errorf("cities %v, want %v", names, want)
	}
	if c := d.Cities[1]; c.LatE5 != 4885341 || c.LonE5 != 234880 || d.Countries[c.Country].ISO2 != "FR" || d.Admins[c.Admin-1].Name != "Île-de-France" {
		t.Errorf("Paris, France decoded as %+v", c)
	}
	if d.Cities[0].Admin != 0 {
		t.Errorf("New York City has division %d, want none (NY is not in the fixture)", d.Cities[0].Admin)
	}
	keys := map[string][]Posting{}
	for _, k := range d.Keys {
		keys[k.Name] = k.Postings
	}
	tests := []struct {
		key  string
		want []Posting
	}{
		{"paris", []Posting{NewPosting(1, false), NewPosting(2, false)}},
		{"parizh", []Posting{NewPosting(1, true), NewPosting(2, true)}},
		{"nyc", []Posting{NewPosting(0, true)}},
		{"new york city", []Posting{NewPosting(0, false)}},
		{"new york", []Posting{NewPosting(0, true)}},
		{"new", nil}, // a prefix only
	}
	for _, tt := range tests {
		got, ok := keys[tt.key]
		if !ok || !reflect.DeepEqual(got, tt.want) {
			t.Errorf("key %q: postings %v (present %v), want %v", tt.key, got, ok, tt.want)
		}
	}
	if _, ok := keys["75001"]; ok {
		t.Error("a postcode-like alternate name was indexed")
	}
}

func TestEncodeDecodeRoundTrip(t *testing.T) {
	d, err := FromGeoNames(fixture(t))
	if err != nil {
		t.Fatal(err)
	}
	b1, b2 := Encode(d), Encode(d)
	if !bytes.Equal(b1, b2) {
		t.Fatal("two encodings of the same data differ")
	}
	got, err := Decode(b1)
	if err != nil {
		t.Fatal(err)
	}
	// Decode's extra flat view, and empty versus nil prefix postings, are
	// not differences in the data.
	got.Postings = nil
	for i := range got.Keys {
		if len(got.Keys[i].Postings) == 0 {
			got.Keys[i].Postings = nil
		}
	}
	if !reflect.DeepEqual(got, d) {
		t.Errorf("round trip changed the data\n got %+v\nwant %+v", got, d)
	}
}

func TestBuildIsDeterministic(t *testing.T) {
	dir := fixture(t)
	a, err := Build(dir)
	if err != nil {
		t.Fatal(err)
	}
	b, err := Build(dir)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a, b) {
		t.Error("Build gave different bytes for the same input")
	}
}

func TestDecodeRejectsCorruptData(t *testing.T) {
	d, err := FromGeoNames(fixture(t))
	if err != nil {
		t.Fatal(err)
	}
	good := Encode(d)
	tests := map[string][]byte{
		"empty":           nil,
		"not a gazetteer": []byte("hello"),
		"truncated":       good[:len(good)/2],
		"bad magic":       append([]byte("something else\n"), good[len(Magic):]...),
		"truncated body":  good[:len(good)-5],
		"trailing bytes":  append(append([]byte{}, good...), 0),
		"only the magic":  []byte(Magic),
		"huge count":      append([]byte(Magic), 0, 0xff, 0xff, 0xff, 0xff, 0x0f),
	}
	for name, b := range tests {
		if _, err := Decode(b); err == nil {
			t.Errorf("%s: Decode succeeded, want an error", name)
		}
	}
}

func TestFromGeoNamesErrors(t *testing.T) {
	if _, err := FromGeoNames(t.TempDir()); err == nil || !strings.Contains(err.Error(), CountriesFile) {
		t.Errorf("empty directory: error %v, want one naming %s", err, CountriesFile)
	}
	dir := fixture(t)
	if err := os.WriteFile(filepath.Join(dir, CitiesFile), []byte("1\tX\tX\t\t1\t2\tP\tPPL\tZZ\t\t\t\t\t\t5\t\t\t\t\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := FromGeoNames(dir); err == nil || !strings.Contains(err.Error(), "unknown country") {
		t.Errorf("unknown country: error %v", err)
	}
}

func TestPosting(t *testing.T) {
	p := NewPosting(12345, true)
	if p.City() != 12345 || !p.Alternate() {
		t.Errorf("posting %d: city %d alternate %v", p, p.City(), p.Alternate())
	}
	if q := NewPosting(7, false); q.City() != 7 || q.Alternate() {
		t.Errorf("posting %d: city %d alternate %v", q, q.City(), q.Alternate())
	}
}
