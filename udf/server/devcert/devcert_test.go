package devcert

import (
	"crypto/tls"
	"crypto/x509"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func dirs(t *testing.T) Options {
	return Options{Home: t.TempDir(), ConfigDir: t.TempDir()}
}

func leafOf(t *testing.T, c *Cert) *x509.Certificate {
	t.Helper()
	return c.TLS.Certificates[0].Leaf
}

func TestCreatesAuthorityOnceAndReusesIt(t *testing.T) {
	opts := dirs(t)
	first, err := Load(opts)
	if err != nil {
		t.Fatal(err)
	}
	if first.Source != "xlbatch" || !first.CreatedCA || first.CAFile == "" {
		t.Fatalf("first load: %+v", first)
	}
	st, err := os.Stat(first.KeyFile)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Fatalf("key file mode %v, want 0600", st.Mode().Perm())
	}
	second, err := Load(opts)
	if err != nil {
		t.Fatal(err)
	}
	if second.CreatedCA {
		t.Fatal("second load created another authority")
	}
	if !leafOf(t, first).Equal(leafOf(t, second)) {
		t.Fatal("second load made a new certificate although the first is valid")
	}
}

// TestCertificateVerifies checks the leaf against the authority for every
// loopback name, as a browser that trusts the authority would.
func TestCertificateVerifies(t *testing.T) {
	c, err := Load(dirs(t))
	if err != nil {
		t.Fatal(err)
	}
	pemCA, err := os.ReadFile(c.CAFile)
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(pemCA) {
		t.Fatal("ca.crt is not PEM")
	}
	for _, name := range []string{"localhost", "127.0.0.1", "::1"} {
		_, err := leafOf(t, c).Verify(x509.VerifyOptions{Roots: roots, DNSName: name, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}})
		if err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	if _, err := leafOf(t, c).Verify(x509.VerifyOptions{Roots: roots, DNSName: "example.com"}); err == nil {
		t.Error("the certificate is valid for example.com")
	}
	if life := leafOf(t, c).NotAfter.Sub(leafOf(t, c).NotBefore); life > 398*24*time.Hour {
		t.Errorf("leaf valid for %v, longer than browsers accept", life)
	}

	// A real handshake with a client that trusts only the authority.
	l, err := tls.Listen("tcp", "127.0.0.1:0", c.TLS)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		conn, err := l.Accept()
		if err == nil {
			conn.(*tls.Conn).Handshake()
			conn.Close()
		}
	}()
	conn, err := tls.Dial("tcp", l.Addr().String(), &tls.Config{RootCAs: roots, ServerName: "localhost"})
	if err != nil {
		t.Fatalf("handshake: %v", err)
	}
	conn.Close()
}

func TestPrefersOfficeDevCerts(t *testing.T) {
	opts := dirs(t)
	// Make a valid pair where the Office tooling keeps its own.
	office := filepath.Join(opts.Home, ".office-addin-dev-certs")
	made, err := ensureOwn(office, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"localhost.crt", "localhost.key", "ca.crt"} {
		if _, err := os.Stat(filepath.Join(office, f)); err != nil {
			t.Fatal(err)
		}
	}
	c, err := Load(opts)
	if err != nil {
		t.Fatal(err)
	}
	if c.Source != "office-addin-dev-certs" || c.CertFile != filepath.Join(office, "localhost.crt") || c.CreatedCA {
		t.Fatalf("loaded %+v, want the Office pair", c)
	}
	if !leafOf(t, c).Equal(leafOf(t, made)) {
		t.Fatal("served certificate is not the Office one")
	}
	if entries, _ := os.ReadDir(filepath.Join(opts.ConfigDir, "xlbatch", "certs")); len(entries) != 0 {
		t.Fatal("an authority was created although the Office certificate is there")
	}
}

func TestExpiredOfficeCertIsSkipped(t *testing.T) {
	opts := dirs(t)
	if _, err := ensureOwn(filepath.Join(opts.Home, ".office-addin-dev-certs"), time.Now()); err != nil {
		t.Fatal(err)
	}
	later := time.Now().Add(2 * 365 * 24 * time.Hour)
	opts.Now = func() time.Time { return later }
	c, err := Load(opts)
	if err != nil {
		t.Fatal(err)
	}
	if c.Source != "xlbatch" || len(c.Warnings) != 1 || !strings.Contains(c.Warnings[0], "expired") {
		t.Fatalf("loaded %+v, want our own with a warning about the expired one", c)
	}
}

func TestRenewsLeafBeforeItExpires(t *testing.T) {
	opts := dirs(t)
	first, err := Load(opts)
	if err != nil {
		t.Fatal(err)
	}
	later := time.Now().Add(380 * 24 * time.Hour) // within 30 days of the leaf's end
	opts.Now = func() time.Time { return later }
	second, err := Load(opts)
	if err != nil {
		t.Fatal(err)
	}
	if second.CreatedCA {
		t.Fatal("renewing the leaf replaced the authority")
	}
	if leafOf(t, first).Equal(leafOf(t, second)) || !second.NotAfter.After(first.NotAfter) {
		t.Fatal("the leaf was not renewed")
	}
}

func TestReplacesCorruptAuthority(t *testing.T) {
	opts := dirs(t)
	first, err := Load(opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(first.CAFile, []byte("garbage"), 0o644); err != nil {
		t.Fatal(err)
	}
	second, err := Load(opts)
	if err != nil {
		t.Fatal(err)
	}
	if !second.CreatedCA || len(second.Warnings) == 0 {
		t.Fatalf("corrupt authority: %+v", second)
	}
}

func TestTrustInstructionsNameTheFile(t *testing.T) {
	s := TrustInstructions("/x/ca.crt")
	for _, want := range []string{"certutil -user -addstore Root \"/x/ca.crt\"", "security add-trusted-cert", "office-addin-dev-certs"} {
		if !strings.Contains(s, want) {
			t.Errorf("instructions lack %q:\n%s", want, s)
		}
	}
}
