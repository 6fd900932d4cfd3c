package fill

import (
	"archive/zip"
	"bytes"
	"context"
	"io"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	if os.Getenv(childEnv) != "" {
		runChildFill()
		return
	}
	goleak.VerifyTestMain(m)
}

// cellXML returns the <c> element for a cell in sheet XML, or "".
func cellXML(sheetXML, ref string) string {
	re := regexp.MustCompile(`<c r="` + ref + `"(?:[^>]*/>|[^>]*>.*?</c>)`)
	return re.FindString(sheetXML)
}

func num(f float64) string { return strconv.FormatFloat(f, 'g', -1, 64) }

func TestFillAcceptanceBook(t *testing.T) {
	in := writeAcceptanceBook(t)
	inBytes, _ := os.ReadFile(in)
	out := filepath.Join(t.TempDir(), "out.xlsm")
	reg := newTestRegistry(t)
	sum, err := Fill(context.Background(), reg.Registry, in, out, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if after, _ := os.ReadFile(in); !bytes.Equal(after, inBytes) {
		t.Fatal("the input changed")
	}
	sheet := partText(t, out, "xl/worksheets/sheet1.xml")
	london, paris, ny := places["221B Baker St London"], places["Tour Eiffel Paris"], places["11 Wall Street New York"]
	dist := math.Abs(london.lat-paris.lat) + math.Abs(london.lon-paris.lon)
	want := map[string]string{
		// Dynamic array (Excel 365 form): anchor and spill cell, formula and style kept.
		"B2": `<c r="B2" s="1" cm="1"><f t="array" ref="B2:C2">_xldudf_XLB_GEOLOCATE(A2)</f><v>` + num(london.lat) + `</v></c>`,
		"C2": `<c r="C2" s="1"><v>` + num(london.lon) + `</v></c>`,
		// Shared formula: master and children (both empty-child forms), shifted references.
		"D2": `<c r="D2" t="str"><f t="shared" ref="D2:D4" si="0">XLB.GEOCODE(A2,"city")</f><v>London</v></c>`,
		"D3": `<c r="D3" t="str"><f t="shared" si="0"/><v>Paris</v></c>`,
		"D4": `<c r="D4" t="str"><f t="shared" si="0"></f><v>New York</v></c>`,
		// A legacy single-cell formula gets the top-left element.
		"E2": `<c r="E2"><f>GEOLOCATE(A2)</f><v>` + num(london.lat) + `</v></c>`,
		// Wrappers.
		"F2": `<c r="F2" t="str"><f>IFERROR(GEOCODE(A2,"country"),"?")&amp;"!"</f><v>GB!</v></c>`,
		// Arguments that are other function cells, including a spill range that grows.
		"G2": `<c r="G2"><f>GEODISTANCE(B2,C2,B3,C3)</f><v>` + num(dist) + `</v></c>`,
		// Another sheet, a defined name.
		"H2": `<c r="H2" t="str"><f>GEOCODE('Other Sheet'!A1,"city")</f><v>Paris</v></c>`,
		"I2": `<c r="I2" t="str"><f>GEOCODE(Home,"city")</f><v>Paris</v></c>`,
		// Boolean and error results.
		"J2": `<c r="J2" t="b"><f>ISNUMBER(GEOCODE(A2,"lat"))</f><v>1</v></c>`,
		"K2": `<c r="K2" t="e"><f>GEOCODE("Nowhere","city")</f><v>#N/A</v></c>`,
		// A range argument.
		"L2": `<c r="L2"><f>COUNTFILLED(A2:A4)</f><v>3</v></c>`,
		// Cannot be evaluated faithfully: untouched.
		"M2": `<c r="M2" t="e"><f>VLOOKUP(A2,A2:B4,2,FALSE)&amp;GEOCODE(A2,"city")</f><v>#NAME?</v></c>`,
		// A merged cell keeps its style; its partner is untouched.
		"N2": `<c r="N2" s="1" t="str"><f>GEOCODE(A2,"city")</f><v>London</v></c>`,
		"O2": `<c r="O2" s="1"/>`,
		// Not a function cell.
		"P2": `<c r="P2" t="str"><f>A2&amp;"x"</f><v>221B Baker St Londonx</v></c>`,
		// A legacy (CSE) array formula over two cells.
		"Q2": `<c r="Q2"><f t="array" ref="Q2:R2">GEOLOCATE(A3)</f><v>` + num(paris.lat) + `</v></c>`,
		"R2": `<c r="R2"><v>` + num(paris.lon) + `</v></c>`,
		// A dynamic array whose saved range was one cell grows into the blank C3.
		"B3": `<c r="B3" cm="1"><f t="array" ref="B3:C3">_xldudf_XLB_GEOLOCATE(A3)</f><v>` + num(paris.lat) + `</v></c>`,
		"C3": `<c r="C3"><v>` + num(paris.lon) + `</v></c>`,
		// ... but not over a value: Excel would show #SPILL!, so it is left alone.
		"B4": `<c r="B4" cm="1"><f t="array" ref="B4">_xldudf_XLB_GEOLOCATE(A4)</f><v>0</v></c>`,
		"C4": `<c r="C4" t="inlineStr"><is><t>keep</t></is></c>`,
	}
	for ref, w := range want {
		if got := cellXML(sheet, ref); got != w {
			t.Errorf("%s:\n got %s\nwant %s", ref, got, w)
		}
	}
	if !strings.Contains(sheet, `<c r="B3" cm="1">`) || !regexp.MustCompile(`</c><c r="C3"><v>[^<]*</v></c><c r="D3"`).MatchString(sheet) {
		t.Errorf("C3 not inserted between B3 and D3: %s", sheet)
	}
	_ = ny

	var skipped []string
	for _, s := range sum.Skipped {
		skipped = append(skipped, s.Cell)
	}
	sort.Strings(skipped)
	if strings.Join(skipped, ",") != "Data!B4,Data!M2" {
		t.Errorf("skipped %v, want Data!B4 and Data!M2 (%+v)", skipped, sum.Skipped)
	}
	if sum.Formulas != 17 || sum.Computed != 15 || sum.ErrorCells != 1 {
		t.Errorf("summary: %d formula cells, %d computed, %d errors; want 17, 15, 1", sum.Formulas, sum.Computed, sum.ErrorCells)
	}

	// Everything outside the edited cells is unchanged, in the sheet too.
	edited := regexp.MustCompile(`<c r="(B2|C2|D2|D3|D4|E2|F2|G2|H2|I2|J2|K2|L2|N2|Q2|R2|B3)"(?:[^>]*/>|[^>]*>.*?</c>)|<c r="C3"><v>[^<]*</v></c>|( ref="B3")(:C3)?`)
	if a, b := edited.ReplaceAllString(acceptanceSheet1, "$2"), edited.ReplaceAllString(sheet, "$2"); a != b {
		t.Errorf("sheet changed outside the edited cells:\n in %s\nout %s", a, b)
	}
	assertOtherPartsIdentical(t, in, out, "xl/worksheets/sheet1.xml")
}

// assertOtherPartsIdentical compares every zip entry but the named ones by
// their raw (compressed) bytes and header fields, and checks the entry order.
func assertOtherPartsIdentical(t *testing.T, in, out string, changed ...string) {
	t.Helper()
	zi, err := zip.OpenReader(in)
	if err != nil {
		t.Fatal(err)
	}
	defer zi.Close()
	zo, err := zip.OpenReader(out)
	if err != nil {
		t.Fatal(err)
	}
	defer zo.Close()
	if len(zi.File) != len(zo.File) {
		t.Fatalf("%d entries in, %d out", len(zi.File), len(zo.File))
	}
	skip := map[string]bool{}
	for _, c := range changed {
		skip[c] = true
	}
	for i, a := range zi.File {
		b := zo.File[i]
		if a.Name != b.Name {
			t.Errorf("entry %d: %s became %s", i, a.Name, b.Name)
			continue
		}
		if skip[a.Name] {
			if a.Method != b.Method || !a.Modified.Equal(b.Modified) {
				t.Errorf("%s: method or time changed", a.Name)
			}
			continue
		}
		if a.Method != b.Method || a.CRC32 != b.CRC32 || a.CompressedSize64 != b.CompressedSize64 ||
			a.UncompressedSize64 != b.UncompressedSize64 || !a.Modified.Equal(b.Modified) {
			t.Errorf("%s: header fields differ", a.Name)
		}
		ra, _ := a.OpenRaw()
		rb, _ := b.OpenRaw()
		x, _ := io.ReadAll(ra)
		y, _ := io.ReadAll(rb)
		if !bytes.Equal(x, y) {
			t.Errorf("%s: compressed bytes differ", a.Name)
		}
	}
}
