package fill

import (
	"archive/zip"
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"strconv"
	"strings"
)

// InputError reports an input file that is not a workbook fill can read:
// corrupt, truncated, encrypted, legacy binary, or missing parts.
type InputError struct {
	Path string
	Err  error
}

func (e *InputError) Error() string { return e.Path + ": " + e.Err.Error() }
func (e *InputError) Unwrap() error { return e.Err }

// cfbMagic starts every OLE compound file: legacy .xls files and workbooks
// encrypted with a password, which Excel wraps in one.
var cfbMagic = []byte{0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1}

// workbookPkg is an opened workbook package: the zip, the workbook part's
// sheets and defined names, and the shared strings.
type workbookPkg struct {
	file     *os.File
	zr       *zip.Reader
	files    map[string]*zip.File // by part name, no leading slash
	wbPath   string               // e.g. xl/workbook.xml
	sheets   []*sheet             // worksheets in workbook order
	names    []definedName
	sst      []string
	calcPath string // the calcChain part, if any

	shapes map[string]*shape // parsed formulas by shape, see parse
	keyBuf []byte
}

type definedName struct {
	name, text string
	local      int // sheet index for a sheet-scoped name, -1 for the workbook
}

func (p *workbookPkg) Close() error { return p.file.Close() }

// openPkg opens a workbook and reads its structure (not its sheets' cells).
func openPkg(name string) (*workbookPkg, error) {
	bad := func(format string, args ...any) error {
		return &InputError{Path: name, Err: fmt.Errorf(format, args...)}
	}
	f, err := os.Open(name)
	if err != nil {
		return nil, &InputError{Path: name, Err: err}
	}
	ok := false
	defer func() {
		if !ok {
			f.Close()
		}
	}()
	st, err := f.Stat()
	if err != nil {
		return nil, &InputError{Path: name, Err: err}
	}
	if st.IsDir() {
		return nil, bad("is a directory, not a workbook")
	}
	head := make([]byte, 8)
	n, _ := io.ReadFull(f, head)
	if n == 8 && bytes.Equal(head, cfbMagic) {
		if encryptedCFB(f, st.Size()) {
			return nil, bad("the workbook is encrypted (password-protected); save it without a password in Excel first")
		}
		return nil, bad("is a legacy binary .xls (or other OLE) file; save it as .xlsx or .xlsm first")
	}
	if n < 4 || string(head[:2]) != "PK" {
		return nil, bad("is not a workbook (.xlsx or .xlsm files are zip packages)")
	}
	zr, err := zip.NewReader(f, st.Size())
	if err != nil {
		return nil, bad("is not a readable zip package (truncated or corrupt): %v", err)
	}
	p := &workbookPkg{file: f, zr: zr, files: map[string]*zip.File{}}
	for _, zf := range zr.File {
		p.files[strings.TrimPrefix(zf.Name, "/")] = zf
	}
	if err := p.readStructure(); err != nil {
		return nil, &InputError{Path: name, Err: err}
	}
	ok = true
	return p, nil
}

// encryptedCFB looks for the EncryptedPackage stream name (UTF-16LE) that
// marks an encrypted OOXML file inside a compound file.
func encryptedCFB(f *os.File, size int64) bool {
	needle := []byte("E\x00n\x00c\x00r\x00y\x00p\x00t\x00e\x00d\x00P\x00a\x00c\x00k\x00a\x00g\x00e\x00")
	buf := make([]byte, min(size, 8<<20))
	n, _ := f.ReadAt(buf, 0)
	return bytes.Contains(buf[:n], needle)
}

type relationships struct {
	Rels []struct {
		ID         string `xml:"Id,attr"`
		Type       string `xml:"Type,attr"`
		Target     string `xml:"Target,attr"`
		TargetMode string `xml:"TargetMode,attr"`
	} `xml:"Relationship"`
}

// readXML unmarshals a small part. Sheet parts are never read this way.
func (p *workbookPkg) readXML(name string, v any) error {
	zf := p.files[name]
	if zf == nil {
		return fmt.Errorf("part %s is missing", name)
	}
	if zf.UncompressedSize64 > 256<<20 {
		return fmt.Errorf("part %s is implausibly large", name)
	}
	rc, err := zf.Open()
	if err != nil {
		return fmt.Errorf("read %s: %w", name, err)
	}
	defer rc.Close()
	if err := xml.NewDecoder(rc).Decode(v); err != nil {
		return fmt.Errorf("read %s: %w", name, err)
	}
	return nil
}

// relsOf reads the relationships of a part, targets resolved to part names.
func (p *workbookPkg) relsOf(part string) (map[string]string, map[string]string, error) {
	dir, file := path.Split(part)
	relsName := dir + "_rels/" + file + ".rels"
	byID, byType := map[string]string{}, map[string]string{}
	if p.files[relsName] == nil {
		return byID, byType, nil
	}
	var rels relationships
	if err := p.readXML(relsName, &rels); err != nil {
		return nil, nil, err
	}
	for _, r := range rels.Rels {
		if strings.EqualFold(r.TargetMode, "External") {
			continue
		}
		t := r.Target
		if strings.HasPrefix(t, "/") {
			t = strings.TrimPrefix(t, "/")
		} else {
			t = path.Join(dir, t)
		}
		byID[r.ID] = t
		typ := r.Type[strings.LastIndexByte(r.Type, '/')+1:]
		if _, dup := byType[typ]; !dup {
			byType[typ] = t
		}
	}
	return byID, byType, nil
}

type workbookXML struct {
	Sheets []struct {
		Name  string `xml:"name,attr"`
		State string `xml:"state,attr"`
		RID   string `xml:"http://schemas.openxmlformats.org/officeDocument/2006/relationships id,attr"`
	} `xml:"sheets>sheet"`
	Names []struct {
		Name  string `xml:"name,attr"`
		Local string `xml:"localSheetId,attr"`
		Text  string `xml:",chardata"`
	} `xml:"definedNames>definedName"`
}

func (p *workbookPkg) readStructure() error {
	_, root, err := p.relsOf("")
	if err != nil {
		return err
	}
	p.wbPath = root["officeDocument"]
	if p.wbPath == "" {
		if p.files["xl/workbook.xml"] != nil {
			p.wbPath = "xl/workbook.xml"
		} else {
			return errors.New("is a zip file but not an Excel workbook (no workbook part)")
		}
	}
	if strings.HasSuffix(p.wbPath, ".bin") {
		return errors.New("is a binary workbook (.xlsb); save it as .xlsx or .xlsm first")
	}
	if p.files[p.wbPath] == nil {
		return fmt.Errorf("the workbook part %s is missing", p.wbPath)
	}
	var wb workbookXML
	if err := p.readXML(p.wbPath, &wb); err != nil {
		return err
	}
	byID, byType, err := p.relsOf(p.wbPath)
	if err != nil {
		return err
	}
	for i, s := range wb.Sheets {
		target := byID[s.RID]
		sh := &sheet{index: i, name: s.Name}
		// Chart sheets and dialog or macro sheets have no cells to fill.
		if zf := p.files[target]; zf != nil && strings.Contains(target, "worksheets/") {
			sh.part = target
		}
		p.sheets = append(p.sheets, sh)
	}
	for _, n := range wb.Names {
		local := -1
		if n.Local != "" {
			if v, err := strconv.Atoi(n.Local); err == nil {
				local = v
			}
		}
		p.names = append(p.names, definedName{name: n.Name, text: n.Text, local: local})
	}
	p.calcPath = byType["calcChain"]
	if sst := byType["sharedStrings"]; sst != "" && p.files[sst] != nil {
		if err := p.readSharedStrings(sst); err != nil {
			return err
		}
	}
	return nil
}

// readSharedStrings reads the shared-string table: each <si> is the
// concatenation of its <t> texts, phonetic runs (<rPh>) excluded.
func (p *workbookPkg) readSharedStrings(name string) error {
	rc, err := p.files[name].Open()
	if err != nil {
		return fmt.Errorf("read %s: %w", name, err)
	}
	defer rc.Close()
	sc := newScanner(rc)
	var cur []byte
	inT, inPh, inSI := false, 0, false
	for {
		t, err := sc.next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return fmt.Errorf("read %s: %w", name, err)
		}
		switch t.kind {
		case tokStart:
			switch string(t.name) {
			case "si":
				inSI, cur = true, cur[:0]
			case "t":
				inT = true
			case "rPh":
				inPh++
			}
		case tokEmpty:
			if string(t.name) == "si" {
				p.sst = append(p.sst, "")
			}
		case tokEnd:
			switch string(t.name) {
			case "si":
				s, err := unescape(cur)
				if err != nil {
					return fmt.Errorf("read %s: %w", name, err)
				}
				p.sst = append(p.sst, decodeXEscapes(s))
				inSI = false
			case "t":
				inT = false
			case "rPh":
				inPh--
			}
		case tokText:
			if inSI && inT && inPh == 0 {
				cur = append(cur, t.raw...)
			}
		case tokCDATA:
			if inSI && inT && inPh == 0 {
				cur = appendEscaped(cur, string(t.raw[9:len(t.raw)-3]))
			}
		}
	}
	return nil
}

// sheetByName finds a worksheet, case-insensitively as Excel does.
func (p *workbookPkg) sheetByName(name string) *sheet {
	for _, s := range p.sheets {
		if strings.EqualFold(s.name, name) {
			return s
		}
	}
	return nil
}
