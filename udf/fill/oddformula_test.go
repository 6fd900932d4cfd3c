package fill

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
)

// TestOddFormulasLeaveTheRestFilled puts formulas the evaluator refuses
// (a character that starts no token, nesting deeper than allowed, unbalanced
// parentheses) beside an ordinary function cell: the fill succeeds, the odd
// cells are left as they were and the ordinary one is filled.
func TestOddFormulasLeaveTheRestFilled(t *testing.T) {
	deep := strings.Repeat("(", 300) + "A2" + strings.Repeat(")", 300)
	odd := map[string]string{
		"S4": `<c r="S4"><f>GEOCODE(A2,"city")&amp;€</f><v>1</v></c>`,
		"T4": `<c r="T4"><f>GEOCODE(` + deep + `,"city")</f><v>2</v></c>`,
		"U4": `<c r="U4"><f>GEOCODE((A2,"city")</f><v>3</v></c>`,
		"V4": `<c r="V4"><f>'Ünï 表'!A1&amp;GEOCODE(A2,"city")</f><v>4</v></c>`,
	}
	extra := odd["S4"] + odd["T4"] + odd["U4"] + odd["V4"] + `<c r="W4"><f>GEOCODE(A2,"city")</f></c>`
	parts := acceptanceParts(xlsmMain)
	for i := range parts {
		if parts[i].name == "xl/worksheets/sheet1.xml" {
			parts[i].body = strings.Replace(acceptanceSheet1, `<c r="D4"><f t="shared" si="0"></f></c>`, `<c r="D4"><f t="shared" si="0"></f></c>`+extra, 1)
			if parts[i].body == acceptanceSheet1 {
				t.Fatal("fixture changed: D4 not found")
			}
		}
	}
	dir := t.TempDir()
	in, out := filepath.Join(dir, "in.xlsm"), filepath.Join(dir, "out.xlsm")
	writeZip(t, in, parts)
	reg := newTestRegistry(t)
	if _, err := Fill(context.Background(), reg.Registry, in, out, Options{}); err != nil {
		t.Fatal(err)
	}
	sheet := partText(t, out, "xl/worksheets/sheet1.xml")
	for ref, want := range odd {
		if got := cellXML(sheet, ref); got != want {
			t.Errorf("%s = %s, want it untouched: %s", ref, got, want)
		}
	}
	if got, want := cellXML(sheet, "W4"), `<c r="W4" t="str"><f>GEOCODE(A2,"city")</f><v>London</v></c>`; got != want {
		t.Errorf("W4 = %s, want %s", got, want)
	}
}
