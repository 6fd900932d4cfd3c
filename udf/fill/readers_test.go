package fill

import (
	"context"
	"encoding/csv"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tealeg/xlsx/v3"
)

// filledAcceptanceBook fills the acceptance workbook and returns the output path.
func filledAcceptanceBook(t *testing.T, opt Options) string {
	t.Helper()
	in := writeAcceptanceBook(t)
	out := filepath.Join(t.TempDir(), "filled.xlsm")
	if _, err := Fill(context.Background(), newTestRegistry(t).Registry, in, out, opt); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestReadBackWithTealeg reads the output with an independent xlsx reader:
// formulas are there, and cached values with their types.
func TestReadBackWithTealeg(t *testing.T) {
	out := filledAcceptanceBook(t, Options{})
	wb, err := xlsx.OpenFile(out)
	if err != nil {
		t.Fatal(err)
	}
	sh, ok := wb.Sheet["Data"]
	if !ok {
		t.Fatal("no Data sheet")
	}
	london, paris := places["221B Baker St London"], places["Tour Eiffel Paris"]
	cases := []struct {
		ref     string
		formula string
		typ     xlsx.CellType
		value   string
	}{
		{"B2", "_xldudf_XLB_GEOLOCATE(A2)", xlsx.CellTypeNumeric, num(london.lat)},
		{"C2", "", xlsx.CellTypeNumeric, num(london.lon)},
		{"D2", `XLB.GEOCODE(A2,"city")`, xlsx.CellTypeStringFormula, "London"},
		{"D3", `XLB.GEOCODE(A3,"city")`, xlsx.CellTypeStringFormula, "Paris"},
		{"F2", `IFERROR(GEOCODE(A2,"country"),"?")&"!"`, xlsx.CellTypeStringFormula, "GB!"},
		{"J2", `ISNUMBER(GEOCODE(A2,"lat"))`, xlsx.CellTypeBool, "1"},
		{"K2", `GEOCODE("Nowhere","city")`, xlsx.CellTypeError, "#N/A"},
		{"C3", "", xlsx.CellTypeNumeric, num(paris.lon)},
		{"N2", `GEOCODE(A2,"city")`, xlsx.CellTypeStringFormula, "London"},
	}
	for _, c := range cases {
		row, col := mustCell(t, c.ref)
		cell, err := sh.Cell(row-1, col-1)
		if err != nil {
			t.Fatal(err)
		}
		if cell.Formula() != c.formula || cell.Type() != c.typ || cell.Value != c.value {
			t.Errorf("%s: formula %q type %v value %q; want %q %v %q", c.ref, cell.Formula(), cell.Type(), cell.Value, c.formula, c.typ, c.value)
		}
	}
}

// TestReadBackWithLibreOffice converts filled output to CSV with LibreOffice.
//
// LibreOffice does not recalculate xlsx files on load by default, so it
// shows cached values, except in cells whose formulas call a function it
// does not know: those it evaluates itself, to #NAME?, whatever the file
// holds. So the function cells are checked in the --values output (values
// only), and the formula output is checked to load with its other cells intact.
func TestReadBackWithLibreOffice(t *testing.T) {
	if _, err := exec.LookPath("soffice"); err != nil {
		t.Skip("soffice not installed (Debian package libreoffice-calc-nogui; CI installs it)")
	}
	london, paris := places["221B Baker St London"], places["Tour Eiffel Paris"]
	four := func(f float64) string { return strconv.FormatFloat(f, 'f', 4, 64) } // style 1 is 0.0000
	t.Run("values", func(t *testing.T) {
		rows := libreOfficeCSV(t, filledAcceptanceBook(t, Options{Values: true}))
		want := map[string]string{
			"B2": four(london.lat), "C2": four(london.lon), "D2": "London", "D3": "Paris", "D4": "New York",
			"E2": num(london.lat), "F2": "GB!", "H2": "Paris", "I2": "Paris", "J2": "TRUE", "K2": "#N/A",
			"L2": "3", "N2": "London", "B3": num(paris.lat), "C3": num(paris.lon), "Q2": num(paris.lat), "R2": num(paris.lon),
			"P2": "221B Baker St Londonx", "C4": "keep",
		}
		for ref, w := range want {
			if got := csvCell(t, rows, ref); got != w {
				t.Errorf("LibreOffice shows %s = %q, want %q", ref, got, w)
			}
		}
	})
	t.Run("formulas", func(t *testing.T) {
		rows := libreOfficeCSV(t, filledAcceptanceBook(t, Options{}))
		for ref, w := range map[string]string{"A2": "221B Baker St London", "P2": "221B Baker St Londonx", "C4": "keep", "A4": "11 Wall Street New York"} {
			if got := csvCell(t, rows, ref); got != w {
				t.Errorf("LibreOffice shows %s = %q, want %q", ref, got, w)
			}
		}
	})
}

func csvCell(t *testing.T, rows [][]string, ref string) string {
	r, c := mustCell(t, ref)
	if r-1 >= len(rows) || c-1 >= len(rows[r-1]) {
		return "<missing>"
	}
	return rows[r-1][c-1]
}

// libreOfficeCSV converts a workbook's first sheet to CSV rows with soffice.
func libreOfficeCSV(t *testing.T, book string) [][]string {
	t.Helper()
	soffice, _ := exec.LookPath("soffice")
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, soffice, "-env:UserInstallation=file://"+filepath.Join(dir, "profile"),
		"--headless", "--convert-to", "csv", "--outdir", dir, book)
	cmd.Env = append(os.Environ(), "HOME="+dir)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("soffice: %v\n%s", err, b)
	}
	f, err := os.Open(filepath.Join(dir, strings.TrimSuffix(filepath.Base(book), filepath.Ext(book))+".csv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	return rows
}

func mustCell(t *testing.T, ref string) (int, int) {
	t.Helper()
	for i := range ref {
		if ref[i] >= '0' && ref[i] <= '9' {
			row, _ := strconv.Atoi(ref[i:])
			col := 0
			for _, c := range ref[:i] {
				col = col*26 + int(c-'A'+1)
			}
			return row, col
		}
	}
	t.Fatalf("bad ref %s", ref)
	return 0, 0
}
