// Package golden runs txtar golden-file tests: one case per file, the input
// and each stage's expected output in sections (`-- in.nn --`,
// `-- out/ir --`, `-- out/error --`). With NNC_UPDATE=1 in the environment
// the expected sections are rewritten from what the code produces, to be
// read in the diff before committing.
package golden

import (
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/rogpeppe/go-internal/txtar"

	"github.com/nnc-go/nnc/internal/textdiff"
)

// Update reports whether goldens are being rewritten.
func Update() bool { return os.Getenv("NNC_UPDATE") != "" }

// Run calls fn for each txtar file matching pattern, as a subtest named
// after the file. fn returns the produced sections by name; they are
// compared with the file's out/ sections, all of them: a section the file
// has and fn did not produce fails too. No file matching fails.
func Run(t *testing.T, pattern string, fn func(t *testing.T, a *txtar.Archive) map[string]string) {
	t.Helper()
	RunAtLeast(t, pattern, 1, fn)
}

// RunAtLeast is Run for a test written for at least min files: fewer (some
// moved, renamed or lost) fail it.
func RunAtLeast(t *testing.T, pattern string, min int, fn func(t *testing.T, a *txtar.Archive) map[string]string) {
	t.Helper()
	files, err := filepath.Glob(pattern)
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < max(min, 1) {
		t.Fatalf("%d golden files match %s, want at least %d", len(files), pattern, max(min, 1))
	}
	for _, file := range files {
		name := strings.TrimSuffix(filepath.Base(file), filepath.Ext(file))
		t.Run(name, func(t *testing.T) {
			a, err := txtar.ParseFile(file)
			if err != nil {
				t.Fatal(err)
			}
			got := fn(t, a)
			check(t, file, a, got)
		})
	}
}

// Section returns the named section of a, or "" and false.
func Section(a *txtar.Archive, name string) (string, bool) {
	for _, f := range a.Files {
		if f.Name == name {
			return string(f.Data), true
		}
	}
	return "", false
}

func check(t *testing.T, file string, a *txtar.Archive, got map[string]string) {
	t.Helper()
	if Update() {
		var kept []txtar.File
		for _, f := range a.Files {
			if !strings.HasPrefix(f.Name, "out/") {
				kept = append(kept, f)
			}
		}
		names := make([]string, 0, len(got))
		for n := range got {
			names = append(names, n)
		}
		sort.Strings(names)
		for _, n := range names {
			kept = append(kept, txtar.File{Name: n, Data: []byte(withNewline(got[n]))})
		}
		a.Files = kept
		if err := os.WriteFile(file, txtar.Format(a), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	for _, f := range a.Files {
		if !strings.HasPrefix(f.Name, "out/") {
			continue
		}
		g, ok := got[f.Name]
		if !ok {
			t.Errorf("%s: section %s expected but not produced", file, f.Name)
			continue
		}
		if want := string(f.Data); withNewline(g) != want {
			t.Errorf("%s: %s differs (NNC_UPDATE=1 rewrites it):\n%s", file, f.Name, textdiff.Unified("want", "got", want, withNewline(g)))
		}
	}
	for n := range got {
		if _, ok := Section(a, n); !ok {
			t.Errorf("%s: produced section %s is missing from the file (NNC_UPDATE=1 adds it)", file, n)
		}
	}
}

func withNewline(s string) string {
	if s != "" && !strings.HasSuffix(s, "\n") {
		return s + "\n"
	}
	return s
}
