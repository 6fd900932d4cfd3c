package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/xlbatch/xlbatch/geoapify/offline/internal/gazetteer"
)

func TestRunNeedsArguments(t *testing.T) {
	if err := run("", "out"); err == nil || !strings.Contains(err.Error(), "-in") {
		t.Errorf("no input: error %v", err)
	}
	if err := run(t.TempDir(), ""); err == nil || !strings.Contains(err.Error(), "-out") {
		t.Errorf("no output: error %v", err)
	}
}

// TestRunLeavesOldOutputOnError: a failed run keeps the previous file.
func TestRunLeavesOldOutputOnError(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "cities.bin")
	if err := os.WriteFile(out, []byte("previous"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := run(filepath.Join(dir, "missing"), out); err == nil {
		t.Fatal("missing input: no error")
	}
	if b, _ := os.ReadFile(out); string(b) != "previous" {
		t.Errorf("output changed to %q", b)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("left behind: %v", entries)
	}
}

func TestRunWritesDecodableFile(t *testing.T) {
	in := t.TempDir()
	files := map[string]string{
		gazetteer.CountriesFile: "FR\tFRA\t250\tFR\tFrance\n",
		gazetteer.AdminsFile:    "FR.11\tÎle-de-France\tIle-de-France\t3012874\n",
		gazetteer.CitiesFile:    "2988507\tParis\tParis\t\t48.85341\t2.3488\tP\tPPLC\tFR\t\t11\t75\t751\t75056\t2138551\t\t42\tEurope/Paris\t2023-06-07\n",
	}
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(in, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	out := filepath.Join(t.TempDir(), "x.bin")
	if err := run(in, out); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	d, err := gazetteer.Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Cities) != 1 || d.Cities[0].Name != "Paris" {
		t.Errorf("decoded cities %+v", d.Cities)
	}
}
