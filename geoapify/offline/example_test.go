package offline_test

import (
	"fmt"

	"github.com/xlbatch/xlbatch/geoapify"
	"github.com/xlbatch/xlbatch/geoapify/offline"
)

func ExampleGeocoder_Lookup() {
	g := offline.Default()
	for _, text := range []string{"221B Baker St, London", "Paris, TX", "Valencia, Spain"} {
		r, ok := g.Lookup(text, "")
		fmt.Println(ok, r.Formatted, r.CountryCode, r.PlaceID)
	}
	// Output:
	// true London, England, United Kingdom gb geonames:2643743
	// true Paris, Texas, United States us geonames:4717560
	// true Valencia, Spain es geonames:2509954
}

func ExampleGeocoder_Nearest() {
	trafalgarSquare := geoapify.Point{Lat: 51.5080, Lon: -0.1281}
	r, _ := offline.Default().Nearest(trafalgarSquare)
	fmt.Println(r.City, r.CountryCode, r.Datasource.Attribution)
	// Output:
	// London gb GeoNames, geonames.org
}
