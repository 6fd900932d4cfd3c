// Command genbook writes examples/addresses.xlsx, the sample workbook of the
// README quickstart, with excelize. The output is reproducible: running it
// again gives the same bytes, and a test checks the committed file is current.
//
//	go run ./examples/genbook            # writes examples/addresses.xlsx
//	go run ./examples/genbook -o my.xlsx
package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/xuri/excelize/v2"
)

// seed holds the ten addresses of the article xlbatch grew from, then more
// from around the world.
var seed = []string{
	"1600 Pennsylvania Avenue Washington DC",
	"11 Wall Street New York",
	"350 Fifth Avenue New York",
	"221B Baker St London",
	"Tour Eiffel Paris",
	"4059 Mt Lee Dr. Hollywood CA",
	"Buckingham Palace London",
	"Statue of Liberty New York",
	"Manger Square Bethlehem West Bank",
	"2 Macquarie Street Sydney",
	"Brandenburger Tor, Pariser Platz, Berlin",
	"Plaza Mayor, Madrid, Spain",
	"Piazza del Colosseo 1, Rome",
	"1 Chome-1-2 Oshiage, Sumida City, Tokyo",
	"Avenida Atlântica, Copacabana, Rio de Janeiro",
	"Dam Square, Amsterdam",
	"Marina Bay Sands, Singapore",
	"Table Mountain, Cape Town",
	"Sydney Opera House, Bennelong Point, Sydney",
	"",
}

func main() {
	out := flag.String("o", filepath.Join("examples", "addresses.xlsx"), "output `path`")
	flag.Parse()
	f, err := os.Create(*out)
	if err == nil {
		err = write(f)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "genbook:", err)
		os.Exit(1)
	}
}

// write builds the workbook. Formulas are stored as Excel itself saves
// calls of an Office.js add-in's functions (_xldudf_XLB_…), so they bind to
// the xlbatch add-in when the file is opened in Excel; the other accepted
// forms (XLB.GEOCODE, GEOCODE) appear on the second sheet.
func write(w io.Writer) error {
	f := excelize.NewFile()
	defer f.Close()
	const sheet = "Addresses"
	if err := f.SetSheetName("Sheet1", sheet); err != nil {
		return err
	}
	if err := f.SetDocProps(&excelize.DocProperties{
		Title:   "xlbatch example: geocoding addresses",
		Creator: "xlbatch examples/genbook",
		Created: "2026-01-01T00:00:00Z", Modified: "2026-01-01T00:00:00Z",
	}); err != nil {
		return err
	}
	header := []any{"Address", "Latitude", "Longitude", "City", "Country", "Km from the first", "Label"}
	if err := f.SetSheetRow(sheet, "A1", &header); err != nil {
		return err
	}
	bold, err := f.NewStyle(&excelize.Style{Font: &excelize.Font{Bold: true}})
	if err != nil {
		return err
	}
	coord, err := f.NewStyle(&excelize.Style{CustomNumFmt: ptr("0.0000")})
	if err != nil {
		return err
	}
	km, err := f.NewStyle(&excelize.Style{CustomNumFmt: ptr("#,##0.0")})
	if err != nil {
		return err
	}
	if err := f.SetCellStyle(sheet, "A1", "G1", bold); err != nil {
		return err
	}
	array := excelize.STCellFormulaTypeArray
	for i, addr := range seed {
		r := i + 2
		cell := func(col string) string { return fmt.Sprintf("%s%d", col, r) }
		if addr != "" {
			if err := f.SetCellStr(sheet, cell("A"), addr); err != nil {
				return err
			}
		}
		// GEOLOCATE returns [latitude, longitude]: an array formula over B:C.
		ref := cell("B") + ":" + cell("C")
		steps := []error{
			f.SetCellFormula(sheet, cell("B"), fmt.Sprintf("_xldudf_XLB_GEOLOCATE(A%d)", r), excelize.FormulaOpts{Type: &array, Ref: &ref}),
			f.SetCellFormula(sheet, cell("D"), fmt.Sprintf(`_xldudf_XLB_GEOCODE(A%d,"city")`, r)),
			f.SetCellFormula(sheet, cell("E"), fmt.Sprintf(`_xldudf_XLB_GEOCODE(A%d,"country_code")`, r)),
			f.SetCellFormula(sheet, cell("F"), fmt.Sprintf(`IFERROR(_xldudf_XLB_GEODISTANCE($B$2,$C$2,B%d,C%d),"")`, r, r)),
			f.SetCellFormula(sheet, cell("G"), fmt.Sprintf(`IF(A%d="","",IFERROR(D%d&", "&UPPER(E%d),"not found"))`, r, r, r)),
			f.SetCellStyle(sheet, cell("B"), cell("C"), coord),
			f.SetCellStyle(sheet, cell("F"), cell("F"), km),
		}
		for _, err := range steps {
			if err != nil {
				return err
			}
		}
	}
	for col, width := range map[string]float64{"A": 46, "B": 11, "C": 11, "D": 18, "E": 9, "F": 18, "G": 26} {
		if err := f.SetColWidth(sheet, col, col, width); err != nil {
			return err
		}
	}

	// A second sheet: the other written forms, cross-sheet references, a
	// defined name and a reverse lookup.
	const trips = "Trips"
	if _, err := f.NewSheet(trips); err != nil {
		return err
	}
	if err := f.SetDefinedName(&excelize.DefinedName{Name: "Home", RefersTo: "Addresses!$A$5"}); err != nil {
		return err
	}
	rows := [][]any{
		{"From", "To", "Km", "Miles", "From city"},
		{"Home: " + seed[3], seed[4], "", "", ""},
		{seed[1], seed[9], "", "", ""},
		{seed[5], seed[8], "", "", ""},
	}
	for i, row := range rows {
		if err := f.SetSheetRow(trips, fmt.Sprintf("A%d", i+1), &row); err != nil {
			return err
		}
	}
	if err := f.SetCellStyle(trips, "A1", "E1", bold); err != nil {
		return err
	}
	froms := []string{"Home", "Addresses!A3", "Addresses!A7"}
	tos := []string{"Addresses!A6", "Addresses!A11", "Addresses!A10"}
	for i := range froms {
		r := i + 2
		from, to := froms[i], tos[i]
		latlon := func(addr, which string) string {
			return fmt.Sprintf(`XLB.GEOCODE(%s,"%s")`, addr, which)
		}
		steps := []error{
			f.SetCellFormula(trips, fmt.Sprintf("C%d", r), fmt.Sprintf(`ROUND(GEODISTANCE(%s,%s,%s,%s),1)`,
				latlon(from, "lat"), latlon(from, "lon"), latlon(to, "lat"), latlon(to, "lon"))),
			f.SetCellFormula(trips, fmt.Sprintf("D%d", r), fmt.Sprintf(`ROUND(GEODISTANCE(%s,%s,%s,%s,"mi"),1)`,
				latlon(from, "lat"), latlon(from, "lon"), latlon(to, "lat"), latlon(to, "lon"))),
			f.SetCellFormula(trips, fmt.Sprintf("E%d", r), fmt.Sprintf(`GEOCODE(%s,"city")`, from)),
		}
		for _, err := range steps {
			if err != nil {
				return err
			}
		}
	}
	if err := f.SetColWidth(trips, "A", "B", 40); err != nil {
		return err
	}
	// A current calculation-engine id: excelize's default is an old one,
	// which makes Excel recalculate every formula on open, and without the
	// add-in that would turn the saved results into #NAME?.
	if err := f.SetCalcProps(&excelize.CalcPropsOptions{CalcID: ptr(uint(191029))}); err != nil {
		return err
	}
	_, err = f.WriteTo(w)
	return err
}

func ptr[T any](v T) *T { return &v }
