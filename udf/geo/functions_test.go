package geo

import (
	"context"
	"errors"
	"math"
	"strings"
	"sync"
	"testing"

	"go.uber.org/goleak"

	"github.com/xlbatch/xlbatch/geoapify"
	"github.com/xlbatch/xlbatch/udf"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// stub is a Geocoder that knows a few places and records what it was asked.
type stub struct {
	mu       sync.Mutex
	searches []geoapify.Query // every query received, in order
	reverses []geoapify.Point
	batches  int
	fail     map[string]error // per normalised text
}

var places = map[string]geoapify.Result{
	"221b baker st, london": {Lat: 51.5237, Lon: -0.1585, Formatted: "221B Baker Street, London NW1 6XE, United Kingdom",
		AddressLine1: "221B Baker Street", AddressLine2: "London NW1 6XE, United Kingdom", HouseNumber: "221B",
		City: "London", State: "England", Postcode: "NW1 6XE", Country: "United Kingdom", CountryCode: "gb",
		ResultType: "building", PlaceID: "abc123", Rank: geoapify.Rank{Confidence: 0.95},
		Datasource: &geoapify.Datasource{Sourcename: "openstreetmap"}},
	"tour eiffel, paris": {Lat: 48.8584, Lon: 2.2945, Formatted: "Tour Eiffel, Paris, France", City: "Paris", CountryCode: "fr"},
}

func (s *stub) Name() string { return "stub" }

func (s *stub) Search(ctx context.Context, qs []geoapify.Query) ([]geoapify.Outcome, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.batches++
	out := make([]geoapify.Outcome, len(qs))
	for i, q := range qs {
		s.searches = append(s.searches, q)
		if err := s.fail[q.Text]; err != nil {
			out[i].Err = err
			continue
		}
		r, ok := places[q.Text]
		if !ok || (q.Country != "" && q.Country != r.CountryCode) {
			out[i].Err = geoapify.ErrNoMatch
			continue
		}
		out[i].Result = r
	}
	return out, nil
}

func (s *stub) Reverse(ctx context.Context, ps []geoapify.Point) ([]geoapify.Outcome, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.batches++
	out := make([]geoapify.Outcome, len(ps))
	for i, p := range ps {
		s.reverses = append(s.reverses, p)
		if p.Lat > 80 {
			out[i].Err = geoapify.ErrNoMatch
			continue
		}
		out[i].Result = places["221b baker st, london"]
	}
	return out, nil
}

func (s *stub) queries() []geoapify.Query {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]geoapify.Query(nil), s.searches...)
}

func newTestRegistry(t *testing.T, opts Options) (*udf.Registry, *Service) {
	t.Helper()
	svc := New(opts)
	t.Cleanup(func() { svc.Close(context.Background()) })
	r := udf.NewRegistry("XLB")
	if err := svc.Register(r); err != nil {
		t.Fatal(err)
	}
	return r, svc
}

func call(r *udf.Registry, fn string, args ...udf.Value) udf.Value {
	return r.Call(context.Background(), udf.Call{Fn: fn, Args: args})
}

func text(s string) udf.Value { return udf.Text(s) }
func num(f float64) udf.Value { return udf.Number(f) }

func TestGeolocate(t *testing.T) {
	g := &stub{fail: map[string]error{
		"bad key street": &geoapify.APIError{Op: "search", Status: 401, Reason: "Unauthorized"},
		"teapot street":  &geoapify.APIError{Op: "search", Status: 418, Reason: "I'm a teapot", Message: "short and stout"},
	}}
	r, _ := newTestRegistry(t, Options{Geocoder: g})

	got := call(r, "GEOLOCATE", text("221B  Baker St., LONDON"))
	if got.Kind() != udf.KindArray || len(got.Rows()) != 1 || got.Rows()[0][0].Num() != 51.5237 || got.Rows()[0][1].Num() != -0.1585 {
		t.Fatalf("GEOLOCATE = %v, want [[51.5237,-0.1585]]", got)
	}

	// A range: one row per address, row-major; blanks cost nothing; a miss
	// and an error cell spoil only their rows.
	rng := udf.Array([][]udf.Value{
		{text("Tour Eiffel, Paris"), udf.Empty()},
		{text("nowhere at all"), udf.Error(udf.ErrRef, "")},
		{text("221b baker st ,london"), text("   ")},
	})
	before := len(g.queries())
	got = call(r, "XLB.GEOLOCATE", rng)
	rows := got.Rows()
	if len(rows) != 6 {
		t.Fatalf("range result has %d rows, want 6: %v", len(rows), got)
	}
	if rows[0][0].Num() != 48.8584 || !rows[1][0].IsEmpty() || !rows[1][1].IsEmpty() ||
		rows[2][0].Code() != udf.ErrNA || rows[2][0].Message() != `no match for "nowhere at all"` ||
		rows[3][0].Code() != udf.ErrRef || rows[4][1].Num() != -0.1585 || !rows[5][0].IsEmpty() {
		t.Fatalf("range result = %v", got)
	}
	asked := g.queries()[before:]
	if len(asked) != 2 { // Baker Street was cached by the first call
		t.Fatalf("range sent %d queries upstream, want 2 (Paris, nowhere): %v", len(asked), asked)
	}

	tests := []struct {
		name string
		args []udf.Value
		code udf.ErrorCode
		msg  string
	}{
		{"no match", []udf.Value{text("Atlantis")}, udf.ErrNA, `no match for "Atlantis"`},
		{"country filter excludes", []udf.Value{text("Tour Eiffel, Paris"), text("GB")}, udf.ErrNA, `no match for "Tour Eiffel, Paris"`},
		{"bad country", []udf.Value{text("Paris"), text("France")}, udf.ErrValue, `GEOLOCATE argument country: "France" is not an ISO 3166-1 alpha-2 code such as GB, US or FR`},
		{"UK is not ISO", []udf.Value{text("Paris"), text("uk")}, udf.ErrValue, "the United Kingdom is GB"},
		{"unauthorized", []udf.Value{text("Bad key street")}, udf.ErrNA, "Geoapify refused the API key (401 unauthorized): check GEOAPIFY_API_KEY"},
		{"other failure", []udf.Value{text("Teapot Street")}, udf.ErrNA, `lookup of "Teapot Street" failed: search: 418 I'm a teapot: short and stout`},
		{"punctuation only", []udf.Value{text("--")}, udf.ErrNA, `no match for "--"`},
		{"error argument propagates", []udf.Value{udf.Error(udf.ErrDiv0, "")}, udf.ErrDiv0, ""},
		{"too many arguments", []udf.Value{text("a"), text("gb"), text("x")}, udf.ErrValue, "GEOLOCATE takes at most 2 arguments, got 3"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := call(r, "geolocate", tt.args...)
			if got.Code() != tt.code || !strings.Contains(got.Message(), tt.msg) {
				t.Fatalf("got %v %q, want %v %q", got, got.Message(), tt.code, tt.msg)
			}
		})
	}
	for _, q := range g.queries() {
		if q.Text == "" || q.Text == "atlantis" && q.Country != "" {
			t.Errorf("unexpected upstream query %+v", q)
		}
	}
}

func TestBlankAddressCostsNothing(t *testing.T) {
	g := &stub{}
	r, _ := newTestRegistry(t, Options{Geocoder: g})
	got := call(r, "GEOLOCATE", udf.Empty())
	if got.Kind() != udf.KindArray || !got.Rows()[0][0].IsEmpty() || !got.Rows()[0][1].IsEmpty() {
		t.Fatalf("blank GEOLOCATE = %v, want [[blank, blank]]", got)
	}
	if got := call(r, "GEOCODE", text(" "), text("city")); !got.IsEmpty() {
		t.Fatalf("blank GEOCODE = %v, want blank", got)
	}
	if n := len(g.queries()); n != 0 {
		t.Fatalf("blank addresses sent %d queries upstream", n)
	}
}

func TestGeocodeFields(t *testing.T) {
	r, _ := newTestRegistry(t, Options{Geocoder: &stub{}})
	addr := text("221B Baker St, London")
	want := map[string]udf.Value{
		"lat": num(51.5237), "lon": num(-0.1585), "latlon": text("51.5237, -0.1585"),
		"formatted": text("221B Baker Street, London NW1 6XE, United Kingdom"), "address_line1": text("221B Baker Street"),
		"address_line2": text("London NW1 6XE, United Kingdom"), "city": text("London"), "state": text("England"),
		"postcode": text("NW1 6XE"), "country": text("United Kingdom"), "country_code": text("GB"),
		"result_type": text("building"), "confidence": num(0.95), "place_id": text("abc123"), "source": text("openstreetmap"),
	}
	if len(want) != len(Fields) {
		t.Fatalf("test covers %d fields, Fields has %d", len(want), len(Fields))
	}
	for _, f := range Fields {
		got := call(r, "GEOCODE", addr, text(" "+strings.ToUpper(f)+" "))
		if got.Kind() != want[f].Kind() || got.String() != want[f].String() {
			t.Errorf("GEOCODE(…, %q) = %v, want %v", f, got, want[f])
		}
	}
	got := call(r, "GEOCODE", addr, text("zip"))
	if got.Code() != udf.ErrValue || !strings.Contains(got.Message(), `unknown field "zip"; valid fields: lat, lon, latlon, formatted,`) {
		t.Fatalf("unknown field: %v %q", got, got.Message())
	}
	got = call(r, "GEOCODE", addr)
	if got.Code() != udf.ErrValue || !strings.Contains(got.Message(), "missing field") {
		t.Fatalf("missing field: %v %q", got, got.Message())
	}
}

func TestReverseGeocode(t *testing.T) {
	g := &stub{}
	r, _ := newTestRegistry(t, Options{Geocoder: g})
	if got := call(r, "REVERSEGEOCODE", num(51.5237), text("-0.1585")); got.Str() != "221B Baker Street, London NW1 6XE, United Kingdom" {
		t.Fatalf("default field = %v", got)
	}
	if got := call(r, "REVERSEGEOCODE", num(51.52370000001), num(-0.1585), text("postcode")); got.Str() != "NW1 6XE" {
		t.Fatalf("postcode = %v", got)
	}
	if len(g.reverses) != 1 {
		t.Fatalf("%d reverse lookups, want 1 (the second point rounds to the first)", len(g.reverses))
	}
	for _, tt := range []struct {
		args []udf.Value
		code udf.ErrorCode
		msg  string
	}{
		{[]udf.Value{num(91), num(0)}, udf.ErrValue, "REVERSEGEOCODE argument lat: 91 is not a latitude"},
		{[]udf.Value{num(0), num(-181)}, udf.ErrValue, "REVERSEGEOCODE argument lon: -181 is not a longitude"},
		{[]udf.Value{text("north"), num(0)}, udf.ErrValue, `REVERSEGEOCODE argument lat: expected a number, got text "north"`},
		{[]udf.Value{num(85), num(0)}, udf.ErrNA, "no match for (85, 0)"},
		{[]udf.Value{num(1), num(1), text("height")}, udf.ErrValue, `unknown field "height"`},
	} {
		got := call(r, "REVERSEGEOCODE", tt.args...)
		if got.Code() != tt.code || !strings.Contains(got.Message(), tt.msg) {
			t.Errorf("REVERSEGEOCODE%v = %v %q, want %v %q", tt.args, got, got.Message(), tt.code, tt.msg)
		}
	}
}

func TestGeodistance(t *testing.T) {
	r, _ := newTestRegistry(t, Options{Geocoder: &stub{}})
	R := 6371.0088
	tests := []struct {
		args []udf.Value
		want float64
	}{
		{[]udf.Value{num(0), num(0), num(0), num(1)}, 2 * math.Pi * R / 360},                // one degree of the equator
		{[]udf.Value{num(0), num(0), num(90), num(0)}, math.Pi * R / 2},                     // equator to pole
		{[]udf.Value{num(0), num(0), num(0), num(180), text("MI")}, math.Pi * R / 1.609344}, // half the equator in miles
		{[]udf.Value{num(0), num(0), num(0), num(1), text("m")}, 2 * math.Pi * R / 360 * 1000},
		{[]udf.Value{num(0), num(0), num(1), num(0), text("nmi")}, 2 * math.Pi * R / 360 / 1.852},
		{[]udf.Value{text("51.5"), num(0), num(51.5), num(0)}, 0},
	}
	for _, tt := range tests {
		got := call(r, "GEODISTANCE", tt.args...)
		if got.Kind() != udf.KindNumber || math.Abs(got.Num()-tt.want) > 1e-6*math.Max(1, tt.want) {
			t.Errorf("GEODISTANCE%v = %v, want %v", tt.args, got, tt.want)
		}
	}
	got := call(r, "GEODISTANCE", num(0), num(0), num(0), num(1), text("furlong"))
	if got.Code() != udf.ErrValue || got.Message() != `GEODISTANCE argument unit: unknown unit "furlong"; valid units: km, mi, m, nmi` {
		t.Fatalf("bad unit: %v %q", got, got.Message())
	}
	got = call(r, "GEODISTANCE", num(0), num(0), num(95), num(1))
	if got.Code() != udf.ErrValue || !strings.Contains(got.Message(), "argument lat2") {
		t.Fatalf("bad lat2: %v %q", got, got.Message())
	}
}

func TestPreviewAnswersFromCacheOnly(t *testing.T) {
	g := &stub{}
	r, _ := newTestRegistry(t, Options{Geocoder: g})
	prev := func(args ...udf.Value) udf.Value {
		return r.Call(context.Background(), udf.Call{Fn: "GEOCODE", Args: args, Preview: true})
	}
	got := prev(text("Tour Eiffel, Paris"), text("city"))
	if got.Code() != udf.ErrNA || got.Message() != "not fetched during preview" {
		t.Fatalf("uncached preview = %v %q", got, got.Message())
	}
	if n := len(g.queries()); n != 0 {
		t.Fatalf("preview sent %d queries upstream", n)
	}
	call(r, "GEOCODE", text("tour eiffel ,paris"), text("lat"))
	if got := prev(text("Tour Eiffel, Paris"), text("city")); got.Str() != "Paris" {
		t.Fatalf("cached preview = %v %q, want Paris", got, got.Message())
	}

	// With a local geocoder previews compute: nothing is spent.
	lr, _ := newTestRegistry(t, Options{Geocoder: &stub{}, LocalLookups: true})
	got = lr.Call(context.Background(), udf.Call{Fn: "GEOCODE", Args: []udf.Value{text("Tour Eiffel, Paris"), text("city")}, Preview: true})
	if got.Str() != "Paris" {
		t.Fatalf("local preview = %v %q, want Paris", got, got.Message())
	}
}

// Failures are not cached; answers and no-match verdicts are.
func TestOnlyDefiniteOutcomesCached(t *testing.T) {
	g := &stub{fail: map[string]error{"flaky road": errors.New("boom")}}
	r, svc := newTestRegistry(t, Options{Geocoder: g})
	for range 2 {
		call(r, "GEOLOCATE", text("Flaky Road"))
		call(r, "GEOLOCATE", text("Atlantis"))
		call(r, "GEOLOCATE", text("Tour Eiffel, Paris"))
	}
	count := map[string]int{}
	for _, q := range g.queries() {
		count[q.Text]++
	}
	if count["flaky road"] != 2 || count["atlantis"] != 1 || count["tour eiffel, paris"] != 1 {
		t.Fatalf("upstream queries = %v; want the failure asked twice, the miss and the answer once", count)
	}
	if st := svc.Stats(); st.CacheHits != 2 {
		t.Fatalf("cache hits = %d, want 2", st.CacheHits)
	}
	if st := r.Stats(); st.CacheHits != 2 || st.Batches != 4 {
		t.Fatalf("registry stats = %+v, want 2 cache hits and 4 batches", st)
	}
}

func TestNormalizeAddress(t *testing.T) {
	tests := []struct{ in, want string }{
		{"221B Baker St, London", "221b baker st, london"},
		{"  221b   BAKER st.,london ", "221b baker st, london"},
		{"221b baker st ; ; london", "221b baker st, london"},
		{"St. John's Wood,\tLondon\n", "st johns wood, london"},
		{"12-14 Rue de l’Église, Paris", "12-14 rue de léglise, paris"},
		{"Flat 1/2, 3.5 Main-Street", "flat 1/2, 3.5 main street"},
		{"Smith & Sons, #5", "smith & sons, 5"},
		{"--", ""},
		{"São Paulo", "são paulo"},
	}
	for _, tt := range tests {
		if got := NormalizeAddress(tt.in); got != tt.want {
			t.Errorf("NormalizeAddress(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestFunctionsJSONOfGeoFunctions(t *testing.T) {
	r, _ := newTestRegistry(t, Options{Geocoder: &stub{}})
	b, err := r.FunctionsJSON()
	if err != nil {
		t.Fatal(err)
	}
	if err := udf.CheckFunctionsJSON(b); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"GEOLOCATE", "GEOCODE", "REVERSEGEOCODE", "GEODISTANCE"} {
		if !strings.Contains(string(b), `"id": "`+name+`"`) {
			t.Errorf("functions.json lacks %s", name)
		}
	}
}
