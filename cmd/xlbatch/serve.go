package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/mattn/go-isatty"
	"github.com/rs/zerolog"

	addin "github.com/xlbatch/xlbatch/excel-addin"
	"github.com/xlbatch/xlbatch/udf/server"
	"github.com/xlbatch/xlbatch/udf/server/devcert"
)

// stringList is a repeatable string flag.
type stringList []string

func (l *stringList) String() string     { return strings.Join(*l, ",") }
func (l *stringList) Set(s string) error { *l = append(*l, s); return nil }

// serveFlags are serve's own flags.
type serveFlags struct {
	listen      string
	noTLS       bool
	token       string
	origins     stringList
	maxPending  int
	grace       time.Duration
	manifest    string
	logLevel    string
	logFormat   string
	engineFlags engineFlags
}

func (f *serveFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.listen, "listen", "127.0.0.1:8765", "`address` to listen on; a non-loopback address needs --token")
	fs.BoolVar(&f.noTLS, "no-tls", false, "serve plain http:// and ws:// (scripts and load tests; Office needs HTTPS)")
	fs.StringVar(&f.token, "token", "", "require this `token` in the WebSocket hello and on POST /v1/calls")
	fs.Var(&f.origins, "allow-origin", "also accept requests from this `origin`, e.g. https://addin.example.com (repeatable)")
	fs.IntVar(&f.maxPending, "max-pending", server.DefaultMaxPending, "unanswered calls per connection before the server stops reading it")
	fs.DurationVar(&f.grace, "shutdown-grace", 10*time.Second, "on SIGINT/SIGTERM, how long pending calls may finish before they fail")
	fs.StringVar(&f.manifest, "manifest", "", "write the add-in manifest to this `path` (default: the user config directory)")
	fs.StringVar(&f.logLevel, "log-level", "info", "debug, info, warn or error")
	fs.StringVar(&f.logFormat, "log-format", "auto", "auto (console on a terminal, JSON otherwise), console or json")
	f.engineFlags.register(fs)
}

// runServe serves the add-in, functions.json, the manifest and the
// WebSocket protocol until ctx ends (SIGINT/SIGTERM).
func runServe(ctx context.Context, m *Main, args []string) int {
	fs := flag.NewFlagSet("xlbatch serve", flag.ContinueOnError)
	fs.SetOutput(m.Stderr)
	fs.Usage = func() {
		fmt.Fprintf(m.Stderr, "Usage: xlbatch serve [flags]\n\nServes the Excel add-in and its WebSocket on https://localhost:8765.\n\nFlags:\n")
		fs.PrintDefaults()
	}
	var f serveFlags
	f.register(fs)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(m.Stderr, "xlbatch serve: unexpected argument %q\n", fs.Arg(0))
		return exitUsage
	}
	log, err := newLogger(m.Stderr, f.logFormat, f.logLevel)
	if err != nil {
		fmt.Fprintf(m.Stderr, "xlbatch serve: %v\n", err)
		return exitUsage
	}
	host, _, err := net.SplitHostPort(f.listen)
	if err != nil {
		fmt.Fprintf(m.Stderr, "xlbatch serve: --listen %q: want host:port, e.g. 127.0.0.1:8765\n", f.listen)
		return exitUsage
	}
	if !isLoopbackHost(host) && f.token == "" {
		fmt.Fprintf(m.Stderr, "xlbatch serve: --listen %s is reachable from the network: add --token (and share it only with your add-in)\n", f.listen)
		return exitUsage
	}
	for _, o := range f.origins {
		if !strings.HasPrefix(o, "https://") && !strings.HasPrefix(o, "http://") {
			fmt.Fprintf(m.Stderr, "xlbatch serve: --allow-origin %q: want an origin like https://addin.example.com\n", o)
			return exitUsage
		}
	}

	engLog := log.With().Str("component", "engine").Logger()
	f.engineFlags.logger = &engLog
	eng, err := f.engineFlags.open(ctx, m)
	if err != nil {
		fmt.Fprintf(m.Stderr, "xlbatch serve: %v\n", err)
		return exitUsage
	}
	defer func() {
		if err := eng.Close(); err != nil {
			log.Warn().Err(err).Msg("closing the engine")
		}
	}()

	var cert *devcert.Cert
	opts := server.Options{
		Registry:     eng.Registry,
		Logger:       log,
		Version:      version,
		Token:        f.token,
		AllowOrigins: f.origins,
		Files:        addin.Files,
		MaxPending:   f.maxPending,
	}
	if !f.noTLS {
		cert, err = devcert.Load(devcert.Options{Home: absEnv(m, "HOME"), ConfigDir: absEnv(m, "XDG_CONFIG_HOME")})
		if err != nil {
			fmt.Fprintf(m.Stderr, "xlbatch serve: certificate: %v (or use --no-tls for scripts)\n", err)
			return exitError
		}
		for _, w := range cert.Warnings {
			log.Warn().Msg(w)
		}
		opts.TLS = cert.TLS
	}
	srv, err := server.New(opts)
	if err != nil {
		fmt.Fprintf(m.Stderr, "xlbatch serve: %v\n", err)
		return exitUsage
	}
	l, err := net.Listen("tcp", f.listen)
	if err != nil {
		fmt.Fprintf(m.Stderr, "xlbatch serve: %v (is another xlbatch serve running? choose another port with --listen)\n", err)
		return exitError
	}
	listeners := []net.Listener{l}
	if other := otherLoopback(l.Addr()); other != "" {
		// "localhost" resolves to 127.0.0.1 or ::1 depending on the
		// system; answer on both so the add-in's URL works either way.
		if l2, err := net.Listen("tcp", other); err == nil {
			listeners = append(listeners, l2)
		} else {
			log.Debug().Err(err).Str("addr", other).Msg("second loopback address unavailable")
		}
	}
	baseURL := server.URLFor(l.Addr(), !f.noTLS)
	manifestPath := writeManifest(m, log, f.manifest, baseURL)

	served := make(chan error, len(listeners))
	for _, l := range listeners {
		go func() { served <- srv.Serve(l) }()
	}
	printBanner(m.Stdout, bannerInfo{baseURL: baseURL, manifestPath: manifestPath, cert: cert,
		functions: len(eng.Registry.Specs()), token: f.token != ""})

	select {
	case err := <-served:
		log.Error().Err(err).Msg("server stopped")
		for _, l := range listeners {
			l.Close()
		}
		srv.Shutdown(context.Background())
		for range listeners[1:] {
			<-served
		}
		return exitError
	case <-ctx.Done():
	}
	return shutdown(srv, served, len(listeners), log, f.grace)
}

// otherLoopback returns the other loopback address on the same port
// ([::1]:P for 127.0.0.1:P and the reverse), or "" for other addresses.
func otherLoopback(a net.Addr) string {
	t, ok := a.(*net.TCPAddr)
	if !ok || !t.IP.IsLoopback() {
		return ""
	}
	if t.IP.To4() != nil {
		return net.JoinHostPort("::1", fmt.Sprint(t.Port))
	}
	return net.JoinHostPort("127.0.0.1", fmt.Sprint(t.Port))
}

// shutdown stops srv: pending calls get the grace period, a second signal
// cuts it short.
func shutdown(srv *server.Server, served chan error, listeners int, log zerolog.Logger, grace time.Duration) int {
	log.Info().Dur("grace", grace).Msg("stopping: answering pending calls (press Ctrl-C again to fail them now)")
	sctx, cancel := context.WithTimeout(context.Background(), grace)
	defer cancel()
	again := make(chan os.Signal, 1)
	signal.Notify(again, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(again)
	go func() {
		select {
		case <-again:
			cancel()
		case <-sctx.Done():
		}
	}()
	if err := srv.Shutdown(sctx); err != nil && !errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, context.Canceled) {
		log.Warn().Err(err).Msg("shutdown")
	}
	for i := 0; i < listeners; i++ {
		<-served
	}
	return exitOK
}

// isLoopbackHost reports whether a --listen host keeps the server on this machine.
func isLoopbackHost(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// absEnv returns an environment variable through Main when it is an
// absolute path, so tests can redirect HOME and XDG_CONFIG_HOME.
func absEnv(m *Main, name string) string {
	v := m.Getenv(name)
	if v == "" || !filepath.IsAbs(v) {
		return ""
	}
	return v
}

// newLogger makes the server's logger: console lines for people on a
// terminal, JSON for log collectors.
func newLogger(w io.Writer, format, level string) (zerolog.Logger, error) {
	lvl, err := zerolog.ParseLevel(strings.ToLower(level))
	if err != nil || level == "" {
		return zerolog.Logger{}, fmt.Errorf("--log-level %q: want debug, info, warn or error", level)
	}
	switch format {
	case "auto":
		if f, ok := w.(*os.File); ok && (isatty.IsTerminal(f.Fd()) || isatty.IsCygwinTerminal(f.Fd())) {
			format = "console"
		} else {
			format = "json"
		}
	case "console", "json":
	default:
		return zerolog.Logger{}, fmt.Errorf("--log-format %q: want auto, console or json", format)
	}
	if format == "console" {
		w = zerolog.ConsoleWriter{Out: w, TimeFormat: "15:04:05"}
	}
	return zerolog.New(w).Level(lvl).With().Timestamp().Logger(), nil
}

// writeManifest writes the manifest for baseURL where the user can pick it
// when sideloading, and returns its path ("" if it could not be written).
func writeManifest(m *Main, log zerolog.Logger, path, baseURL string) string {
	if path == "" {
		dir := absEnv(m, "XDG_CONFIG_HOME")
		if dir == "" {
			var err error
			if dir, err = os.UserConfigDir(); err != nil {
				log.Warn().Err(err).Msg("no config directory for manifest.xml; download it from the server instead")
				return ""
			}
		}
		path = filepath.Join(dir, "xlbatch", "manifest.xml")
	}
	b, err := server.Manifest(addin.Files, baseURL)
	if err == nil {
		err = os.MkdirAll(filepath.Dir(path), 0o755)
	}
	if err == nil {
		err = writeFileAtomic(path, b)
	}
	if err != nil {
		log.Warn().Err(err).Msg("could not write manifest.xml; download it from the server instead")
		return ""
	}
	return path
}

// writeFileAtomic writes through a temporary file and a rename.
func writeFileAtomic(path string, b []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".manifest-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

type bannerInfo struct {
	baseURL      string
	manifestPath string
	cert         *devcert.Cert
	functions    int
	token        bool
}

// printBanner tells the user where the server is and what to do next.
func printBanner(w io.Writer, b bannerInfo) {
	ws := "ws" + strings.TrimPrefix(b.baseURL, "http") + "/v1/ws"
	fmt.Fprintf(w, "xlbatch %s is serving %d functions at %s\n", version, b.functions, b.baseURL)
	fmt.Fprintf(w, "  task pane:  %s/\n", b.baseURL)
	fmt.Fprintf(w, "  WebSocket:  %s   (scripts: POST %s/v1/calls)\n", ws, b.baseURL)
	if b.manifestPath != "" {
		fmt.Fprintf(w, "  manifest:   %s\n", b.manifestPath)
	}
	fmt.Fprintf(w, "              %s/manifest.xml\n", b.baseURL)
	if b.token {
		fmt.Fprintf(w, "  token:      required (enter it in the task pane)\n")
	}
	if b.cert == nil {
		fmt.Fprintf(w, "\nPlain HTTP (--no-tls): scripts and load tests only; Excel loads add-ins over HTTPS.\n")
		fmt.Fprintf(w, "Stop with Ctrl-C.\n")
		return
	}
	fmt.Fprintf(w, "  certificate: %s (%s, valid until %s)\n", b.cert.CertFile, b.cert.Source, b.cert.NotAfter.Format("2006-01-02"))
	if b.cert.CreatedCA {
		fmt.Fprintf(w, "\nA local certificate authority was created: %s\n", b.cert.CAFile)
		fmt.Fprint(w, devcert.TrustInstructions(b.cert.CAFile))
	}
	fmt.Fprintf(w, "\nNext: open %s/ in a browser to check the certificate is trusted, then add the add-in to Excel:\n", b.baseURL)
	fmt.Fprintf(w, "  Insert > Add-ins > My Add-ins > Upload My Add-in, and choose the manifest above\n")
	fmt.Fprintf(w, "  (Windows desktop: see README \"Use it in Excel\" for the shared-folder catalog).\n")
	fmt.Fprintf(w, "  Then type =XLB.GEOLOCATE(\"Paris\") in a cell. Stop with Ctrl-C.\n")
}
