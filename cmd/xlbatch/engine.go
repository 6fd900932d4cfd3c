package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/rs/zerolog"

	"github.com/xlbatch/xlbatch/geoapify"
	"github.com/xlbatch/xlbatch/geoapify/offline"
	"github.com/xlbatch/xlbatch/udf"
	"github.com/xlbatch/xlbatch/udf/cache"
	"github.com/xlbatch/xlbatch/udf/geo"
)

// engineFlags are the provider and cache flags shared by serve, fill and call.
type engineFlags struct {
	provider    string
	geoapifyURL string
	cache       string

	// logger, when set before open, receives the engine's log lines;
	// otherwise warnings go to Main's stderr.
	logger *zerolog.Logger
}

func (f *engineFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.provider, "provider", "", "geocoding provider: geoapify or offline (default: geoapify when GEOAPIFY_API_KEY is set, else offline)")
	fs.StringVar(&f.geoapifyURL, "geoapify-url", "", "Geoapify API base URL, for a fake or a proxy (implies --provider geoapify)")
	fs.StringVar(&f.cache, "cache", "", "cache file `PATH`, or 'off' for memory only (default: "+displayCachePath()+")")
}

// engine is the function registry with its providers and cache.
type engine struct {
	Registry *udf.Registry
	Geo      *geo.Service
	Cache    *cache.Cache[geoapify.Result]
	Provider string // "geoapify" or "offline"
	Log      zerolog.Logger
	close    func() error
}

// Close flushes and releases the providers and the cache. It waits at most
// ten seconds for lookups in progress.
func (e *engine) Close() error {
	if e.close == nil {
		return nil
	}
	c := e.close
	e.close = nil
	return c()
}

// Provider names.
const (
	providerGeoapify = "geoapify"
	providerOffline  = "offline"
)

// open builds the engine from the flags and environment, printing the provider choice once.
func (f *engineFlags) open(ctx context.Context, m *Main) (*engine, error) {
	log := engineLogger(m)
	if f.logger != nil {
		log = *f.logger
	}
	key := m.Getenv("GEOAPIFY_API_KEY")
	provider := strings.ToLower(strings.TrimSpace(f.provider))
	switch provider {
	case "":
		provider = providerOffline
		if key != "" || f.geoapifyURL != "" {
			provider = providerGeoapify
		}
	case providerGeoapify, providerOffline:
	default:
		return nil, fmt.Errorf("--provider %q: want geoapify or offline", f.provider)
	}
	if provider == providerOffline && f.geoapifyURL != "" {
		return nil, errors.New("--geoapify-url needs --provider geoapify (or no --provider)")
	}

	e := &engine{Registry: udf.NewRegistry("XLB"), Provider: provider, Log: log}
	opts := geo.Options{Logger: log}
	var what string
	switch provider {
	case providerGeoapify:
		if key == "" {
			return nil, errors.New("Geoapify needs an API key: set GEOAPIFY_API_KEY (any value works with a fake server), or use --provider offline")
		}
		base := f.geoapifyURL
		if base == "" {
			base = geoapify.DefaultBaseURL
		}
		client, err := geoapify.New(geoapify.Options{BaseURL: base, APIKey: key, Logger: log})
		if err != nil {
			return nil, err
		}
		opts.Geocoder = client
		opts.Scope = providerGeoapify
		if base != geoapify.DefaultBaseURL {
			// Answers of another endpoint (a fake, a proxy) must never be
			// served as Geoapify's, so they get their own cache keys.
			u, _ := url.Parse(base)
			opts.Scope = providerGeoapify + "@" + u.Host + strings.TrimRight(u.Path, "/")
		}
		what = "Geoapify at " + base
	case providerOffline:
		opts.Geocoder = offline.Default()
		opts.LocalLookups = true
		what = "the offline gazetteer (GeoNames, city level; set GEOAPIFY_API_KEY for street addresses)"
	}

	cacheWhat := "memory only"
	copts := cache.Options{Logger: log}
	switch {
	case provider == providerOffline:
		// Offline answers take microseconds and cost nothing: a file would
		// only add disk writes.
		cacheWhat = "memory only (offline answers need no file)"
	case strings.EqualFold(f.cache, "off"):
	default:
		path, err := f.cachePath(m)
		if err != nil {
			return nil, err
		}
		copts.Path = path
		cacheWhat = path
	}
	e.Cache = cache.Open[geoapify.Result](copts)
	if copts.Path != "" && !e.Cache.Persistent() {
		cacheWhat = "memory only (" + copts.Path + " is unusable, see the warning above)"
	}
	opts.Cache = e.Cache
	e.Geo = geo.New(opts)
	if err := e.Geo.Register(e.Registry); err != nil {
		e.Geo.Close(ctx)
		e.Cache.Close()
		return nil, err
	}
	fmt.Fprintf(m.Stderr, "xlbatch: geocoding with %s; cache: %s\n", what, cacheWhat)
	e.close = func() error {
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		return errors.Join(e.Geo.Close(cctx), e.Cache.Close())
	}
	return e, nil
}

// cachePath resolves --cache: a path as given, or the default file in the
// user cache directory.
func (f *engineFlags) cachePath(m *Main) (string, error) {
	if f.cache != "" && !strings.EqualFold(f.cache, "off") {
		return f.cache, nil
	}
	return defaultCachePath(m)
}

// defaultCachePath is xlbatch/cache.db in the user cache directory
// ($XDG_CACHE_HOME or ~/.cache on Linux, ~/Library/Caches on macOS,
// %LocalAppData% on Windows). XDG_CACHE_HOME is read through Main so tests
// can point it elsewhere.
func defaultCachePath(m *Main) (string, error) {
	dir := m.Getenv("XDG_CACHE_HOME")
	if dir == "" || !filepath.IsAbs(dir) {
		var err error
		if dir, err = os.UserCacheDir(); err != nil {
			return "", fmt.Errorf("find the user cache directory: %w (use --cache PATH or --cache off)", err)
		}
	}
	return filepath.Join(dir, "xlbatch", "cache.db"), nil
}

// displayCachePath names the default cache file for help texts.
func displayCachePath() string {
	if dir, err := os.UserCacheDir(); err == nil {
		return filepath.Join(dir, "xlbatch", "cache.db")
	}
	return "the user cache directory"
}

// engineLogger writes warnings and errors to Main's stderr in a form meant
// for people.
func engineLogger(m *Main) zerolog.Logger {
	var w io.Writer = zerolog.ConsoleWriter{Out: m.Stderr, NoColor: true, PartsExclude: []string{zerolog.TimestampFieldName}}
	return zerolog.New(w).Level(zerolog.WarnLevel)
}
