package addin_test

import (
	"encoding/xml"
	"io/fs"
	"net/url"
	"regexp"
	"strings"
	"testing"

	addin "github.com/xlbatch/xlbatch/excel-addin"
	"github.com/xlbatch/xlbatch/udf/server"
)

// served are the paths the server answers itself rather than from Files.
var served = map[string]bool{"functions.json": true, "manifest.xml": true}

// TestManifestTemplate fills the manifest template as the server does and
// checks it against what Office needs of a shared-runtime custom-functions
// add-in.
func TestManifestTemplate(t *testing.T) {
	const base = "https://localhost:9123"
	b, err := server.Manifest(addin.Files, base)
	if err != nil {
		t.Fatal(err)
	}
	text := string(b)
	if strings.Contains(text, "{{") {
		t.Errorf("placeholder left in the manifest:\n%s", text)
	}

	// Every URL points at the server and names a file it serves.
	for _, m := range regexp.MustCompile(`https?://[^"<\s]+`).FindAllString(text, -1) {
		if strings.HasPrefix(m, "http://schemas.microsoft.com/") || strings.HasPrefix(m, "http://www.w3.org/") {
			continue
		}
		u, err := url.Parse(m)
		if err != nil || u.Scheme+"://"+u.Host != base {
			t.Errorf("URL %q does not point at the server %s", m, base)
			continue
		}
		name := strings.TrimPrefix(u.Path, "/")
		if name == "" || served[name] {
			continue
		}
		if _, err := fs.Stat(addin.Files, name); err != nil {
			t.Errorf("the manifest names %s, which the add-in does not have", m)
		}
	}

	var doc struct {
		XMLName  xml.Name
		ID       string `xml:"Id"`
		Requires []struct {
			Name string `xml:"Name,attr"`
		} `xml:"Requirements>Sets>Set"`
		Host struct {
			Runtime struct {
				Resid    string `xml:"resid,attr"`
				Lifetime string `xml:"lifetime,attr"`
			} `xml:"Runtimes>Runtime"`
			CF struct {
				Script    residRef `xml:"Script>SourceLocation"`
				Page      residRef `xml:"Page>SourceLocation"`
				Metadata  residRef `xml:"Metadata>SourceLocation"`
				Namespace residRef `xml:"Namespace"`
			} `xml:"AllFormFactors>ExtensionPoint"`
			FunctionFile residRef `xml:"DesktopFormFactor>FunctionFile"`
		} `xml:"VersionOverrides>Hosts>Host"`
		Urls []struct {
			ID    string `xml:"id,attr"`
			Value string `xml:"DefaultValue,attr"`
		} `xml:"VersionOverrides>Resources>Urls>Url"`
		Strings []struct {
			ID    string `xml:"id,attr"`
			Value string `xml:"DefaultValue,attr"`
		} `xml:"VersionOverrides>Resources>ShortStrings>String"`
	}
	if err := xml.Unmarshal(b, &doc); err != nil {
		t.Fatalf("the manifest is not XML: %v", err)
	}
	urls := map[string]string{}
	for _, u := range doc.Urls {
		urls[u.ID] = u.Value
	}
	shorts := map[string]string{}
	for _, s := range doc.Strings {
		shorts[s.ID] = s.Value
	}
	h := doc.Host
	checks := []struct {
		what, got, want string
	}{
		{"root element", doc.XMLName.Local, "OfficeApp"},
		{"requirement set", firstSet(doc.Requires), "SharedRuntime"},
		// The shared runtime: one page (the task pane) runs the functions and lives long.
		{"runtime lifetime", h.Runtime.Lifetime, "long"},
		{"custom functions page", h.CF.Page.Resid, h.Runtime.Resid},
		{"function file", h.FunctionFile.Resid, h.Runtime.Resid},
		{"runtime page URL", urls[h.Runtime.Resid], base + "/taskpane.html"},
		{"functions script URL", urls[h.CF.Script.Resid], base + "/functions.js"},
		{"metadata URL", urls[h.CF.Metadata.Resid], base + "/functions.json"},
		{"namespace", shorts[h.CF.Namespace.Resid], "XLB"},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s: got %q, want %q", c.what, c.got, c.want)
		}
	}
	if !regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`).MatchString(doc.ID) {
		t.Errorf("add-in Id %q is not a GUID", doc.ID)
	}
	// Every resid the manifest uses is defined once.
	defined := map[string]int{}
	for _, m := range regexp.MustCompile(`<bt:(?:Url|String|Image) id="([^"]+)"`).FindAllStringSubmatch(text, -1) {
		defined[m[1]]++
	}
	for _, m := range regexp.MustCompile(`resid="([^"]+)"`).FindAllStringSubmatch(text, -1) {
		if defined[m[1]] != 1 {
			t.Errorf("resid %q is defined %d times", m[1], defined[m[1]])
		}
	}
}

// residRef is an element that refers to a resource by its resid attribute.
type residRef struct {
	Resid string `xml:"resid,attr"`
}

func firstSet(sets []struct {
	Name string `xml:"Name,attr"`
}) string {
	if len(sets) == 0 {
		return ""
	}
	return sets[0].Name
}

// TestServedFilesResolve checks that every file the task pane and the
// modules load is in the embedded files, and that nothing but the add-in's
// own files is embedded.
func TestServedFilesResolve(t *testing.T) {
	refs := regexp.MustCompile(`(?:src|href)="([^"]+)"|from '(\./[^']+)'`)
	found := 0
	err := fs.WalkDir(addin.Files, ".", func(name string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		if strings.Contains(name, "test") || strings.HasSuffix(name, ".go") || strings.HasSuffix(name, ".json") || strings.HasSuffix(name, ".md") {
			t.Errorf("%s should not be served", name)
		}
		if !strings.HasSuffix(name, ".html") && !strings.HasSuffix(name, ".js") {
			return nil
		}
		b, err := fs.ReadFile(addin.Files, name)
		if err != nil {
			return err
		}
		for _, m := range refs.FindAllStringSubmatch(string(b), -1) {
			ref := m[1] + m[2]
			if strings.HasPrefix(ref, "https://") {
				continue // office.js comes from Microsoft's CDN, as Office requires
			}
			found++
			target := strings.TrimPrefix(ref, "./")
			if _, err := fs.Stat(addin.Files, target); err != nil {
				t.Errorf("%s loads %q, which is not embedded", name, ref)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if found < 5 {
		t.Errorf("found only %d references; the pattern is broken", found)
	}
}
