// Package addin holds the Excel add-in's static files (manifest template,
// task pane, functions.js, styles) so the server binary can serve them
// without anything installed beside it.
package addin

import (
	"embed"
	"io/fs"
)

// The served files live in web/ so that the add-in's development files
// (package.json, tests, docs) beside them are never embedded or served.
//
//go:embed web
var embedded embed.FS

// Files is the add-in's static files, at the root of the FS: taskpane.html,
// functions.js, manifest.xml (a template the server fills with its URL) and
// whatever scripts, styles and images the task pane uses.
var Files fs.FS = mustSub(embedded, "web")

func mustSub(fsys fs.FS, dir string) fs.FS {
	sub, err := fs.Sub(fsys, dir)
	if err != nil {
		panic("addin: " + err.Error()) // dir is a constant embedded above
	}
	return sub
}
