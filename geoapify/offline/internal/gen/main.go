// Command gen compacts the GeoNames files the offline geocoder embeds.
//
// Input: a directory holding cities15000.txt, countryInfo.txt and
// admin1CodesASCII.txt as downloaded from https://download.geonames.org/export/dump/
// (GeoNames, geonames.org, CC BY 4.0). Output: one file in the format
// of package gazetteer. The same input always gives byte-identical output.
//
// Run it through go generate from geoapify/offline:
//
//	GEONAMES_DIR=path/to/geonames go generate ./geoapify/offline
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/xlbatch/xlbatch/geoapify/offline/internal/gazetteer"
)

func main() {
	in := flag.String("in", os.Getenv("GEONAMES_DIR"), "directory with the GeoNames files (default $GEONAMES_DIR)")
	out := flag.String("out", "", "output file")
	flag.Parse()
	if err := run(*in, *out); err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(1)
	}
}

func run(in, out string) error {
	if in == "" || out == "" {
		return fmt.Errorf("need -in DIR (or GEONAMES_DIR) and -out FILE")
	}
	b, err := gazetteer.Build(in)
	if err != nil {
		return err
	}
	// Write beside the target and rename, so an interrupted run leaves the
	// old file in place.
	tmp, err := os.CreateTemp(filepath.Dir(out), ".gen-*")
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
	return os.Rename(tmp.Name(), out)
}
