package fill

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestValuesMode(t *testing.T) {
	in := writeAcceptanceBook(t)
	out := filepath.Join(t.TempDir(), "values.xlsm")
	sum, err := Fill(context.Background(), newTestRegistry(t).Registry, in, out, Options{Values: true})
	if err != nil {
		t.Fatal(err)
	}
	sheet := partText(t, out, "xl/worksheets/sheet1.xml")
	london := places["221B Baker St London"]
	want := map[string]string{
		"B2": `<c r="B2" s="1"><v>` + num(london.lat) + `</v></c>`, // formula and cm gone
		"C2": `<c r="C2" s="1"><v>` + num(london.lon) + `</v></c>`,
		"D2": `<c r="D2" t="inlineStr"><is><t>London</t></is></c>`, // the whole shared group was computed
		"D3": `<c r="D3" t="inlineStr"><is><t>Paris</t></is></c>`,
		"J2": `<c r="J2" t="b"><v>1</v></c>`,
		"K2": `<c r="K2" t="e"><v>#N/A</v></c>`,
		"M2": `<c r="M2" t="e"><f>VLOOKUP(A2,A2:B4,2,FALSE)&amp;GEOCODE(A2,"city")</f><v>#NAME?</v></c>`,
		"B4": `<c r="B4" cm="1"><f t="array" ref="B4">_xldudf_XLB_GEOLOCATE(A4)</f><v>0</v></c>`,
		"P2": `<c r="P2" t="str"><f>A2&amp;"x"</f><v>221B Baker St Londonx</v></c>`,
	}
	for ref, w := range want {
		if got := cellXML(sheet, ref); got != w {
			t.Errorf("%s:\n got %s\nwant %s", ref, got, w)
		}
	}
	if len(sum.Skipped) != 2 {
		t.Errorf("skipped %+v", sum.Skipped)
	}
	// The calculation chain names cells that lost their formulas: it goes,
	// with its content type and relationship.
	ct := partText(t, out, "[Content_Types].xml")
	rels := partText(t, out, "xl/_rels/workbook.xml.rels")
	if strings.Contains(ct, "calcChain") || strings.Contains(rels, "calcChain") {
		t.Errorf("calcChain still referenced:\n%s\n%s", ct, rels)
	}
	if !strings.Contains(ct, "/xl/metadata.xml") || !strings.Contains(rels, "vbaProject.bin") {
		t.Error("other content types or relationships were lost")
	}
	assertNoPart(t, out, "xl/calcChain.xml")
}

func TestValuesModeKeepsIncompleteSharedGroups(t *testing.T) {
	// D2:D4 share a formula; D3 reads A3, whose VLOOKUP over function cells fill cannot redo, so
	// removing the master's formula would strip D3's too.
	sheet := strings.Replace(acceptanceSheet1, `<c r="A3" t="s"><v>3</v></c>`, `<c r="A3"><f>VLOOKUP(1,B2:B3,1)</f><v>0</v></c>`, 1)
	parts := acceptanceParts(xlsmMain)
	for i := range parts {
		if parts[i].name == "xl/worksheets/sheet1.xml" {
			parts[i].body = sheet
		}
	}
	in := filepath.Join(t.TempDir(), "in.xlsm")
	writeZip(t, in, parts)
	out := filepath.Join(t.TempDir(), "out.xlsm")
	if _, err := Fill(context.Background(), newTestRegistry(t).Registry, in, out, Options{Values: true}); err != nil {
		t.Fatal(err)
	}
	got := cellXML(partText(t, out, "xl/worksheets/sheet1.xml"), "D2")
	if want := `<c r="D2" t="str"><f t="shared" ref="D2:D4" si="0">XLB.GEOCODE(A2,"city")</f><v>London</v></c>`; got != want {
		t.Errorf("D2:\n got %s\nwant %s", got, want)
	}
}

func TestOnlyMissing(t *testing.T) {
	in := writeAcceptanceBook(t)
	out := filepath.Join(t.TempDir(), "out.xlsm")
	sum, err := Fill(context.Background(), newTestRegistry(t).Registry, in, out, Options{OnlyMissing: true})
	if err != nil {
		t.Fatal(err)
	}
	// B2, B3, B4, F2 and Q2 hold values already.
	if sum.Kept != 5 {
		t.Errorf("kept %d cells, want 5", sum.Kept)
	}
	sheet := partText(t, out, "xl/worksheets/sheet1.xml")
	for _, ref := range []string{"B2", "C2", "F2", "B3", "Q2", "R2"} {
		if got, was := cellXML(sheet, ref), cellXML(acceptanceSheet1, ref); got != was {
			t.Errorf("%s changed: %s -> %s", ref, was, got)
		}
	}
	if got := cellXML(sheet, "D2"); !strings.Contains(got, "<v>London</v>") {
		t.Errorf("D2 (an error value) not filled: %s", got)
	}
	// G2 reads the kept cells' cached values: GEODISTANCE(0, 0, 0, blank).
	if got := cellXML(sheet, "G2"); got != `<c r="G2"><f>GEODISTANCE(B2,C2,B3,C3)</f><v>0</v></c>` {
		t.Errorf("G2: %s", got)
	}
}

func TestDryRunWritesNothing(t *testing.T) {
	in := writeAcceptanceBook(t)
	out := filepath.Join(t.TempDir(), "out.xlsm")
	sum, err := Fill(context.Background(), newTestRegistry(t).Registry, in, out, Options{DryRun: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Errorf("dry run wrote %s", out)
	}
	if !sum.DryRun || sum.Formulas != 17 || sum.Output != "" {
		t.Errorf("summary %+v", sum)
	}
}

// TestBatchesAcrossCells checks that thousands of cells cost one invocation
// per function, with each distinct argument list once.
func TestBatchesAcrossCells(t *testing.T) {
	var rows strings.Builder
	addrs := []string{"221B Baker St London", "Tour Eiffel Paris", "11 Wall Street New York", "Nowhere"}
	const n = 3000
	for r := 2; r <= n+1; r++ {
		fmt.Fprintf(&rows, `<row r="%d"><c r="A%d" t="inlineStr"><is><t>%s</t></is></c>`, r, r, addrs[r%len(addrs)])
		if r == 2 {
			fmt.Fprintf(&rows, `<c r="B2"><f t="shared" ref="B2:B%d" si="0">GEOCODE(A2,"city")</f></c>`, n+1)
		} else {
			fmt.Fprintf(&rows, `<c r="B%d"><f t="shared" si="0"/></c>`, r)
		}
		fmt.Fprintf(&rows, `<c r="C%d"><f>IF(A%d="","",XLB.GEOLOCATE(A%d))</f></c></row>`, r, r, r)
	}
	parts := acceptanceParts(xlsmMain)
	for i := range parts {
		switch parts[i].name {
		case "xl/worksheets/sheet1.xml":
			parts[i].body = `<worksheet ` + nsMain + `><sheetData>` + rows.String() + `</sheetData></worksheet>`
		}
	}
	in := filepath.Join(t.TempDir(), "many.xlsx")
	writeZip(t, in, parts)
	reg := newTestRegistry(t)
	out := filepath.Join(t.TempDir(), "out.xlsx")
	sum, err := Fill(context.Background(), reg.Registry, in, out, Options{})
	if err != nil {
		t.Fatal(err)
	}
	// Per-row formulas share one parsed shape; each row must still read its own address.
	sheet := partText(t, out, "xl/worksheets/sheet1.xml")
	for _, r := range []int{2, 3, 4, 5, 1234, n + 1} {
		addr := addrs[r%len(addrs)]
		wantC := `<v>#N/A</v>`
		if p, ok := places[addr]; ok {
			wantC = `<v>` + num(p.lat) + `</v>`
		}
		if got := cellXML(sheet, fmt.Sprintf("C%d", r)); !strings.Contains(got, wantC) {
			t.Errorf("C%d (%s): %s, want %s", r, addr, got, wantC)
		}
	}
	if got, want := reg.invocations(), map[string][]int{"GEOCODE": {4}, "GEOLOCATE": {4}}; !reflect.DeepEqual(got, want) {
		t.Errorf("invocations %v, want %v", got, want)
	}
	if sum.Computed != 2*n || sum.UniqueCalls != 8 || sum.ErrorCells != 2*n/4 {
		t.Errorf("summary: %d computed, %d unique calls, %d errors", sum.Computed, sum.UniqueCalls, sum.ErrorCells)
	}
}

func assertNoPart(t *testing.T, path, name string) {
	t.Helper()
	zr, err := openPkg(path)
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	if zr.files[name] != nil {
		t.Errorf("%s still has %s", path, name)
	}
}

// A function's blank result is written as empty text, as the add-in shows
// it live (a blank would read as 0 in Excel).
func TestBlankResultIsEmptyText(t *testing.T) {
	parts := acceptanceParts(xlsmMain)
	for i := range parts {
		if parts[i].name == "xl/worksheets/sheet1.xml" {
			parts[i].body = `<worksheet ` + nsMain + `><sheetData><row r="1"><c r="A1"><f>NOTHING()</f></c><c r="B1"><f>IF(NOTHING()="","blank","x")</f></c><c r="C1"><f>LEN(NOTHING())</f></c></row></sheetData></worksheet>`
		}
	}
	in := filepath.Join(t.TempDir(), "in.xlsm")
	writeZip(t, in, parts)
	out := filepath.Join(t.TempDir(), "out.xlsm")
	if _, err := Fill(context.Background(), newTestRegistry(t).Registry, in, out, Options{}); err != nil {
		t.Fatal(err)
	}
	sheet := partText(t, out, "xl/worksheets/sheet1.xml")
	for ref, want := range map[string]string{
		"A1": `<c r="A1" t="str"><f>NOTHING()</f><v></v></c>`,
		"B1": `<c r="B1" t="str"><f>IF(NOTHING()="","blank","x")</f><v>blank</v></c>`,
		"C1": `<c r="C1"><f>LEN(NOTHING())</f><v>0</v></c>`,
	} {
		if got := cellXML(sheet, ref); got != want {
			t.Errorf("%s:\n got %s\nwant %s", ref, got, want)
		}
	}
}

// Rows and cells may omit their r attributes; positions follow from order.
// A prefixed namespace (<x:c>) is read and written back with its prefix.
func TestImpliedPositionsAndPrefixes(t *testing.T) {
	parts := acceptanceParts(xlsmMain)
	for i := range parts {
		if parts[i].name == "xl/worksheets/sheet1.xml" {
			parts[i].body = `<x:worksheet xmlns:x="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><x:sheetData>` +
				`<x:row><x:c t="s"><x:v>3</x:v></x:c><x:c><x:f>GEOCODE(A1,"city")</x:f></x:c></x:row>` +
				`<x:row><x:c t="inlineStr"><x:is><x:t>221B Baker St London</x:t></x:is></x:c><x:c><x:f>GEOCODE(A2,"country")</x:f><x:v>0</x:v></x:c></x:row>` +
				`</x:sheetData></x:worksheet>`
		}
	}
	in := filepath.Join(t.TempDir(), "in.xlsm")
	writeZip(t, in, parts)
	out := filepath.Join(t.TempDir(), "out.xlsm")
	if _, err := Fill(context.Background(), newTestRegistry(t).Registry, in, out, Options{}); err != nil {
		t.Fatal(err)
	}
	want := `<x:worksheet xmlns:x="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><x:sheetData>` +
		`<x:row><x:c t="s"><x:v>3</x:v></x:c><x:c t="str"><x:f>GEOCODE(A1,"city")</x:f><x:v>Paris</x:v></x:c></x:row>` +
		`<x:row><x:c t="inlineStr"><x:is><x:t>221B Baker St London</x:t></x:is></x:c><x:c t="str"><x:f>GEOCODE(A2,"country")</x:f><x:v>GB</x:v></x:c></x:row>` +
		`</x:sheetData></x:worksheet>`
	if got := partText(t, out, "xl/worksheets/sheet1.xml"); got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}

// Cells stored out of row order cannot be edited in one pass: the function
// cells are listed and the file is copied unchanged.
func TestUnorderedSheetIsLeftAlone(t *testing.T) {
	parts := acceptanceParts(xlsmMain)
	body := `<worksheet ` + nsMain + `><sheetData><row r="2"><c r="B2"><f>GEOCODE(A1,"city")</f></c></row><row r="1"><c r="A1" t="s"><v>3</v></c></row></sheetData></worksheet>`
	for i := range parts {
		if parts[i].name == "xl/worksheets/sheet1.xml" {
			parts[i].body = body
		}
	}
	in := filepath.Join(t.TempDir(), "in.xlsm")
	writeZip(t, in, parts)
	out := filepath.Join(t.TempDir(), "out.xlsm")
	sum, err := Fill(context.Background(), newTestRegistry(t).Registry, in, out, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(sum.Skipped) != 1 || !strings.Contains(sum.Skipped[0].Reason, "row order") {
		t.Errorf("skipped %+v", sum.Skipped)
	}
	if got := partText(t, out, "xl/worksheets/sheet1.xml"); got != body {
		t.Errorf("sheet changed: %s", got)
	}
}

// Other stored forms of a call: an add-in reference ([1]!), the XLL prefix,
// the stored prefix without namespace, and mixed case.
func TestOtherStoredNames(t *testing.T) {
	parts := acceptanceParts(xlsmMain)
	for i := range parts {
		if parts[i].name == "xl/worksheets/sheet1.xml" {
			parts[i].body = `<worksheet ` + nsMain + `><sheetData><row r="1"><c r="A1" t="s"><v>3</v></c>` +
				`<c r="B1"><f>[1]!GEOCODE(A1,"city")</f></c><c r="C1"><f>_xll.GEOCODE(A1,"city")</f></c>` +
				`<c r="D1"><f>_xldudf_GEOCODE(A1,"city")</f></c><c r="E1"><f>xlb.geocode(A1,"city")</f></c>` +
				`<c r="F1"><f>Sheet2!GEOCODE(A1,"city")</f></c></row></sheetData></worksheet>`
		}
	}
	in := filepath.Join(t.TempDir(), "in.xlsm")
	writeZip(t, in, parts)
	out := filepath.Join(t.TempDir(), "out.xlsm")
	sum, err := Fill(context.Background(), newTestRegistry(t).Registry, in, out, Options{})
	if err != nil {
		t.Fatal(err)
	}
	sheet := partText(t, out, "xl/worksheets/sheet1.xml")
	for _, ref := range []string{"B1", "C1", "D1", "E1"} {
		if got := cellXML(sheet, ref); !strings.Contains(got, "<v>Paris</v>") {
			t.Errorf("%s: %s", ref, got)
		}
	}
	// A sheet-qualified name is a macro-sheet function, not ours.
	if got := cellXML(sheet, "F1"); strings.Contains(got, "<v>") || sum.Formulas != 4 {
		t.Errorf("F1: %s (%d function cells)", got, sum.Formulas)
	}
}
