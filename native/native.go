// Package native compiles generated model code into programs for `nnc run
// --backend go` and `nnc bench --backend go`: it writes a Go module holding
// the generated package and a main, into a cache folder keyed by the hash
// of its contents, and builds it with the local Go toolchain, so that a
// model is compiled once and later runs start at once. The cache is
// bounded (cache.go): the programs used least recently go first.
package native

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"sort"
	"strings"
	"time"
)

// Program is a Go program to build: its files by path (the main package at
// the root, the generated package under model/).
type Program struct {
	Files map[string][]byte
}

// Build writes p into the cache and builds it, unless an identical
// program was built before, and returns the executable's path.
func Build(p Program) (string, error) {
	goName := "go"
	if g := os.Getenv("NNC_GO"); g != "" {
		goName = g // a toolchain other than the one on PATH
	}
	gobin, err := exec.LookPath(goName)
	if err != nil {
		return "", fmt.Errorf("the go back end needs the Go toolchain: %s is not on PATH (install Go from go.dev, or use --backend interp)", goName)
	}
	limit, err := CacheSize()
	if err != nil {
		return "", err
	}
	root, err := Root()
	if err != nil {
		return "", err
	}
	sum, err := os.ReadFile(filepath.Join(root, "go.sum"))
	if err != nil {
		return "", fmt.Errorf("reading nnc's go.sum: %v", err)
	}
	files := map[string][]byte{
		"go.mod": []byte(fmt.Sprintf("module nncnative\n\ngo 1.26\n\nrequire github.com/nnc-go/nnc v0.0.0\n\nreplace github.com/nnc-go/nnc => %s\n", root)),
		"go.sum": sum,
	}
	for k, v := range p.Files {
		files[k] = v
	}
	h := sha256.New()
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(h, "%s\x00%d\x00", n, len(files[n]))
		h.Write(files[n])
	}
	// The build depends on nnc's own sources too (the kernels, the
	// training loop): hash them, so that a changed nnc rebuilds.
	if err := hashTree(h, root); err != nil {
		return "", err
	}
	experiment := goExperiment()
	fmt.Fprintf(h, "%s/%s %s", runtime.GOOS, runtime.GOARCH, experiment)
	key := hex.EncodeToString(h.Sum(nil))[:24]
	cache := CacheDir()
	dir := filepath.Join(cache, key)
	exe := filepath.Join(dir, "model.bin")
	if _, err := os.Stat(exe); err == nil {
		touch(exe) // recently used: the last to be evicted
		return exe, nil
	}
	src := dir + ".src"
	if err := os.RemoveAll(src); err != nil {
		return "", err
	}
	for n, b := range files {
		path := filepath.Join(src, filepath.FromSlash(n))
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return "", err
		}
		if err := os.WriteFile(path, b, 0o644); err != nil {
			return "", err
		}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	tmp := exe + ".tmp"
	cmd := exec.Command(gobin, "build", "-o", tmp, ".")
	cmd.Dir = src
	cmd.Env = append(os.Environ(), "GOFLAGS=-mod=mod", "CGO_ENABLED=0", "GOEXPERIMENT="+experiment)
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("building the generated code failed (a bug in nnc, please report it): %v\n%s", err, out)
	}
	if err := os.Rename(tmp, exe); err != nil {
		return "", err
	}
	os.RemoveAll(src)
	// The cache only grows here: bring it back under its bound. A failure
	// to remove old programs does not fail this build.
	trim(cache, limit, key, time.Now())
	return exe, nil
}

// goExperiment is the GOEXPERIMENT this program was built with: the
// generated code is built with the same, so that both back ends compile
// the kernels alike (which of them run is chosen at run time from the
// CPU, the same for both) and agree to the last bit.
func goExperiment() string {
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			if s.Key == "GOEXPERIMENT" {
				return s.Value
			}
		}
	}
	return ""
}

// buildInput reports whether a file of nnc's tree goes into a build of a
// generated program: Go source other than tests, assembly (the kernels),
// and the module's requirements.
func buildInput(name string) bool {
	switch {
	case strings.HasSuffix(name, "_test.go"):
		return false
	case strings.HasSuffix(name, ".go"), strings.HasSuffix(name, ".s"), strings.HasSuffix(name, ".h"):
		return true
	}
	return name == "go.mod" || name == "go.sum"
}

func hashTree(h interface{ Write([]byte) (int, error) }, root string) error {
	return filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return fmt.Errorf("reading nnc's source: %v", err)
		}
		name := d.Name()
		if d.IsDir() {
			if path != root && (strings.HasPrefix(name, ".") || name == "testdata" || name == "examples" || name == "docs") {
				return filepath.SkipDir
			}
			return nil
		}
		if !buildInput(name) {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		fmt.Fprintf(h, "%s\x00%d\x00", rel, len(b))
		h.Write(b)
		return nil
	})
}

// Root returns the folder of nnc's module source, which generated
// programs are built against: NNC_ROOT when set, else the source tree this
// binary was built from, else what `go list -m` finds from the current
// folder.
func Root() (string, error) {
	if r := os.Getenv("NNC_ROOT"); r != "" {
		return checkRoot(r)
	}
	if _, file, _, ok := runtime.Caller(0); ok && filepath.IsAbs(file) {
		if r, err := checkRoot(filepath.Dir(filepath.Dir(file))); err == nil {
			return r, nil
		}
	}
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "github.com/nnc-go/nnc").Output()
	if err == nil {
		if r, err := checkRoot(strings.TrimSpace(string(out))); err == nil {
			return r, nil
		}
	}
	return "", errors.New("cannot find nnc's source, which the go back end builds against: set NNC_ROOT to the folder of github.com/nnc-go/nnc")
}

func checkRoot(dir string) (string, error) {
	b, err := os.ReadFile(filepath.Join(dir, "go.mod"))
	if err != nil || !strings.Contains(string(b), "module github.com/nnc-go/nnc\n") {
		return "", fmt.Errorf("%s is not nnc's source folder", dir)
	}
	return dir, nil
}
