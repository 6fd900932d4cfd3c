// Package devcert finds or makes the certificate the server needs for
// https://localhost: Office loads add-ins only over HTTPS, and Excel on Mac
// (WebKit) refuses ws:// from an https page, so even a local server needs a
// certificate the machine trusts.
//
// It uses the Office tooling's certificate when present
// (~/.office-addin-dev-certs/localhost.{crt,key}, made by
// "npx office-addin-dev-certs install"). Otherwise it creates, once, a local
// certificate authority and a localhost certificate signed by it in the
// user's configuration directory, and explains how to trust the authority.
package devcert

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Lifetimes. Apple platforms refuse server certificates valid for more than
// 825 days, browsers more than 398; the leaf is renewed from the authority
// when it nears its end, so nobody has to trust anything again.
const (
	caLifetime   = 10 * 365 * 24 * time.Hour
	leafLifetime = 397 * 24 * time.Hour
	renewBefore  = 30 * 24 * time.Hour
)

// Options say where to look and write. Zero values use the user's home and
// configuration directories.
type Options struct {
	Home      string           // where .office-addin-dev-certs lives
	ConfigDir string           // our certificates go to ConfigDir/xlbatch/certs
	Now       func() time.Time // for tests
}

// Cert is the certificate to serve and where it came from.
type Cert struct {
	TLS      *tls.Config
	Source   string // "office-addin-dev-certs" or "xlbatch"
	CertFile string
	KeyFile  string
	CAFile   string // the authority to trust; empty when not ours
	// CreatedCA is set when this call created the authority: the user has
	// to trust it once (see TrustInstructions).
	CreatedCA bool
	NotAfter  time.Time
	Warnings  []string // e.g. an expired Office certificate that was skipped
}

// Load returns the certificate to serve, creating ours if needed.
func Load(opts Options) (*Cert, error) {
	now := time.Now
	if opts.Now != nil {
		now = opts.Now
	}
	if opts.Home == "" {
		h, err := os.UserHomeDir()
		if err == nil {
			opts.Home = h
		}
	}
	if opts.ConfigDir == "" {
		d, err := os.UserConfigDir()
		if err != nil {
			return nil, fmt.Errorf("find the configuration directory for the certificate: %w", err)
		}
		opts.ConfigDir = d
	}
	var warnings []string
	if opts.Home != "" {
		dir := filepath.Join(opts.Home, ".office-addin-dev-certs")
		crt, key := filepath.Join(dir, "localhost.crt"), filepath.Join(dir, "localhost.key")
		if fileExists(crt) && fileExists(key) {
			c, err := loadPair(crt, key)
			switch {
			case err != nil:
				warnings = append(warnings, fmt.Sprintf("ignoring %s: %v", crt, err))
			case now().After(c.NotAfter):
				warnings = append(warnings, fmt.Sprintf("ignoring %s: it expired on %s (renew it with: npx office-addin-dev-certs install)",
					crt, c.NotAfter.Format("2006-01-02")))
			default:
				c.Source, c.CertFile, c.KeyFile = "office-addin-dev-certs", crt, key
				if ca := filepath.Join(dir, "ca.crt"); fileExists(ca) {
					c.CAFile = ca
				}
				c.Warnings = warnings
				return c, nil
			}
		}
	}
	c, err := ensureOwn(filepath.Join(opts.ConfigDir, "xlbatch", "certs"), now())
	if err != nil {
		return nil, err
	}
	c.Warnings = append(warnings, c.Warnings...)
	return c, nil
}

// TrustInstructions tells the user how to trust the authority in caFile.
func TrustInstructions(caFile string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Trust the local certificate authority once, so Excel and browsers accept https://localhost:\n")
	fmt.Fprintf(&b, "  Windows:  certutil -user -addstore Root \"%s\"\n", caFile)
	fmt.Fprintf(&b, "  Mac:      security add-trusted-cert -r trustRoot -k ~/Library/Keychains/login.keychain-db \"%s\"\n", caFile)
	fmt.Fprintf(&b, "  Linux (Chrome/Edge): certutil -d sql:$HOME/.pki/nssdb -A -t C,, -n xlbatch -i \"%s\"\n", caFile)
	fmt.Fprintf(&b, "Or run `npx office-addin-dev-certs install` and restart: xlbatch then uses that certificate.\n")
	return b.String()
}

func fileExists(p string) bool {
	st, err := os.Stat(p)
	return err == nil && !st.IsDir()
}

// loadPair loads a certificate and key and reads the certificate's end.
func loadPair(crt, key string) (*Cert, error) {
	pair, err := tls.LoadX509KeyPair(crt, key)
	if err != nil {
		return nil, err
	}
	leaf, err := x509.ParseCertificate(pair.Certificate[0])
	if err != nil {
		return nil, err
	}
	pair.Leaf = leaf
	return &Cert{TLS: serverConfig(pair), NotAfter: leaf.NotAfter}, nil
}

func serverConfig(pair tls.Certificate) *tls.Config {
	return &tls.Config{
		Certificates: []tls.Certificate{pair},
		MinVersion:   tls.VersionTLS12,
		// HTTP/1.1 only: WebSocket upgrades need it.
		NextProtos: []string{"http/1.1"},
	}
}

// ensureOwn loads or creates the authority and the localhost certificate in dir.
func ensureOwn(dir string, now time.Time) (*Cert, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("create %s: %w", dir, err)
	}
	caCrt, caKey := filepath.Join(dir, "ca.crt"), filepath.Join(dir, "ca.key")
	crt, key := filepath.Join(dir, "localhost.crt"), filepath.Join(dir, "localhost.key")

	ca, caPriv, err := readCA(caCrt, caKey)
	created := false
	var warnings []string
	if err != nil || now.After(ca.NotAfter.Add(-renewBefore)) {
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			warnings = append(warnings, fmt.Sprintf("replacing the unusable certificate authority in %s: %v", dir, err))
		}
		ca, caPriv, err = createCA(caCrt, caKey, now)
		if err != nil {
			return nil, err
		}
		created = true
	}
	c, err := loadPair(crt, key)
	if err != nil || created || now.After(c.NotAfter.Add(-renewBefore)) || !signedBy(c, ca) {
		if err := createLeaf(crt, key, ca, caPriv, now); err != nil {
			return nil, err
		}
		if c, err = loadPair(crt, key); err != nil {
			return nil, fmt.Errorf("load the new certificate: %w", err)
		}
	}
	c.Source, c.CertFile, c.KeyFile, c.CAFile, c.CreatedCA, c.Warnings = "xlbatch", crt, key, caCrt, created, warnings
	return c, nil
}

func signedBy(c *Cert, ca *x509.Certificate) bool {
	leaf := c.TLS.Certificates[0].Leaf
	return leaf != nil && leaf.CheckSignatureFrom(ca) == nil
}

func readCA(crtPath, keyPath string) (*x509.Certificate, *ecdsa.PrivateKey, error) {
	pair, err := tls.LoadX509KeyPair(crtPath, keyPath)
	if err != nil {
		return nil, nil, err
	}
	ca, err := x509.ParseCertificate(pair.Certificate[0])
	if err != nil {
		return nil, nil, err
	}
	priv, ok := pair.PrivateKey.(*ecdsa.PrivateKey)
	if !ok || !ca.IsCA {
		return nil, nil, errors.New("not a certificate authority made by xlbatch")
	}
	return ca, priv, nil
}

func serial() (*big.Int, error) {
	return rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
}

func createCA(crtPath, keyPath string, now time.Time) (*x509.Certificate, *ecdsa.PrivateKey, error) {
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	sn, err := serial()
	if err != nil {
		return nil, nil, err
	}
	host, _ := os.Hostname()
	tmpl := &x509.Certificate{
		SerialNumber: sn,
		Subject: pkix.Name{
			Organization: []string{"xlbatch local development CA"},
			CommonName:   fmt.Sprintf("xlbatch local CA (%s, %s)", host, now.Format("2006-01-02")),
		},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(caLifetime),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &priv.PublicKey, priv)
	if err != nil {
		return nil, nil, fmt.Errorf("create the certificate authority: %w", err)
	}
	if err := writePair(crtPath, keyPath, der, priv); err != nil {
		return nil, nil, err
	}
	ca, err := x509.ParseCertificate(der)
	return ca, priv, err
}

func createLeaf(crtPath, keyPath string, ca *x509.Certificate, caPriv *ecdsa.PrivateKey, now time.Time) error {
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	sn, err := serial()
	if err != nil {
		return err
	}
	tmpl := &x509.Certificate{
		SerialNumber: sn,
		Subject:      pkix.Name{Organization: []string{"xlbatch"}, CommonName: "localhost"},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(leafLifetime),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		DNSNames:     []string{"localhost"},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &priv.PublicKey, caPriv)
	if err != nil {
		return fmt.Errorf("create the localhost certificate: %w", err)
	}
	return writePair(crtPath, keyPath, der, priv)
}

// writePair writes a certificate (readable by all) and its key (by the
// owner only), each through a temporary file so a crash leaves no half file.
func writePair(crtPath, keyPath string, der []byte, priv *ecdsa.PrivateKey) error {
	keyDER, err := x509.MarshalECPrivateKey(priv)
	if err != nil {
		return err
	}
	if err := writeFile(keyPath, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		return err
	}
	return writeFile(crtPath, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644)
}

func writeFile(path string, data []byte, mode os.FileMode) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".tmp-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(mode); err != nil {
		tmp.Close()
		return err
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}
