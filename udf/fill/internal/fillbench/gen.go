package main

import (
	"archive/zip"
	"bufio"
	"fmt"
	"os"
)

var cities = []string{"London", "Paris", "New York", "Sydney", "Berlin", "Madrid", "Rome", "Tokyo", "Toronto", "Chicago",
	"Boston", "Seattle", "Dublin", "Vienna", "Prague", "Lisbon", "Oslo", "Helsinki", "Warsaw", "Athens"}

// address is the k-th distinct address: a street address in a known city,
// so the gazetteer behind the fake finds it.
func address(k int) string {
	return fmt.Sprintf("%d Main Street, %s", k+1, cities[k%len(cities)])
}

// generate writes a workbook as Excel 365 saves one: column A an address
// (rows cycle through unique distinct ones), B a dynamic-array
// _xldudf_XLB_GEOLOCATE spilling into C, D a shared XLB.GEOCODE formula, E a
// per-row IF(…,GEOCODE(…)) wrapper. Three function cells per row.
func generate(path string, rows, unique int) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer f.Close()
	bw := bufio.NewWriterSize(f, 1<<20)
	zw := zip.NewWriter(bw)
	put := func(name, body string) error {
		w, err := zw.Create(name)
		if err != nil {
			return err
		}
		_, err = w.Write([]byte(body))
		return err
	}
	const ns = `xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"`
	parts := []struct{ name, body string }{
		{"[Content_Types].xml", `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/><Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/><Override PartName="/xl/sharedStrings.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/><Override PartName="/xl/metadata.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheetMetadata+xml"/></Types>`},
		{"_rels/.rels", `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>`},
		{"xl/workbook.xml", `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<workbook ` + ns + ` xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets><sheet name="Data" sheetId="1" r:id="rId1"/></sheets><calcPr calcId="191029"/></workbook>`},
		{"xl/_rels/workbook.xml.rels", `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/><Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/sharedStrings" Target="sharedStrings.xml"/><Relationship Id="rId3" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/sheetMetadata" Target="metadata.xml"/></Relationships>`},
		{"xl/metadata.xml", `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<metadata ` + ns + ` xmlns:xda="http://schemas.microsoft.com/office/spreadsheetml/2017/dynamicarray"><metadataTypes count="1"><metadataType name="XLDAPR" minSupportedVersion="120000" copy="1" pasteAll="1" pasteValues="1" merge="1" splitFirst="1" rowColShift="1" clearFormats="1" clearComments="1" assign="1" coerce="1" cellMeta="1"/></metadataTypes><futureMetadata name="XLDAPR" count="1"><bk><extLst><ext uri="{bdbb8cdc-fa1e-496e-a857-3c3f30c029c3}"><xda:dynamicArrayProperties fDynamic="1" fCollapsed="0"/></ext></extLst></bk></futureMetadata><cellMetadata count="1"><bk><rc t="1" v="0"/></bk></cellMetadata></metadata>`},
	}
	for _, p := range parts {
		if err := put(p.name, p.body); err != nil {
			return err
		}
	}
	w, err := zw.Create("xl/sharedStrings.xml")
	if err != nil {
		return err
	}
	sw := bufio.NewWriterSize(w, 1<<20)
	fmt.Fprintf(sw, `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>`+"\n"+`<sst %s count="%d" uniqueCount="%d"><si><t>Address</t></si>`, ns, rows+1, unique+1)
	for k := 0; k < unique; k++ {
		fmt.Fprintf(sw, "<si><t>%s</t></si>", address(k))
	}
	sw.WriteString("</sst>")
	if err := sw.Flush(); err != nil {
		return err
	}
	w, err = zw.Create("xl/worksheets/sheet1.xml")
	if err != nil {
		return err
	}
	sw = bufio.NewWriterSize(w, 1<<20)
	fmt.Fprintf(sw, `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>`+"\n"+`<worksheet %s><dimension ref="A1:E%d"/><sheetData><row r="1"><c r="A1" t="s"><v>0</v></c></row>`, ns, rows+1)
	for i := 0; i < rows; i++ {
		r := i + 2
		fmt.Fprintf(sw, `<row r="%d"><c r="A%d" t="s"><v>%d</v></c>`, r, r, 1+i%unique)
		fmt.Fprintf(sw, `<c r="B%d" cm="1"><f t="array" ref="B%d:C%d">_xldudf_XLB_GEOLOCATE(A%d)</f><v>0</v></c><c r="C%d"><v>0</v></c>`, r, r, r, r, r)
		if i == 0 {
			fmt.Fprintf(sw, `<c r="D2" t="e"><f t="shared" ref="D2:D%d" si="0">XLB.GEOCODE(A2,"city")</f><v>#NAME?</v></c>`, rows+1)
		} else {
			fmt.Fprintf(sw, `<c r="D%d" t="e"><f t="shared" si="0"/><v>#NAME?</v></c>`, r)
		}
		fmt.Fprintf(sw, `<c r="E%d"><f>IF(A%d="","",GEOCODE(A%d,"country_code"))</f></c></row>`, r, r, r)
	}
	sw.WriteString(`</sheetData></worksheet>`)
	if err := sw.Flush(); err != nil {
		return err
	}
	if err := zw.Close(); err != nil {
		return err
	}
	return bw.Flush()
}
