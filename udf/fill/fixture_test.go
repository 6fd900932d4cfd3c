package fill

import (
	"archive/zip"
	"bytes"
	"context"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/xlbatch/xlbatch/udf"
)

// place is what the test registry knows about an address.
type place struct {
	lat, lon      float64
	city, country string
}

var places = map[string]place{
	"221B Baker St London":    {51.5238, -0.1586, "London", "GB"},
	"Tour Eiffel Paris":       {48.8584, 2.2945, "Paris", "FR"},
	"11 Wall Street New York": {40.7069, -74.0113, "New York", "US"},
}

// testRegistry registers stand-ins for the GEO functions with the same
// shapes, and counts how often each function is invoked and with how many calls.
type testRegistry struct {
	*udf.Registry
	mu      sync.Mutex
	invokes map[string][]int // function → sizes of each Invoke batch
}

func newTestRegistry(t testing.TB) *testRegistry {
	tr := &testRegistry{Registry: udf.NewRegistry("XLB"), invokes: map[string][]int{}}
	reg := func(spec udf.Spec, f func(args []udf.Value) udf.Value) {
		spec.Description = "test stand-in for " + spec.Name
		if spec.Result == "" {
			spec.Result = udf.TypeAny
		}
		if spec.ResultDim == "" {
			spec.ResultDim = udf.Scalar
		}
		for i := range spec.Params {
			if spec.Params[i].Type == "" {
				spec.Params[i].Type = udf.TypeAny
			}
			if spec.Params[i].Dim == "" {
				spec.Params[i].Dim = udf.Scalar
			}
		}
		err := tr.Register(udf.Function{Spec: spec, Invoke: func(ctx context.Context, calls []udf.Invocation) []udf.Value {
			tr.mu.Lock()
			tr.invokes[spec.Name] = append(tr.invokes[spec.Name], len(calls))
			tr.mu.Unlock()
			out := make([]udf.Value, len(calls))
			for i, c := range calls {
				out[i] = f(c.Args)
			}
			return out
		}})
		if err != nil {
			t.Fatal(err)
		}
	}
	lookup := func(v udf.Value) (place, bool) {
		p, ok := places[v.Str()]
		return p, ok
	}
	reg(udf.Spec{Name: "GEOLOCATE", Params: []udf.Param{{Name: "address", Type: udf.TypeString, Dim: udf.Scalar}}, ResultDim: udf.Matrix},
		func(a []udf.Value) udf.Value {
			p, ok := lookup(a[0])
			if !ok {
				return udf.Error(udf.ErrNA, "no match")
			}
			return udf.Array([][]udf.Value{{udf.Number(p.lat), udf.Number(p.lon)}})
		})
	reg(udf.Spec{Name: "GEOCODE", Params: []udf.Param{{Name: "address"}, {Name: "field"}, {Name: "country", Optional: true}}},
		func(a []udf.Value) udf.Value {
			p, ok := lookup(a[0])
			if !ok {
				return udf.Error(udf.ErrNA, "no match")
			}
			switch a[1].Str() {
			case "city":
				return udf.Text(p.city)
			case "country":
				return udf.Text(p.country)
			case "lat":
				return udf.Number(p.lat)
			}
			return udf.Error(udf.ErrValue, "unknown field")
		})
	reg(udf.Spec{Name: "GEODISTANCE", Params: []udf.Param{{Name: "lat1"}, {Name: "lon1"}, {Name: "lat2"}, {Name: "lon2"}}},
		func(a []udf.Value) udf.Value {
			return udf.Number(math.Abs(a[0].Num()-a[2].Num()) + math.Abs(a[1].Num()-a[3].Num()))
		})
	reg(udf.Spec{Name: "COUNTFILLED", Params: []udf.Param{{Name: "range", Dim: udf.Matrix}}},
		func(a []udf.Value) udf.Value {
			n := 0
			for _, r := range a[0].Rows() {
				for _, c := range r {
					if !c.IsEmpty() {
						n++
					}
				}
			}
			return udf.Number(float64(n))
		})
	reg(udf.Spec{Name: "NOTHING"}, func([]udf.Value) udf.Value { return udf.Empty() })
	return tr
}

func (tr *testRegistry) invocations() map[string][]int {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	out := map[string][]int{}
	for k, v := range tr.invokes {
		out[k] = append([]int(nil), v...)
	}
	return out
}

// part is one zip entry of a hand-written package.
type part struct {
	name string
	body string
}

// writeZip writes parts, in order, as a zip package.
func writeZip(t testing.TB, path string, parts []part) {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, p := range parts {
		w, err := zw.Create(p.name)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write([]byte(p.body)); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

const (
	nsMain = `xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"`
	nsRel  = `xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"`
)

// acceptanceSheet1 holds every case the filler must handle; the comment
// after each row says what is expected.
const acceptanceSheet1 = `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<worksheet ` + nsMain + ` ` + nsRel + ` xmlns:x14ac="http://schemas.microsoft.com/office/spreadsheetml/2009/9/ac"><dimension ref="A1:R4"/><sheetViews><sheetView tabSelected="1" workbookViewId="0"/></sheetViews><sheetFormatPr defaultRowHeight="15" x14ac:dyDescent="0.25"/><cols><col min="1" max="1" width="30" customWidth="1"/></cols><sheetData>` +
	`<row r="1" spans="1:18" x14ac:dyDescent="0.25"><c r="A1" t="s"><v>0</v></c><c r="B1" s="2" t="s"><v>1</v></c></row>` +
	`<row r="2" spans="1:18" x14ac:dyDescent="0.25">` +
	`<c r="A2" t="s"><v>2</v></c>` +
	`<c r="B2" s="1" cm="1"><f t="array" ref="B2:C2">_xldudf_XLB_GEOLOCATE(A2)</f><v>0</v></c><c r="C2" s="1"><v>0</v></c>` +
	`<c r="D2" t="e"><f t="shared" ref="D2:D4" si="0">XLB.GEOCODE(A2,"city")</f><v>#NAME?</v></c>` +
	`<c r="E2"><f>GEOLOCATE(A2)</f></c>` +
	`<c r="F2" t="str"><f>IFERROR(GEOCODE(A2,"country"),"?")&amp;"!"</f><v>old</v></c>` +
	`<c r="G2"><f>GEODISTANCE(B2,C2,B3,C3)</f></c>` +
	`<c r="H2"><f>GEOCODE('Other Sheet'!A1,"city")</f></c>` +
	`<c r="I2"><f>GEOCODE(Home,"city")</f></c>` +
	`<c r="J2"><f>ISNUMBER(GEOCODE(A2,"lat"))</f></c>` +
	`<c r="K2"><f>GEOCODE("Nowhere","city")</f></c>` +
	`<c r="L2"><f>COUNTFILLED(A2:A4)</f></c>` +
	`<c r="M2" t="e"><f>VLOOKUP(A2,A2:B4,2,FALSE)&amp;GEOCODE(A2,"city")</f><v>#NAME?</v></c>` +
	`<c r="N2" s="1"><f>GEOCODE(A2,"city")</f></c><c r="O2" s="1"/>` +
	`<c r="P2" t="str"><f>A2&amp;"x"</f><v>221B Baker St Londonx</v></c>` +
	`<c r="Q2"><f t="array" ref="Q2:R2">GEOLOCATE(A3)</f><v>1</v></c><c r="R2"><v>2</v></c>` +
	`</row>` +
	`<row r="3" spans="1:18" x14ac:dyDescent="0.25"><c r="A3" t="s"><v>3</v></c>` +
	`<c r="B3" cm="1"><f t="array" ref="B3">_xldudf_XLB_GEOLOCATE(A3)</f><v>0</v></c>` +
	`<c r="D3" t="e"><f t="shared" si="0"/><v>#NAME?</v></c></row>` +
	`<row r="4" spans="1:18" x14ac:dyDescent="0.25"><c r="A4" t="s"><v>4</v></c>` +
	`<c r="B4" cm="1"><f t="array" ref="B4">_xldudf_XLB_GEOLOCATE(A4)</f><v>0</v></c><c r="C4" t="inlineStr"><is><t>keep</t></is></c>` +
	`<c r="D4"><f t="shared" si="0"></f></c></row>` +
	`</sheetData><mergeCells count="1"><mergeCell ref="N2:O2"/></mergeCells><pageMargins left="0.7" right="0.7" top="0.75" bottom="0.75" header="0.3" footer="0.3"/></worksheet>`

const acceptanceSheet2 = `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<worksheet ` + nsMain + `><sheetData><row r="1"><c r="A1" t="s"><v>3</v></c><c r="B1"><v>42</v></c></row></sheetData></worksheet>`

func acceptanceParts(main string) []part {
	return []part{
		{"[Content_Types].xml", `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="bin" ContentType="application/vnd.ms-office.vbaProject"/><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/xl/workbook.xml" ContentType="` + main + `"/><Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/><Override PartName="/xl/worksheets/sheet2.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/><Override PartName="/xl/styles.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/><Override PartName="/xl/sharedStrings.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/><Override PartName="/xl/metadata.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheetMetadata+xml"/><Override PartName="/xl/calcChain.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.calcChain+xml"/></Types>`},
		{"_rels/.rels", `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>`},
		{"xl/workbook.xml", `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<workbook ` + nsMain + ` ` + nsRel + `><workbookPr codeName="ThisWorkbook"/><bookViews><workbookView xWindow="0" yWindow="0" windowWidth="28800" windowHeight="12300"/></bookViews><sheets><sheet name="Data" sheetId="1" r:id="rId1"/><sheet name="Other Sheet" sheetId="2" r:id="rId2"/></sheets><definedNames><definedName name="Home">'Other Sheet'!$A$1</definedName></definedNames><calcPr calcId="191029"/></workbook>`},
		{"xl/_rels/workbook.xml.rels", `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/><Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet2.xml"/><Relationship Id="rId3" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/styles" Target="styles.xml"/><Relationship Id="rId4" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/sharedStrings" Target="sharedStrings.xml"/><Relationship Id="rId5" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/sheetMetadata" Target="metadata.xml"/><Relationship Id="rId6" Type="http://schemas.microsoft.com/office/2006/relationships/vbaProject" Target="vbaProject.bin"/><Relationship Id="rId7" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/calcChain" Target="calcChain.xml"/></Relationships>`},
		{"xl/worksheets/sheet1.xml", acceptanceSheet1},
		{"xl/worksheets/sheet2.xml", acceptanceSheet2},
		{"xl/styles.xml", `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<styleSheet ` + nsMain + `><numFmts count="1"><numFmt numFmtId="164" formatCode="0.0000"/></numFmts><fonts count="2"><font><sz val="11"/><name val="Calibri"/></font><font><b/><sz val="11"/><name val="Calibri"/></font></fonts><fills count="2"><fill><patternFill patternType="none"/></fill><fill><patternFill patternType="gray125"/></fill></fills><borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders><cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs><cellXfs count="3"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/><xf numFmtId="164" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/><xf numFmtId="0" fontId="1" fillId="0" borderId="0" xfId="0" applyFont="1"/></cellXfs><cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles></styleSheet>`},
		{"xl/sharedStrings.xml", `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<sst ` + nsMain + ` count="5" uniqueCount="5"><si><t>Address</t></si><si><r><rPr><b/></rPr><t>Lat</t></r><r><t>itude</t></r></si><si><t>221B Baker St London</t></si><si><t>Tour Eiffel Paris</t><rPh sb="0" eb="1"><t>ignored</t></rPh></si><si><t>11 Wall Street New York</t></si></sst>`},
		{"xl/metadata.xml", `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<metadata xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:xda="http://schemas.microsoft.com/office/spreadsheetml/2017/dynamicarray"><metadataTypes count="1"><metadataType name="XLDAPR" minSupportedVersion="120000" copy="1" pasteAll="1" pasteValues="1" merge="1" splitFirst="1" rowColShift="1" clearFormats="1" clearComments="1" assign="1" coerce="1" cellMeta="1"/></metadataTypes><futureMetadata name="XLDAPR" count="1"><bk><extLst><ext uri="{bdbb8cdc-fa1e-496e-a857-3c3f30c029c3}"><xda:dynamicArrayProperties fDynamic="1" fCollapsed="0"/></ext></extLst></bk></futureMetadata><cellMetadata count="1"><bk><rc t="1" v="0"/></bk></cellMetadata></metadata>`},
		{"xl/vbaProject.bin", "\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1 not a real VBA project, but binary-ish \x00\x01\x02\xff"},
		{"xl/calcChain.xml", `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<calcChain ` + nsMain + `><c r="B2" i="1" a="1"/><c r="D2"/><c r="E2"/></calcChain>`},
		{"docProps/app.xml", `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Properties xmlns="http://schemas.openxmlformats.org/officeDocument/2006/extended-properties"><Application>Microsoft Excel</Application></Properties>`},
	}
}

const xlsmMain = "application/vnd.ms-excel.sheet.macroEnabled.main+xml"

// writeAcceptanceBook writes the acceptance workbook as an .xlsm and returns its path.
func writeAcceptanceBook(t testing.TB) string {
	path := filepath.Join(t.TempDir(), "acceptance.xlsm")
	writeZip(t, path, acceptanceParts(xlsmMain))
	return path
}

// sheetXML returns one part of a package, uncompressed.
func partText(t testing.TB, path, name string) string {
	t.Helper()
	zr, err := zip.OpenReader(path)
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	for _, f := range zr.File {
		if f.Name == name {
			rc, err := f.Open()
			if err != nil {
				t.Fatal(err)
			}
			defer rc.Close()
			var b strings.Builder
			if _, err := io.Copy(&b, rc); err != nil {
				t.Fatal(err)
			}
			return b.String()
		}
	}
	t.Fatalf("%s has no part %s", path, name)
	return ""
}
