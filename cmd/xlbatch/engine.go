package main

import (
	"context"
	"flag"

	"github.com/xlbatch/xlbatch/udf"
)

// engineFlags are the provider and cache flags shared by serve, fill and call.
// PLACEHOLDER: the function-model work fills this in.
type engineFlags struct {
	provider    string
	geoapifyURL string
	cache       string
}

func (f *engineFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.provider, "provider", "", "geocoding provider: geoapify or offline (default: geoapify when GEOAPIFY_API_KEY is set)")
	fs.StringVar(&f.geoapifyURL, "geoapify-url", "", "Geoapify API base URL (for a fake or a proxy)")
	fs.StringVar(&f.cache, "cache", "", "cache file path, or 'off' (default: the user cache directory)")
}

// engine is the function registry with its providers and cache.
type engine struct {
	Registry *udf.Registry
	close    func() error
}

// Close flushes and releases the providers and the cache.
func (e *engine) Close() error {
	if e.close == nil {
		return nil
	}
	return e.close()
}

// open builds the engine from the flags and environment, printing the provider choice once.
func (f *engineFlags) open(ctx context.Context, m *Main) (*engine, error) {
	return &engine{Registry: udf.NewRegistry("XLB")}, nil
}
