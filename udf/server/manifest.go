package server

import (
	"bytes"
	"fmt"
	"io/fs"
	"net/url"
	"strings"
)

// ManifestTemplateURL is the base URL written in the add-in's manifest
// template; Manifest replaces it (and the {{BASE_URL}} placeholder, if the
// template uses one) with the serving server's URL.
const ManifestTemplateURL = "https://localhost:8765"

// Manifest returns the add-in manifest from files' manifest.xml with every
// URL pointing at baseURL (e.g. https://localhost:9000).
func Manifest(files fs.FS, baseURL string) ([]byte, error) {
	u, err := url.Parse(baseURL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || (u.Path != "" && u.Path != "/") {
		return nil, fmt.Errorf("manifest: base URL %q must look like https://localhost:8765", baseURL)
	}
	base := strings.TrimSuffix(baseURL, "/")
	tmpl, err := fs.ReadFile(files, "manifest.xml")
	if err != nil {
		return nil, fmt.Errorf("manifest: read template: %w", err)
	}
	var esc bytes.Buffer
	xmlEscape(&esc, base)
	out := bytes.ReplaceAll(tmpl, []byte("{{BASE_URL}}"), esc.Bytes())
	out = bytes.ReplaceAll(out, []byte(ManifestTemplateURL), esc.Bytes())
	return out, nil
}

// xmlEscape writes s escaped for an XML attribute or text.
func xmlEscape(b *bytes.Buffer, s string) {
	r := strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;", "'", "&apos;")
	b.WriteString(r.Replace(s))
}
