package fill

import (
	"archive/zip"
	"bufio"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// writeBenchBook writes rows of: an address (shared string), a dynamic-array
// GEOLOCATE spilling into C, a shared GEOCODE, and a per-row IF(…GEOCODE…).
func writeBenchBook(b *testing.B, path string, rows, unique int) {
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	bw := bufio.NewWriter(f)
	zw := zip.NewWriter(bw)
	for _, p := range acceptanceParts(xlsmMain) {
		switch p.name {
		case "xl/worksheets/sheet1.xml", "xl/sharedStrings.xml", "xl/calcChain.xml":
			continue
		}
		w, _ := zw.Create(p.name)
		w.Write([]byte(p.body))
	}
	w, _ := zw.Create("xl/sharedStrings.xml")
	sw := bufio.NewWriter(w)
	fmt.Fprintf(sw, `<sst %s>`, nsMain)
	names := []string{"221B Baker St London", "Tour Eiffel Paris", "11 Wall Street New York"}
	for k := 0; k < unique; k++ {
		fmt.Fprintf(sw, "<si><t>%s</t></si>", names[k%3])
	}
	sw.WriteString("</sst>")
	sw.Flush()
	w, _ = zw.Create("xl/worksheets/sheet1.xml")
	sw = bufio.NewWriter(w)
	fmt.Fprintf(sw, `<worksheet %s><sheetData>`, nsMain)
	for i := 0; i < rows; i++ {
		r := i + 2
		fmt.Fprintf(sw, `<row r="%d"><c r="A%d" t="s"><v>%d</v></c><c r="B%d" cm="1"><f t="array" ref="B%d:C%d">_xldudf_XLB_GEOLOCATE(A%d)</f><v>0</v></c><c r="C%d"><v>0</v></c>`, r, r, i%unique, r, r, r, r, r)
		if i == 0 {
			fmt.Fprintf(sw, `<c r="D2"><f t="shared" ref="D2:D%d" si="0">XLB.GEOCODE(A2,"city")</f></c>`, rows+1)
		} else {
			fmt.Fprintf(sw, `<c r="D%d"><f t="shared" si="0"/></c>`, r)
		}
		fmt.Fprintf(sw, `<c r="E%d"><f>IF(A%d="","",GEOCODE(A%d,"country"))</f></c></row>`, r, r, r)
	}
	sw.WriteString(`</sheetData></worksheet>`)
	sw.Flush()
	zw.Close()
	bw.Flush()
}

// BenchmarkFill measures the filler alone (read, evaluate, splice, write) on
// 100,000 rows, with test functions that answer at once. The end-to-end
// figures against the fake Geoapify, with peak memory and the excelize
// comparison, come from ./internal/fillbench.
func BenchmarkFill(b *testing.B) {
	dir := b.TempDir()
	in := filepath.Join(dir, "in.xlsx")
	const rows = 100_000
	writeBenchBook(b, in, rows, 20_000)
	reg := newTestRegistry(b)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		sum, err := Fill(context.Background(), reg.Registry, in, filepath.Join(dir, "out.xlsx"), Options{})
		if err != nil {
			b.Fatal(err)
		}
		if sum.Computed != 3*rows {
			b.Fatalf("computed %d cells, skipped %v", sum.Computed, sum.Skipped[:min(3, len(sum.Skipped))])
		}
	}
	b.ReportMetric(float64(3*rows*b.N)/b.Elapsed().Seconds(), "cells/s")
}
