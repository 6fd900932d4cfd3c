package fill

import (
	"archive/zip"
	"bufio"
	"bytes"
	"compress/flate"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// write assembles the output package: edited sheets are re-streamed through
// the splicer, every other entry is copied with its compressed bytes as they
// are (zip.Writer.Copy), in the original order.
func (p *workbookPkg) write(ctx context.Context, w io.Writer, r *resolver, edits map[string][]edit, opt Options) error {
	zw := zip.NewWriter(w)
	// Rewritten sheets are compressed for speed: on a large sheet the best
	// ratio costs seconds and saves little. Copied entries keep their bytes.
	zw.RegisterCompressor(zip.Deflate, func(out io.Writer) (io.WriteCloser, error) {
		return flate.NewWriter(out, flate.BestSpeed)
	})
	dropCalc := opt.Values && p.calcPath != "" && len(edits) > 0
	for _, zf := range p.zr.File {
		if err := ctx.Err(); err != nil {
			return err
		}
		name := strings.TrimPrefix(zf.Name, "/")
		var err error
		switch {
		case edits[name] != nil:
			err = p.rewrite(zw, zf, func(dst io.Writer, src io.Reader) error {
				in, stop := readAhead(src)
				defer stop()
				out, finish := writeBehind(dst)
				return finish(spliceSheet(ctx, out, in, r, edits[name], opt.Values))
			})
		case dropCalc && name == p.calcPath:
			// --values removes formulas, so Excel's calculation chain would
			// name cells without one; Excel rebuilds the chain when it is absent.
			continue
		case dropCalc && (name == "[Content_Types].xml" || name == relsPath(p.wbPath)):
			err = p.rewrite(zw, zf, func(dst io.Writer, src io.Reader) error {
				return dropCalcChainRefs(dst, src)
			})
		default:
			err = zw.Copy(zf)
		}
		if err != nil {
			return fmt.Errorf("write %s: %w", zf.Name, err)
		}
		if opt.afterPart != nil {
			opt.afterPart(zf.Name)
		}
	}
	if p.zr.Comment != "" {
		if err := zw.SetComment(p.zr.Comment); err != nil {
			return err
		}
	}
	return zw.Close()
}

func relsPath(part string) string {
	dir, file := filepath.Split(part)
	return dir + "_rels/" + file + ".rels"
}

// rewrite writes a new version of an entry, with the original's name,
// method and time.
func (p *workbookPkg) rewrite(zw *zip.Writer, zf *zip.File, fn func(io.Writer, io.Reader) error) error {
	fh := &zip.FileHeader{
		Name:     zf.Name,
		Comment:  zf.Comment,
		Method:   zf.Method,
		Modified: zf.Modified,
		NonUTF8:  zf.NonUTF8,
	}
	fh.SetMode(zf.Mode())
	if fh.Method != zip.Store {
		fh.Method = zip.Deflate
	}
	dst, err := zw.CreateHeader(fh)
	if err != nil {
		return err
	}
	src, err := zf.Open()
	if err != nil {
		return err
	}
	defer src.Close()
	return fn(dst, src)
}

// dropCalcChainRefs copies [Content_Types].xml or the workbook's
// relationships without the entries that name the calculation chain.
func dropCalcChainRefs(dst io.Writer, src io.Reader) error {
	sc := newScanner(src)
	bw := bufio.NewWriter(dst)
	for {
		t, err := sc.next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
		if t.kind == tokEmpty && (string(t.name) == "Override" || string(t.name) == "Relationship") &&
			(bytes.Contains(t.raw, []byte("calcChain")) || bytes.Contains(t.raw, []byte("/calcChain"))) {
			continue
		}
		bw.Write(t.raw)
	}
	return bw.Flush()
}

// writeAtomic writes a file through a temporary file in the destination
// directory, synced and renamed into place, so readers see the old file or
// the complete new one and an interrupted run leaves no partial output. The
// new file takes the mode of modeFrom (the input) when it exists.
func writeAtomic(ctx context.Context, out, modeFrom string, fn func(io.Writer) error) (err error) {
	dir := filepath.Dir(out)
	if st, err := os.Stat(dir); err != nil {
		return fmt.Errorf("output directory %s: %w", dir, err)
	} else if !st.IsDir() {
		return fmt.Errorf("output directory %s is not a directory", dir)
	}
	if st, err := os.Stat(out); err == nil {
		if st.IsDir() {
			return fmt.Errorf("output %s is a directory", out)
		}
		if st.Mode().Perm()&0o222 == 0 {
			return fmt.Errorf("output %s is read-only", out)
		}
	}
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(out)+".tmp-*")
	if err != nil {
		return fmt.Errorf("create output in %s: %w", dir, err)
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	bw := bufio.NewWriterSize(tmp, 1<<20)
	if err = fn(bw); err != nil {
		return err
	}
	if err = bw.Flush(); err != nil {
		return fmt.Errorf("write %s: %w", out, err)
	}
	mode := os.FileMode(0o644)
	if st, statErr := os.Stat(modeFrom); statErr == nil {
		mode = st.Mode().Perm() | 0o200
	}
	if err = tmp.Chmod(mode); err != nil {
		return fmt.Errorf("write %s: %w", out, err)
	}
	if err = tmp.Sync(); err != nil {
		return fmt.Errorf("write %s: %w", out, err)
	}
	if err = tmp.Close(); err != nil {
		return fmt.Errorf("write %s: %w", out, err)
	}
	if err = ctx.Err(); err != nil {
		return err
	}
	if err = os.Rename(tmp.Name(), out); err != nil {
		return fmt.Errorf("write %s: %w", out, err)
	}
	// Make the rename itself durable.
	if d, derr := os.Open(dir); derr == nil {
		d.Sync()
		d.Close()
	}
	return nil
}

// ErrSameFile reports an output path that names the input file when
// overwriting it was not asked for.
var ErrSameFile = errors.New("the output is the input file; use --in-place to overwrite it")
