package fill

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestBadInputs(t *testing.T) {
	good, err := os.ReadFile(writeAcceptanceBook(t))
	if err != nil {
		t.Fatal(err)
	}
	flipped := bytes.Clone(good)
	// Corrupt the compressed bytes of the first entry's data (after its local header).
	for i := 40; i < 60; i++ {
		flipped[i] ^= 0xFF
	}
	cfb := append(bytes.Clone(cfbMagic), make([]byte, 600)...)
	encrypted := append(bytes.Clone(cfb), []byte("E\x00n\x00c\x00r\x00y\x00p\x00t\x00e\x00d\x00P\x00a\x00c\x00k\x00a\x00g\x00e\x00")...)
	noWorkbook := filepath.Join(t.TempDir(), "x.zip")
	writeZip(t, noWorkbook, []part{{"hello.txt", "hi"}})
	noWorkbookBytes, _ := os.ReadFile(noWorkbook)
	xlsb := filepath.Join(t.TempDir(), "x.xlsb")
	writeZip(t, xlsb, []part{{"_rels/.rels", `<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.bin"/></Relationships>`}, {"xl/workbook.bin", "\x00"}})
	xlsbBytes, _ := os.ReadFile(xlsb)
	badSheet := acceptanceParts(xlsmMain)
	for i := range badSheet {
		if badSheet[i].name == "xl/worksheets/sheet1.xml" {
			badSheet[i].body = strings.Replace(acceptanceSheet1, "</sheetData>", "<row><c r=\"B9\"><f>GEOCODE(", 1)
		}
	}
	badSheetPath := filepath.Join(t.TempDir(), "bad.xlsx")
	writeZip(t, badSheetPath, badSheet)
	badSheetBytes, _ := os.ReadFile(badSheetPath)

	cases := []struct {
		name string
		data []byte
		want string
	}{
		{"truncated", good[:len(good)/2], "truncated or corrupt"},
		{"corrupt", flipped, "corrupt"},
		{"empty", nil, "not a workbook"},
		{"text", []byte("name,address\nx,y\n"), "not a workbook"},
		{"encrypted", encrypted, "encrypted"},
		{"xls", cfb, "legacy binary .xls"},
		{"zip without workbook", noWorkbookBytes, "not an Excel workbook"},
		{"xlsb", xlsbBytes, "binary workbook (.xlsb)"},
		{"broken sheet XML", badSheetBytes, `read sheet "Data"`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			in := filepath.Join(dir, "in.xlsx")
			if err := os.WriteFile(in, c.data, 0o644); err != nil {
				t.Fatal(err)
			}
			out := filepath.Join(dir, "out.xlsx")
			_, err := Fill(context.Background(), newTestRegistry(t).Registry, in, out, Options{})
			var ie *InputError
			if !errors.As(err, &ie) || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("got %v, want an InputError saying %q", err, c.want)
			}
			if _, err := os.Stat(out); !os.IsNotExist(err) {
				t.Error("an output was written")
			}
			after, _ := os.ReadFile(in)
			if !bytes.Equal(after, c.data) {
				t.Error("the input changed")
			}
			entries, _ := os.ReadDir(dir)
			if len(entries) != 1 {
				t.Errorf("files left behind: %v", entries)
			}
		})
	}
}

func TestMissingInput(t *testing.T) {
	_, err := Fill(context.Background(), newTestRegistry(t).Registry, filepath.Join(t.TempDir(), "nope.xlsx"), filepath.Join(t.TempDir(), "o.xlsx"), Options{})
	var ie *InputError
	if !errors.As(err, &ie) || !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("got %v", err)
	}
}

func TestBadOutputs(t *testing.T) {
	if os.Geteuid() == 0 {
		// Root ignores directory permissions; the read-only file case still runs below.
		t.Log("running as root: the read-only directory case is checked by mode bits only")
	}
	in := writeAcceptanceBook(t)
	before, _ := os.ReadFile(in)
	dir := t.TempDir()
	readOnly := filepath.Join(dir, "ro.xlsm")
	if err := os.WriteFile(readOnly, []byte("old"), 0o444); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name, out, want string
	}{
		{"missing directory", filepath.Join(dir, "no", "such", "dir", "out.xlsm"), "output directory"},
		{"read-only file", readOnly, "read-only"},
		{"directory as output", dir, "is a directory"},
	}
	if os.Geteuid() != 0 {
		roDir := filepath.Join(dir, "rodir")
		os.Mkdir(roDir, 0o555)
		cases = append(cases, struct{ name, out, want string }{"read-only directory", filepath.Join(roDir, "out.xlsm"), "permission denied"})
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Fill(context.Background(), newTestRegistry(t).Registry, in, c.out, Options{})
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("got %v, want an error saying %q", err, c.want)
			}
			if after, _ := os.ReadFile(in); !bytes.Equal(after, before) {
				t.Error("the input changed")
			}
		})
	}
	if b, _ := os.ReadFile(readOnly); string(b) != "old" {
		t.Error("the read-only output was overwritten")
	}
}

func TestCancelledFillWritesNothing(t *testing.T) {
	in := writeAcceptanceBook(t)
	out := filepath.Join(t.TempDir(), "out.xlsm")
	ctx, cancel := context.WithCancel(context.Background())
	_, err := Fill(ctx, newTestRegistry(t).Registry, in, out, Options{afterPart: func(name string) {
		if name == "xl/worksheets/sheet1.xml" {
			cancel()
		}
	}})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v", err)
	}
	entries, _ := os.ReadDir(filepath.Dir(out))
	if len(entries) != 0 {
		t.Errorf("left behind: %v", entries)
	}
}

func TestInPlace(t *testing.T) {
	in := writeAcceptanceBook(t)
	os.Chmod(in, 0o640)
	if _, err := Fill(context.Background(), newTestRegistry(t).Registry, in, in, Options{}); err != nil {
		t.Fatal(err)
	}
	if got := cellXML(partText(t, in, "xl/worksheets/sheet1.xml"), "D2"); !strings.Contains(got, "<v>London</v>") {
		t.Errorf("not filled in place: %s", got)
	}
	if st, _ := os.Stat(in); st.Mode().Perm() != 0o640 {
		t.Errorf("mode became %v", st.Mode().Perm())
	}
	entries, _ := os.ReadDir(filepath.Dir(in))
	if len(entries) != 1 {
		t.Errorf("left behind: %v", entries)
	}
}
