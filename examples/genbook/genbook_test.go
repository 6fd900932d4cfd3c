package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/xuri/excelize/v2"
)

// The committed examples/addresses.xlsx is what the generator makes now.
func TestCommittedWorkbookIsCurrent(t *testing.T) {
	var a, b bytes.Buffer
	if err := write(&a); err != nil {
		t.Fatal(err)
	}
	if err := write(&b); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a.Bytes(), b.Bytes()) {
		t.Fatal("two runs of the generator differ")
	}
	committed, err := os.ReadFile(filepath.Join("..", "addresses.xlsx"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(committed, a.Bytes()) {
		t.Fatal("examples/addresses.xlsx is stale: run go run ./examples/genbook")
	}
}

func TestWorkbookContents(t *testing.T) {
	f, err := excelize.OpenFile(filepath.Join("..", "addresses.xlsx"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for i, addr := range seed[:10] {
		got, _ := f.GetCellValue("Addresses", "A"+itoa(i+2))
		if got != addr {
			t.Errorf("A%d = %q, want %q", i+2, got, addr)
		}
	}
	for _, fn := range []string{"GEOLOCATE", "GEOCODE", "GEODISTANCE"} {
		found := false
		for _, sh := range []string{"Addresses", "Trips"} {
			rows, _ := f.GetRows(sh)
			for r := range rows {
				for c := 1; c <= 7; c++ {
					name, _ := excelize.CoordinatesToCellName(c, r+1)
					if fo, _ := f.GetCellFormula(sh, name); strings.Contains(fo, fn+"(") {
						found = true
					}
				}
			}
		}
		if !found {
			t.Errorf("no %s formula", fn)
		}
	}
}

// examples/recalc-folder.sh fills every workbook of a folder and reports
// the worst exit status.
func TestRecalcFolderScript(t *testing.T) {
	if _, err := exec.LookPath("bash"); err != nil {
		t.Skip("bash not installed")
	}
	bin := filepath.Join(t.TempDir(), "xlbatch")
	if out, err := exec.Command("go", "build", "-o", bin, "../../cmd/xlbatch").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	dir, outdir := t.TempDir(), filepath.Join(t.TempDir(), "out")
	book, _ := os.ReadFile(filepath.Join("..", "addresses.xlsx"))
	os.WriteFile(filepath.Join(dir, "one.xlsx"), book, 0o644)
	os.WriteFile(filepath.Join(dir, "two.XLSX"), book, 0o644)
	os.WriteFile(filepath.Join(dir, "~$one.xlsx"), []byte("lock"), 0o644)

	run := func(args ...string) (int, string) {
		cmd := exec.Command("bash", append([]string{"../recalc-folder.sh"}, args...)...)
		cmd.Env = append(os.Environ(), "XLBATCH="+bin, "XDG_CACHE_HOME="+t.TempDir())
		out, _ := cmd.CombinedOutput()
		return cmd.ProcessState.ExitCode(), string(out)
	}
	code, out := run(dir, outdir)
	if code != 0 || !strings.Contains(out, "recalculated 2 workbook(s)") {
		t.Fatalf("exit %d\n%s", code, out)
	}
	for _, name := range []string{"one.xlsx", "two.XLSX"} {
		f, err := excelize.OpenFile(filepath.Join(outdir, name))
		if err != nil {
			t.Fatal(err)
		}
		if v, _ := f.GetCellValue("Addresses", "D6"); v != "Paris" {
			t.Errorf("%s: D6 = %q", name, v)
		}
		f.Close()
	}
	// In place, with a file that is not a workbook: exit 2, the others filled.
	os.WriteFile(filepath.Join(dir, "broken.xlsx"), []byte("not a workbook"), 0o644)
	code, out = run(dir)
	if code != 2 || !strings.Contains(out, "broken.xlsx: not filled") {
		t.Fatalf("exit %d\n%s", code, out)
	}
	f, err := excelize.OpenFile(filepath.Join(dir, "one.xlsx"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if v, _ := f.GetCellValue("Addresses", "D6"); v != "Paris" {
		t.Errorf("in place: D6 = %q", v)
	}
}

func itoa(i int) string { return strconv.Itoa(i) }
