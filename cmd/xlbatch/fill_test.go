package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tealeg/xlsx/v3"
	"github.com/xuri/excelize/v2"

	"github.com/xlbatch/xlbatch/geoapify/geoapifytest"
	"github.com/xlbatch/xlbatch/udf/fill"
)

// copyExample copies examples/addresses.xlsx into a temporary directory.
func copyExample(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "examples", "addresses.xlsx"))
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "addresses.xlsx")
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// The README quickstart: fill the example offline, then read it back with an
// independent reader.
func TestFillExampleOffline(t *testing.T) {
	in := copyExample(t)
	before, _ := os.ReadFile(in)
	out := filepath.Join(filepath.Dir(in), "filled.xlsx")
	code, stdout, stderr := runMain(t, nil, "fill", in, "-o", out, "--json")
	if code != exitOK {
		t.Fatalf("exit %d\nstdout %s\nstderr %s", code, stdout, stderr)
	}
	var sum fill.Summary
	if err := json.Unmarshal([]byte(stdout), &sum); err != nil {
		t.Fatalf("--json output: %v\n%s", err, stdout)
	}
	if sum.Formulas == 0 || sum.Computed != sum.Formulas || len(sum.Skipped) != 0 || sum.Stats.UpstreamRequests != 0 {
		t.Errorf("summary %+v", sum)
	}
	if after, _ := os.ReadFile(in); !bytes.Equal(before, after) {
		t.Error("the input changed")
	}
	wb, err := xlsx.OpenFile(out)
	if err != nil {
		t.Fatal(err)
	}
	sh := wb.Sheet["Addresses"]
	cases := []struct {
		row, col int
		formula  string
		value    string
	}{
		{5, 3, `_xldudf_XLB_GEOCODE(A6,"city")`, "Paris"}, // D6: Tour Eiffel Paris
		{4, 3, `_xldudf_XLB_GEOCODE(A5,"city")`, "London"},
		{10, 4, `_xldudf_XLB_GEOCODE(A11,"country_code")`, "AU"}, // Sydney
	}
	for _, c := range cases {
		cell, err := sh.Cell(c.row, c.col)
		if err != nil {
			t.Fatal(err)
		}
		if cell.Formula() != c.formula || cell.Value != c.value {
			t.Errorf("R%dC%d: %q = %q, want %q = %q", c.row+1, c.col+1, cell.Formula(), cell.Value, c.formula, c.value)
		}
	}
	lat, _ := sh.Cell(5, 1)
	if f, err := lat.Float(); err != nil || f < 48.7 || f > 49 {
		t.Errorf("latitude of Paris: %q", lat.Value)
	}
}

func TestFillFlagsAndPaths(t *testing.T) {
	in := copyExample(t)
	dir := filepath.Dir(in)
	corrupt := filepath.Join(dir, "corrupt.xlsx")
	os.WriteFile(corrupt, []byte("PK\x03\x04 this is not really a zip"), 0o644)
	readOnly := filepath.Join(dir, "ro.xlsx")
	os.WriteFile(readOnly, []byte("old"), 0o444)
	cases := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"help", []string{"fill", "--help"}, exitOK, "Usage: xlbatch fill"},
		{"no input", []string{"fill"}, exitUsage, "no input workbook"},
		{"no output", []string{"fill", in}, exitUsage, "say where to write"},
		{"two outputs", []string{"fill", in, "-o", filepath.Join(dir, "x.xlsx"), "--in-place"}, exitUsage, "not both"},
		{"extension", []string{"fill", in, "-o", filepath.Join(dir, "x.xlsm")}, exitUsage, "extension .xlsx"},
		{"same file", []string{"fill", in, "-o", in}, exitUsage, "--in-place"},
		{"two inputs", []string{"fill", in, in, "-o", filepath.Join(dir, "y.xlsx")}, exitUsage, "one input workbook"},
		{"corrupt", []string{"fill", corrupt, "-o", filepath.Join(dir, "z.xlsx")}, exitUsage, "truncated or corrupt"},
		{"missing input", []string{"fill", filepath.Join(dir, "nope.xlsx"), "-o", filepath.Join(dir, "z.xlsx")}, exitUsage, "no such file"},
		{"missing out dir", []string{"fill", in, "-o", filepath.Join(dir, "none", "z.xlsx")}, exitUsage, "output directory"},
		{"read-only output", []string{"fill", in, "-o", readOnly}, exitUsage, "read-only"},
		{"bad progress", []string{"fill", in, "-o", filepath.Join(dir, "z.xlsx"), "--progress", "sometimes"}, exitUsage, "--progress"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, stdout, stderr := runMain(t, nil, c.args...)
			if code != c.code || !strings.Contains(stdout+stderr, c.want) {
				t.Errorf("exit %d (want %d)\nstdout %s\nstderr %s\nwant %q", code, c.code, stdout, stderr, c.want)
			}
		})
	}
	if _, err := os.Stat(filepath.Join(dir, "z.xlsx")); !os.IsNotExist(err) {
		t.Error("a failed run wrote output")
	}
	if b, _ := os.ReadFile(readOnly); string(b) != "old" {
		t.Error("the read-only output was overwritten")
	}
}

// Errors in results give exit status 1 and are counted in the summary.
func TestFillExitOneOnErrorValues(t *testing.T) {
	f := excelize.NewFile()
	f.SetCellFormula("Sheet1", "A1", `GEOCODE("Qzxqzxq Vvvwwq","city")`)
	f.SetCellFormula("Sheet1", "A2", `GEOCODE("Paris, France","city")`)
	in := filepath.Join(t.TempDir(), "e.xlsx")
	if err := f.SaveAs(in); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(filepath.Dir(in), "out.xlsx")
	code, stdout, stderr := runMain(t, nil, "fill", "--progress", "never", in, "-o", out)
	if code != exitError || !strings.Contains(stdout, "1 cells hold error values") {
		t.Fatalf("exit %d\nstdout %s\nstderr %s", code, stdout, stderr)
	}
	g, err := excelize.OpenFile(out)
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	if v, _ := g.GetCellValue("Sheet1", "A1"); v != "#N/A" {
		t.Errorf("A1 = %q", v)
	}
	if v, _ := g.GetCellValue("Sheet1", "A2"); v != "Paris" {
		t.Errorf("A2 = %q", v)
	}
}

// An interrupted run leaves nothing, and the next run gets every answer it
// had already looked up from the cache: no upstream request is repeated.
func TestFillRerunAfterInterruptionCostsNoRequests(t *testing.T) {
	fake := geoapifytest.NewServer(geoapifytest.Options{})
	defer fake.Close()
	in := copyExample(t)
	out := filepath.Join(filepath.Dir(in), "out.xlsx")
	env := map[string]string{"GEOAPIFY_API_KEY": "test-key", "XDG_CACHE_HOME": t.TempDir()}
	args := []string{"fill", "--geoapify-url", fake.URL, "--progress", "never", "--json", in, "-o", out}

	// First run: interrupted once the values are computed, while writing.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	fillOptionsHook = func(o *fill.Options) {
		o.Progress = func(p fill.Progress) {
			if p.Phase == "write" {
				cancel()
			}
		}
	}
	defer func() { fillOptionsHook = nil }()
	var o1, e1 bytes.Buffer
	m := &Main{Stdin: strings.NewReader(""), Stdout: &o1, Stderr: &e1, Getenv: func(k string) string { return env[k] }}
	if code := m.Run(ctx, args); code != exitUsage || !strings.Contains(e1.String(), "interrupted") {
		t.Fatalf("interrupted run: exit %d\n%s\n%s", code, o1.String(), e1.String())
	}
	fillOptionsHook = nil
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Fatal("the interrupted run left an output file")
	}
	first := fake.Counters()
	if len(first.Requests) == 0 {
		t.Fatal("the first run made no requests")
	}
	code, stdout, stderr := runMain(t, env, args...)
	if code != exitOK {
		t.Fatalf("second run: exit %d\n%s\n%s", code, stdout, stderr)
	}
	var sum fill.Summary
	json.Unmarshal([]byte(stdout), &sum)
	second := fake.Counters()
	total := func(c geoapifytest.Counters) int {
		n := 0
		for _, v := range c.Requests {
			n += v
		}
		return n
	}
	if total(second) != total(first) || sum.Stats.UpstreamRequests != 0 {
		t.Errorf("second run made %d more requests (summary says %d upstream)", total(second)-total(first), sum.Stats.UpstreamRequests)
	}
}

func TestFillDryRunAndValues(t *testing.T) {
	in := copyExample(t)
	dir := filepath.Dir(in)
	code, stdout, stderr := runMain(t, nil, "fill", "--dry-run", in)
	if code != exitOK || !strings.Contains(stdout, "Dry run:") {
		t.Fatalf("dry run: exit %d\n%s\n%s", code, stdout, stderr)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("dry run wrote files: %v", entries)
	}
	out := filepath.Join(dir, "values.xlsx")
	code, stdout, stderr = runMain(t, nil, "fill", "--values", "--progress", "never", in, "-o", out)
	if code != exitOK {
		t.Fatalf("--values: exit %d\n%s\n%s", code, stdout, stderr)
	}
	f, err := excelize.OpenFile(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if fo, _ := f.GetCellFormula("Addresses", "D6"); fo != "" {
		t.Errorf("--values kept the formula %q", fo)
	}
	if v, _ := f.GetCellValue("Addresses", "D6"); v != "Paris" {
		t.Errorf("D6 = %q", v)
	}
	// --only-missing on the filled copy has nothing left to compute.
	filled := filepath.Join(dir, "filled.xlsx")
	if code, _, stderr := runMain(t, nil, "fill", in, "-o", filled); code != exitOK {
		t.Fatalf("fill: %d %s", code, stderr)
	}
	code, stdout, _ = runMain(t, nil, "fill", "--only-missing", "--json", "--in-place", filled)
	var sum fill.Summary
	if err := json.Unmarshal([]byte(stdout), &sum); err != nil || code != exitOK {
		t.Fatalf("--only-missing: exit %d, %v\n%s", code, err, stdout)
	}
	// The blank row's cells hold empty text, which is a value: all are kept.
	if sum.Kept != sum.Formulas || sum.Computed != 0 {
		t.Errorf("--only-missing recomputed cells: %+v", sum)
	}
}
