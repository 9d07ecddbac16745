package native

import (
	"crypto/sha256"
	"os"
	"path/filepath"
	"testing"
)

// TestHashTree checks that the cache key of generated programs follows
// every file a build reads (Go source, assembly, go.mod and go.sum) and
// no other: a changed kernel in assembly must rebuild the programs.
func TestHashTree(t *testing.T) {
	root := t.TempDir()
	files := map[string]string{
		"go.mod":                  "module x\n",
		"go.sum":                  "",
		"kernels/k.go":            "package kernels\n",
		"kernels/k_amd64.s":       "TEXT ·f(SB), 0, $0\n",
		"kernels/k_test.go":       "package kernels\n",
		"README.md":               "# x\n",
		"testdata/golden/a.txtar": "-- a --\n",
	}
	for name, text := range files {
		path := filepath.Join(root, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	key := func() string {
		h := sha256.New()
		if err := hashTree(h, root); err != nil {
			t.Fatal(err)
		}
		return string(h.Sum(nil))
	}
	base := key()
	for name, counts := range map[string]bool{
		"go.mod": true, "go.sum": true, "kernels/k.go": true, "kernels/k_amd64.s": true,
		"kernels/k_test.go": false, "README.md": false, "testdata/golden/a.txtar": false,
	} {
		path := filepath.Join(root, name)
		old, _ := os.ReadFile(path)
		if err := os.WriteFile(path, append(old, "// changed\n"...), 0o644); err != nil {
			t.Fatal(err)
		}
		if changed := key() != base; changed != counts {
			t.Errorf("changing %s: key changed %v, want %v", name, changed, counts)
		}
		if err := os.WriteFile(path, old, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
